"""Lay out the three source roots as the one ``tender`` package, as links, for static tools.

setuptools maps ``src/tender``, ``signing`` and ``storage`` into one import package through an
editable-install import hook. mypy and import-linter read the file system instead, so they are
pointed at a tree of links that has the run-time layout: ``DIR/tender/...``.

Usage: ``python tools/package_tree.py DIR``
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAPPED = {"signing": ROOT / "signing", "storage": ROOT / "storage"}


def build(target: Path) -> Path:
    """(Re)create ``target/tender`` as links into the checkout; returns ``target``."""
    package = target / "tender"
    if target.exists():
        shutil.rmtree(target)
    package.mkdir(parents=True)
    for entry in (ROOT / "src" / "tender").iterdir():
        (package / entry.name).symlink_to(entry)
    for name, source in MAPPED.items():
        (package / name).symlink_to(source)
    return target


if __name__ == "__main__":
    build(Path(sys.argv[1]))
