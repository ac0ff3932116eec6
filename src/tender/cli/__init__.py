"""The ``tender`` command: one tree of sub-commands, each with ``--help``.

What goes wrong is told in a sentence that says what to do, never as a Python traceback
(``TENDER_DEBUG=1`` shows one, for developers). Exit codes: 0 done, 1 the command ran and what
it checked does not hold (or it failed), 2 it cannot run as given.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from tender.cli import (
    accounts_commands,
    audit_commands,
    committee_commands,
    keys_commands,
    outbox_commands,
    platform_commands,
    qualification_commands,
    submission,
    supplier,
)
from tender.cli.common import EXIT_FAILED, EXIT_USAGE, CommandError
from tender.config import SettingsError
from tender.i18n import gettext as _
from tender.i18n import negotiate, use_locale

DEBUG_VARIABLE = "TENDER_DEBUG"
LANGUAGE_VARIABLE = "TENDER_LANG"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tender",
        description=_("Tender: signed bids, sealed on arrival, opened at the deadline, audited."),
        epilog=_("Every command has --help."),
    )
    parser.add_argument(
        "--lang",
        metavar="LANGUAGE",
        help=_(
            "the language to speak: en, or zh-HK for Hong Kong Chinese (default: "
            "${language_variable}, else the environment's $LC_ALL, $LC_MESSAGES or $LANG)"
        ).format(language_variable=LANGUAGE_VARIABLE),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    platform_commands.register(commands)
    accounts_commands.register(commands)
    audit_commands.register(commands)
    committee_commands.register(commands)
    keys_commands.register(commands)
    outbox_commands.register(commands)
    supplier.register(commands)
    submission.register(commands)
    qualification_commands.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # The language is decided first, from --lang alone, so that the help is in it too.
    chosen, _rest = _language_flag().parse_known_args(argv)
    language = negotiate(
        chosen.lang,
        *(os.environ.get(name) for name in (LANGUAGE_VARIABLE, "LC_ALL", "LC_MESSAGES", "LANG")),
    )
    with use_locale(language):
        return _run(build_parser().parse_args(argv))


def _language_flag() -> argparse.ArgumentParser:
    """A parser of ``--lang`` only, which lets everything else through."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--lang")
    return parser


def _run(args: argparse.Namespace) -> int:
    if getattr(args, "logs", False):  # the commands that run the platform log what it does
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    name = " ".join(
        part
        for part in (
            args.command,
            getattr(args, "audit_command", None),
            getattr(args, "committee_command", None),
            getattr(args, "keys_command", None),
        )
        if part is not None
    )
    try:
        code: int = args.run(args)
    except CommandError as error:
        print(_("tender {name}: {error}").format(name=name, error=error), file=sys.stderr)
        return error.exit_code
    except SettingsError as error:
        print(_("tender {name}: {error}").format(name=name, error=error), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(_("Stopped."), file=sys.stderr)
        return 130
    except Exception as error:
        if os.environ.get(DEBUG_VARIABLE):
            raise
        print(
            f"tender {name}: "
            + _(
                "it failed unexpectedly ({error}). Nothing more was done. Run it again with "
                "{variable}=1 to see where, and report it."
            ).format(error=f"{type(error).__name__}: {error}", variable=DEBUG_VARIABLE),
            file=sys.stderr,
        )
        return EXIT_FAILED
    return code
