"""One finding of an offline verifier: what was checked, whether it held, and the detail."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


Checker = Callable[[str, bool, str], bool]
"""Records one check (name, ok, detail) and returns ``ok``, so a failed check can stop a step."""


def collector(checks: list[Check]) -> Checker:
    """A :data:`Checker` that appends to ``checks``."""

    def check(name: str, ok: bool, detail: str) -> bool:
        checks.append(Check(name, ok, detail))
        return ok

    return check


@dataclass(frozen=True)
class Summary:
    """Checks as a person reads them: one line per kind of check, and the first cause.

    One altered event breaks the chain there and, after it, every checkpoint, receipt and
    record that covers it: ``first_cause`` is the failure to look at, ``failed`` how many
    checks failed in all, and ``lines`` one check per kind (``checkpoint roots: 56 of 57
    failed``) rather than hundreds of lines that say the same.
    """

    holds: bool
    failed: int
    first_cause: Check | None
    lines: list[Check]


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_PLURALS = {
    "checkpoint # signature": "checkpoint signatures",
    "checkpoint # root": "checkpoint roots",
    "consistency # -> #": "consistency proofs",
    "time-stamp #": "time-stamps",
    "receipt …": "receipts",
    "bid … on time": "bids on time",
    "bid … opened intact": "bids opened intact",
}


def kind_of(name: str) -> str:
    """The kind of a check, from its name with the ids and numbers taken out."""
    shape = re.sub(r"\b\d+\b", "#", _UUID.sub("…", name))
    return _PLURALS.get(shape, name)


def summarise(checks: Sequence[Check]) -> Summary:
    kinds: dict[str, list[Check]] = {}
    for check in checks:
        kinds.setdefault(kind_of(check.name), []).append(check)
    lines = []
    for kind, found in kinds.items():
        failed = [check for check in found if not check.ok]
        if len(found) == 1:
            lines.append(Check(kind, found[0].ok, found[0].detail))
        elif not failed:
            lines.append(Check(kind, True, f"all {len(found)} hold"))
        else:
            first = failed[0]
            lines.append(
                Check(
                    kind,
                    False,
                    f"{len(failed)} of {len(found)} failed; the first, {first.name}: "
                    f"{first.detail}",
                )
            )
    failures = [check for check in checks if not check.ok]
    return Summary(
        holds=bool(checks) and not failures,
        failed=len(failures),
        first_cause=failures[0] if failures else None,
        lines=lines,
    )
