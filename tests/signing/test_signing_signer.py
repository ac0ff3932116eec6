"""Signing PDFs (PAdES) and other files (detached CAdES), and loading PKCS#12 signers."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import cms
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.general import SigningError
from pyhanko.sign.validation import async_validate_detached_cms

from tender.signing import (
    Indication,
    TrustStore,
    async_sign_pdf,
    load_signer_pkcs12,
    sign_pdf,
    verify_document,
)
from tender.signing.signer import async_sign_detached, sign_detached
from tender.signing.testing import P12_PASSPHRASE, TestPKI, make_pdf, signed_pdf


def test_pkcs12_signer_carries_certificate_and_chain(pki: TestPKI) -> None:
    signer = load_signer_pkcs12(pki.p12_path("supplier-b"), P12_PASSPHRASE)

    assert signer.signing_cert is not None
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


class _ChunkedOnly(BytesIO):
    """A stream that refuses to be read whole, as a file too large for memory would.

    (``readinto`` fills a caller's fixed-size buffer, so it is chunked by nature.)"""

    def read(self, size: int | None = -1, /) -> bytes:
        assert (size or -1) > 0, "the content was read whole"
        return super().read(size)


def _signed_data(p7s: bytes) -> cms.SignedData:
    content_info = cms.ContentInfo.load(p7s)
    assert content_info["content_type"].native == "signed_data"
    signed_data: cms.SignedData = content_info["content"]
    return signed_data


def test_detached_signature_binds_the_content_digest_and_the_signer(pki: TestPKI) -> None:
    content = b"PK\x03\x04 a zip of drawings " * 20_000  # ~500 KB: many hashing chunks
    output = BytesIO()

    sign_detached(_ChunkedOnly(content), output, pki.signer("supplier-b"))

    signed_data = _signed_data(output.getvalue())
    assert signed_data["encap_content_info"]["content"].native is None  # detached
    (signer_info,) = signed_data["signer_infos"]
    assert signer_info["digest_algorithm"]["algorithm"].native == "sha256"
    attributes = {a["type"].native: a["values"][0] for a in signer_info["signed_attrs"]}
    assert attributes["message_digest"].native == hashlib.sha256(content).digest()
    certificate = pki.certificate("supplier-b")
    assert signer_info["sid"].chosen["serial_number"].native == certificate.serial_number
    # CAdES: the signed attributes pin the signer's certificate by its SHA-256 hash.
    (pinned,) = attributes["signing_certificate_v2"]["certs"]
    assert pinned["cert_hash"].native == hashlib.sha256(certificate.dump()).digest()


def test_detached_signature_validates_against_the_trust_store(
    pki: TestPKI, trust: TrustStore
) -> None:
    content = b"quantity,price\n10,99.5\n"
    output = BytesIO()
    sign_detached(BytesIO(content), output, pki.signer("supplier-a"))

    status = asyncio.run(
        async_validate_detached_cms(
            content,
            _signed_data(output.getvalue()),
            signer_validation_context=trust.validation_context(datetime.now(UTC)),
        )
    )

    assert (status.intact, status.valid, status.trusted) == (True, True, True)
    assert status.signing_cert.dump() == pki.certificate("supplier-a").dump()


def test_detached_signature_over_other_content_is_not_intact(
    pki: TestPKI, trust: TrustStore
) -> None:
    output = BytesIO()
    asyncio.run(async_sign_detached(BytesIO(b"price: 100"), output, pki.signer("supplier-a")))

    status = asyncio.run(
        async_validate_detached_cms(
            b"price: 900",
            _signed_data(output.getvalue()),
            signer_validation_context=trust.validation_context(datetime.now(UTC)),
        )
    )

    assert not status.intact


def test_visible_signature_gets_its_rectangle_on_the_first_page(
    pki: TestPKI, trust: TrustStore
) -> None:
    output = BytesIO()

    sign_pdf(
        BytesIO(make_pdf("Bid")), output, pki.signer("supplier-a"), visible_box=(50, 50, 250, 110)
    )

    (signature,) = PdfFileReader(BytesIO(output.getvalue())).embedded_regular_signatures
    assert [float(x) for x in signature.sig_field["/Rect"]] == [50, 50, 250, 110]
    report = verify_document(BytesIO(output.getvalue()), trust=trust, at=datetime.now(UTC))
    assert report.indication is Indication.TOTAL_PASSED
