"""A bundle of another format is refused, with a sentence saying what to do."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tender.verifier.bundle import BUNDLE_FORMAT, verify_bundle
from tender.verifier.notes import NoteSigner


def _bundle(tmp_path: Path, format_: str) -> Path:
    path = tmp_path / "bundle.zip"
    with zipfile.ZipFile(path, "w") as bundle:
        bundle.writestr("manifest.json", json.dumps({"format": format_, "files": {}}))
        bundle.writestr("manifest.jws", "a.b.c\n")
        bundle.writestr("events.jsonl", '{"seq": 1, "prev_hash": "00"}\n')
    return path


@pytest.mark.parametrize(
    ("format_", "said"),
    [
        ("tender-audit-bundle/1", "export the bundle again with this version of tender"),
        ("tender-audit-bundle/9", f"this verifier reads {BUNDLE_FORMAT!r}"),
    ],
)
def test_a_bundle_of_another_format_is_refused(tmp_path: Path, format_: str, said: str) -> None:
    key = NoteSigner.generate("tender.invalid/audit-log").verifier_key()

    checks = verify_bundle(_bundle(tmp_path, format_), key)

    assert [(c.name, c.ok) for c in checks] == [("bundle format", False)]
    assert said in checks[0].detail
    assert BUNDLE_FORMAT == "tender-audit-bundle/2"
