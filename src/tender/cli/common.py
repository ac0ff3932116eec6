"""What every ``tender`` command shares: its errors, its output, finding the platform's data."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeAlias

import httpx

from tender.client import RefusedError
from tender.config import Settings
from tender.i18n import babel_locale
from tender.i18n import gettext as _
from tender.verifier.checks import Check, summarise

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

Command = Callable[[argparse.Namespace], int]
SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class CommandError(Exception):
    """The command cannot do what was asked; the message says what happened and what to do.

    ``exit_code`` is 2 when the command cannot run as given, 1 when it ran and did not succeed.
    """

    def __init__(self, message: str, *, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def read_secret(secret_file: Path | None, what: str, flag: str) -> str:
    """The password, PIN or passphrase in ``secret_file`` (its last line break dropped), or
    typed at the terminal when no file is given."""
    if secret_file is None:
        if not sys.stdin.isatty():
            raise CommandError(
                _(
                    "there is no terminal to ask for the {what}; put it in a file readable only "
                    "by you and pass {flag} FILE"
                ).format(what=what, flag=flag)
            )
        return getpass.getpass(f"{what[0].upper()}{what[1:]}: ")
    try:
        return secret_file.read_text().rstrip("\r\n")
    except OSError as error:
        raise CommandError(
            _("cannot read {flag} {secret_file}: {strerror}; check the path").format(
                flag=flag, secret_file=secret_file, strerror=error.strerror
            )
        ) from None


def explain_refusal(refusal: RefusedError) -> str:
    """The platform's explanation, one part a line."""
    if not refusal.what:
        return _("the platform refused: {refusal}").format(refusal=refusal)
    return _(
        "the platform refused.\n  What happened: {what}\n  Why: {why}\n  What to do: {todo}"
    ).format(what=refusal.what, why=refusal.why, todo=refusal.what_to_do)


@contextmanager
def platform_client(
    url: str,
    *,
    timeout: httpx.Timeout | float = 60,
    if_broken_off: str | None = None,
) -> Iterator[httpx.Client]:
    """A client of the platform at ``url``; a refusal, or a platform that cannot be reached,
    ends the command with the reason in words (exit code 1)."""
    try:
        # The platform answers, refusals included, in the language the command speaks.
        headers = {"Accept-Language": str(babel_locale()).replace("_", "-")}
        with httpx.Client(base_url=url, timeout=timeout, headers=headers) as client:
            yield client
    except httpx.TransportError as error:
        raise CommandError(
            _("cannot reach the platform at {url}, or it broke off ({error}); {todo}").format(
                url=url, error=error, todo=if_broken_off or _("check your connection and try again")
            ),
            exit_code=EXIT_FAILED,
        ) from None
    except RefusedError as refusal:
        raise CommandError(explain_refusal(refusal), exit_code=EXIT_FAILED) from None


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help=_("print the result as JSON"))


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=_jsonable))


def _jsonable(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


def report_checks(
    checks: Sequence[Check],
    *,
    as_json: bool,
    holds: str,
    does_not_hold: str,
    extra: dict[str, Any] | None = None,
) -> int:
    """Print one PASS/FAIL line per kind of check and a last line naming the first cause of
    any failure (or, with ``as_json``, every check, the summary and ``extra``); 0 only if all
    passed. ``holds`` may use ``{total}``, ``does_not_hold`` ``{failed}`` and ``{total}``."""
    summary = summarise(checks)
    if as_json:
        print_json(
            {
                "holds": summary.holds,
                "failed": summary.failed,
                "first_cause": summary.first_cause,
                "summary": summary.lines,
                "checks": list(checks),
                **(extra or {}),
            }
        )
    else:
        for line in summary.lines:
            print(f"{'PASS' if line.ok else 'FAIL'}  {line.name}: {line.detail}")
        if summary.holds:
            print(holds.format(total=len(checks)))
        else:
            print(does_not_hold.format(failed=summary.failed, total=len(checks)))
            if summary.first_cause is not None:
                cause = summary.first_cause
                print(
                    _("First cause: {name}: {detail}").format(name=cause.name, detail=cause.detail)
                )
    return EXIT_OK if summary.holds else EXIT_FAILED


def settings_of_existing_platform() -> Settings:
    """Settings from the environment, for a command that reads a platform that already runs.

    With the embedded SQLite default, a missing database means the command runs in the wrong
    folder: refuse rather than create an empty platform there.
    """
    settings = Settings.from_env()
    if not settings.database_url:
        database = (settings.data_dir / "tender.db").resolve()
        if not database.is_file():
            raise CommandError(
                _(
                    "there is no platform here: {database} does not exist. Run this in the folder "
                    "where 'tender up' runs, or set TENDER_DATA_DIR (or TENDER_DATABASE_URL) to "
                    "that platform's."
                ).format(database=database)
            )
    return settings


def say_to_stderr(text: str) -> None:
    """For status lines of commands whose standard output is their result."""
    print(text, file=sys.stderr)
