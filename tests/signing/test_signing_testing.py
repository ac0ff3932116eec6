"""The throw-away test PKI and sample documents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from tender.signing.testing import TestPKI, make_pdf


def test_dates_follow_the_reference_time(tmp_path: Path) -> None:
    # An unusual reference time, so that the per-process cache cannot answer.
    reference = datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)

    pki = TestPKI.create(tmp_path, reference_time=reference)

    year = timedelta(days=365)
    assert pki.certificate("supplier-a").not_valid_before == reference - year
    assert pki.certificate("supplier-a").not_valid_after == reference + 2 * year
    assert pki.certificate("supplier-expired").not_valid_after == reference - year
    assert pki.certificate("supplier-not-yet-valid").not_valid_before == reference + year
    assert pki.revocation_time("revoked-supplier") == reference - timedelta(days=30)


def test_default_pki_is_valid_now(pki: TestPKI) -> None:
    now = datetime.now(UTC)
    for name in ("supplier-a", "supplier-b", "supplier-c", "untrusted-supplier"):
        certificate = pki.certificate(name)
        assert certificate.not_valid_before < now < certificate.not_valid_after


def test_files_written(pki: TestPKI) -> None:
    assert sorted(path.name for path in pki.trust_dir.iterdir()) == ["interm.pem", "root.pem"]
    assert sorted(path.name for path in pki.revocation_dir.iterdir()) == ["interm.crl", "root.crl"]
    assert pki.signer_names == (
        "supplier-a",
        "supplier-b",
        "supplier-c",
        "supplier-expired",
        "supplier-not-yet-valid",
        "untrusted-supplier",
        "revoked-supplier",
        "no-signing-usage",
        "rsa1024-supplier",
    )
    assert all(pki.p12_path(name).is_file() for name in pki.signer_names)


def test_keys_are_fresh_per_pki(tmp_path: Path) -> None:
    first = TestPKI.create(tmp_path / "1", reference_time=datetime(2030, 1, 1, tzinfo=UTC))
    second = TestPKI.create(tmp_path / "2", reference_time=datetime(2030, 1, 2, tzinfo=UTC))

    assert (
        first.certificate("root").public_key.dump() != second.certificate("root").public_key.dump()
    )


def test_unknown_names_are_refused(pki: TestPKI) -> None:
    with pytest.raises(KeyError, match="not a signer"):
        pki.signer("root")
    with pytest.raises(KeyError, match="no certificate"):
        pki.certificate("supplier-z")


def test_make_pdf_is_a_readable_deterministic_page() -> None:
    text = "Bid (final)\nTotal: 100 NTD \\ incl. tax"

    data = make_pdf(text)

    assert data == make_pdf(text)
    assert rb"(Bid \(final\))" in data
    assert rb"(Total: 100 NTD \\ incl. tax)" in data
    reader = PdfFileReader(BytesIO(data))
    assert len(reader.root["/Pages"]["/Kids"]) == 1


def test_special_certificates_are_what_their_names_say(pki: TestPKI) -> None:
    assert pki.certificate("no-signing-usage").key_usage_value.native == {"key_encipherment"}
    assert pki.certificate("rsa1024-supplier").public_key.bit_size == 1024
    assert pki.certificate("tsa").extended_key_usage_value.native == ["time_stamping"]
    assert pki.certificate("interm-ocsp").extended_key_usage_value.native == ["ocsp_signing"]
    assert pki.certificate("revoked-supplier").ocsp_urls == [
        "http://pki.tender.invalid/tender-test/ocsp/interm"
    ]
    with pytest.raises(KeyError, match="not revoked"):
        pki.revocation_time("supplier-a")
