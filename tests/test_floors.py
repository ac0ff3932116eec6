"""Every part of the package stands on a floor, so import-linter checks its imports.

A module left out of the floors contract is checked by nothing: `signing` once imported the
platform's language module that way. This test makes leaving one out fail, and keeps the
libraries `signing` and `storage` at the bottom, importing nothing of the platform.
"""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path

import tender

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def _floors() -> list[str]:
    contracts = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]
    floors = next(c for c in contracts if c["name"].startswith("Floors"))
    return [name.strip() for layer in floors["layers"] for name in layer.split("|")]


def test_every_top_level_module_of_tender_stands_on_a_floor() -> None:
    modules = {f"tender.{info.name}" for info in pkgutil.iter_modules(tender.__path__)}
    unplaced = sorted(modules - set(_floors()))
    assert not unplaced, f"add these to the floors contract in pyproject.toml: {unplaced}"


def test_the_libraries_are_the_bottom_floor_so_they_import_nothing_of_the_platform() -> None:
    assert _floors()[-2:] == ["tender.signing", "tender.storage"]
