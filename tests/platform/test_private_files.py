"""Files that hold secrets or bid metadata are created for their owner only (0600), in a data
folder that is the owner's only (0700)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tender import migrate
from tender.cli import main
from tender.signing.testing import TestPKI
from tender.signing.testing.pki import _write_keys


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def no_tender_settings(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Only the settings a test sets, whatever the environment it runs in holds."""
    for name in [name for name in os.environ if name.startswith("TENDER_")]:
        monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.integration
def test_tender_migrate_makes_a_private_data_folder_and_database(
    tmp_path: Path, no_tender_settings: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "var"
    no_tender_settings.setenv("TENDER_DATA_DIR", str(data_dir))

    assert main(["migrate"]) == 0

    assert mode(data_dir) == 0o700
    database_files = list(data_dir.glob("tender.db*"))  # with -wal and -shm, if SQLite kept them
    assert data_dir / "tender.db" in database_files
    assert {path.name: mode(path) for path in database_files} == {
        path.name: 0o600 for path in database_files
    }


@pytest.mark.integration
def test_a_new_sqlite_file_is_private_and_an_existing_one_is_left_alone(tmp_path: Path) -> None:
    new, existing = tmp_path / "new.db", tmp_path / "existing.db"
    existing.touch(mode=0o640)
    existing.chmod(0o640)

    migrate.upgrade(f"sqlite:///{new}")
    migrate.upgrade(f"sqlite:///{existing}")

    assert mode(new) == 0o600
    assert mode(existing) == 0o640


def test_the_test_pki_writes_its_pkcs12_files_for_their_owner_only(tmp_path: Path) -> None:
    pki = TestPKI.create(tmp_path / "pki")

    p12_files = list(pki.directory.glob("*.p12"))
    assert pki.p12_path("platform") in p12_files
    assert {path.name: mode(path) for path in p12_files} == {path.name: 0o600 for path in p12_files}


def test_the_test_pki_writes_its_private_keys_for_their_owner_only(tmp_path: Path) -> None:
    # Certomancer reads the keys from files: they exist, briefly, in a temporary folder.
    _write_keys({"keysets": {"test": {"keys": {"a": {"path": "a.key.pem"}}}}}, tmp_path)

    assert mode(tmp_path / "a.key.pem") == 0o600
