"""One finding of an offline verifier: what was checked, whether it held, and the detail."""

from __future__ import annotations

from collections.abc import Callable
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
