"""TrustStore: reading trust folders and building offline, point-in-time contexts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tender.signing import TrustStore, TrustStoreError
from tender.signing.testing import TestPKI


def _subjects(store: TrustStore) -> tuple[list[str], list[str]]:
    return (
        [root.subject.native["common_name"] for root in store.roots],
        [cert.subject.native["common_name"] for cert in store.intermediates],
    )


def test_test_pki_trust_folder_has_one_root_and_one_intermediate(pki: TestPKI) -> None:
    assert _subjects(pki.trust_store()) == (["Tender Test Root CA"], ["Tender Test Issuing CA"])


def test_folder_reads_der_and_pem_bundles_and_skips_other_files(
    pki: TestPKI, tmp_path: Path
) -> None:
    (tmp_path / "root.DER").write_bytes(pki.certificate("root").dump())
    bundle = (pki.trust_dir / "interm.pem").read_bytes() + (pki.trust_dir / "root.pem").read_bytes()
    (tmp_path / "bundle.crt").write_bytes(bundle)
    (tmp_path / "README.txt").write_text("not a certificate")
    (tmp_path / "nested.pem").mkdir()

    store = TrustStore.from_folder(tmp_path)

    # bundle.crt sorts first: its intermediate and root, then root.DER again.
    assert _subjects(store) == (
        ["Tender Test Root CA", "Tender Test Root CA"],
        ["Tender Test Issuing CA"],
    )


def test_folder_without_root_is_refused(pki: TestPKI, tmp_path: Path) -> None:
    (tmp_path / "interm.pem").write_bytes((pki.trust_dir / "interm.pem").read_bytes())

    with pytest.raises(TrustStoreError, match="no root"):
        TrustStore.from_folder(tmp_path)


def test_empty_or_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TrustStoreError, match="no root"):
        TrustStore.from_folder(tmp_path)
    with pytest.raises(TrustStoreError, match="not a folder"):
        TrustStore.from_folder(tmp_path / "missing")


@pytest.mark.parametrize(
    "content",
    [
        b"garbage",
        b"0\x03\x02\x01\x01",
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    ],
    ids=["garbage", "not-a-certificate", "key-only"],
)
def test_unreadable_certificate_file_is_named(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "broken.pem").write_bytes(content)

    with pytest.raises(TrustStoreError, match=r"broken\.pem"):
        TrustStore.from_folder(tmp_path)


def test_store_without_roots_is_refused(pki: TestPKI) -> None:
    with pytest.raises(TrustStoreError, match="at least one root"):
        TrustStore.from_certificates([], [pki.certificate("interm")])


def test_validation_context_is_offline_and_set_to_the_given_time(pki: TestPKI) -> None:
    store = TrustStore.from_certificates([pki.certificate("root")])
    at = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)

    context = store.validation_context(at)

    assert context.moment == at
    assert context.fetching_allowed is False
