"""Signing PDFs and loading PKCS#12 signers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.sign.general import SigningError

from tender.signing import (
    Indication,
    TrustStore,
    async_sign_pdf,
    load_signer_pkcs12,
    sign_pdf,
    verify_document,
)
from tender.signing.testing import P12_PASSPHRASE, TestPKI, make_pdf, signed_pdf


def test_pkcs12_signer_carries_certificate_and_chain(pki: TestPKI) -> None:
    signer = load_signer_pkcs12(pki.p12_path("supplier-b"), P12_PASSPHRASE)

    assert signer.signing_cert.dump() == pki.certificate("supplier-b").dump()
    chain = {cert.dump() for cert in signer.cert_registry}
    assert {pki.certificate("interm").dump(), pki.certificate("root").dump()} <= chain


def test_wrong_passphrase_is_a_clear_error(pki: TestPKI) -> None:
    with pytest.raises(ValueError, match="wrong passphrase"):
        load_signer_pkcs12(pki.p12_path("supplier-a"), b"guess")


def test_missing_pkcs12_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read PKCS#12 file"):
        load_signer_pkcs12(tmp_path / "nope.p12", P12_PASSPHRASE)


def test_async_signing_keeps_the_original_and_names_the_field(
    pki: TestPKI, trust: TrustStore
) -> None:
    original = make_pdf("Bid of Supplier C")
    output = BytesIO()

    asyncio.run(
        async_sign_pdf(BytesIO(original), output, pki.signer("supplier-c"), field_name="Bid")
    )

    signed = output.getvalue()
    assert signed.startswith(original)  # an incremental update: original bytes untouched
    report = verify_document(BytesIO(signed), trust=trust, at=datetime.now(UTC))
    assert report.indication is Indication.TOTAL_PASSED
    assert report.signatures[0].field_name == "Bid"


def test_signing_into_a_filled_field_is_refused(pki: TestPKI) -> None:
    signed = signed_pdf(pki, "supplier-a", "Bid")

    with pytest.raises(SigningError, match="filled already"):
        sign_pdf(BytesIO(signed), BytesIO(), pki.signer("supplier-b"))
