"""Signer binding (whose signature counts for an organisation) and reading certificates."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from io import BytesIO

import pytest

from tender.signing import (
    DocumentReport,
    Indication,
    SignerBinding,
    SubIndication,
    TrustStore,
    read_certificate,
    verify_document,
)
from tender.signing.signer import sign_detached
from tender.signing.testing import TestPKI, signed_pdf

ACME = "ACME Co., Ltd."


def _fingerprint(pki: TestPKI, name: str) -> str:
    return hashlib.sha256(pki.certificate(name).dump()).hexdigest()


def _verify(trust: TrustStore, data: bytes, binding: SignerBinding) -> DocumentReport:
    return verify_document(
        BytesIO(data), trust=trust, at=datetime.now(UTC), expected_signers=binding
    )


def test_registered_signer_passes(pki: TestPKI, trust: TrustStore) -> None:
    binding = SignerBinding(
        ACME, frozenset({_fingerprint(pki, "supplier-b"), _fingerprint(pki, "supplier-a")})
    )

    report = _verify(trust, signed_pdf(pki, "supplier-a", "Bid"), binding)

    assert (report.indication, report.sub_indication) == (Indication.TOTAL_PASSED, None)


def test_valid_signature_by_someone_else_fails(pki: TestPKI, trust: TrustStore) -> None:
    binding = SignerBinding(ACME, frozenset({_fingerprint(pki, "supplier-b")}))

    report = _verify(trust, signed_pdf(pki, "supplier-a", "Bid"), binding)

    assert (report.indication, report.sub_indication) == (
        Indication.TOTAL_FAILED,
        SubIndication.SIGNER_NOT_REGISTERED,
    )
    assert report.message_en == (
        r"The document was signed by CN=Supplier A,O=Supplier A Co.\, Ltd.,C=TW, whose "
        "certificate is not registered to ACME Co., Ltd.; sign with a registered certificate "
        "or register this one (POST /api/account/certificates), then resubmit."
    )
    assert "未登記於 ACME Co., Ltd." in report.message_zh
    assert report.signatures[0].trusted is True


def test_organisation_without_certificates_is_told_how_to_register(
    pki: TestPKI, trust: TrustStore
) -> None:
    report = _verify(trust, signed_pdf(pki, "supplier-a", "Bid"), SignerBinding(ACME, frozenset()))

    assert report.sub_indication is SubIndication.SIGNER_NOT_REGISTERED
    assert report.message_en.startswith("ACME Co., Ltd. has registered no signing certificate")
    assert "POST /api/account/certificates" in report.message_en
    assert "POST /api/account/certificates" in report.message_zh


def test_binding_is_checked_for_intact_signatures_from_untrusted_chains(
    pki: TestPKI, trust: TrustStore
) -> None:
    binding = SignerBinding(ACME, frozenset({_fingerprint(pki, "supplier-a")}))

    report = _verify(trust, signed_pdf(pki, "untrusted-supplier", "Bid"), binding)

    # Who signed is certain once the signature value verifies; that it is the wrong
    # person is the more definite answer than "unknown authority".
    assert (report.indication, report.sub_indication) == (
        Indication.TOTAL_FAILED,
        SubIndication.SIGNER_NOT_REGISTERED,
    )


def test_binding_does_not_hide_an_earlier_failure(pki: TestPKI, trust: TrustStore) -> None:
    binding = SignerBinding(ACME, frozenset())
    data = signed_pdf(pki, "supplier-a", "Price: 1000 NTD")

    report = _verify(trust, data.replace(b"1000 NTD", b"9000 NTD"), binding)

    assert (report.indication, report.sub_indication) == (
        Indication.TOTAL_FAILED,
        SubIndication.HASH_FAILURE,
    )


def test_binding_applies_to_detached_signatures(pki: TestPKI, trust: TrustStore) -> None:
    p7s = BytesIO()
    sign_detached(BytesIO(b"drawings"), p7s, pki.signer("supplier-c"))
    binding = SignerBinding(ACME, frozenset({_fingerprint(pki, "supplier-a")}))

    report = verify_document(
        BytesIO(b"drawings"),
        trust=trust,
        at=datetime.now(UTC),
        detached_signature=BytesIO(p7s.getvalue()),
        expected_signers=binding,
    )

    assert report.sub_indication is SubIndication.SIGNER_NOT_REGISTERED


def test_read_certificate_reads_pem_and_der_alike(pki: TestPKI) -> None:
    certificate = pki.certificate("supplier-a")
    pem = (
        b"-----BEGIN CERTIFICATE-----\n"
        + base64.encodebytes(certificate.dump())
        + b"-----END CERTIFICATE-----\n"
    )

    info = read_certificate(certificate.dump())

    assert read_certificate(pem) == info
    assert info.subject == r"CN=Supplier A,O=Supplier A Co.\, Ltd.,C=TW"
    assert info.issuer == "CN=Tender Test Issuing CA,O=Tender Test PKI,C=TW"
    assert info.serial == format(certificate.serial_number, "x")
    assert info.sha256 == _fingerprint(pki, "supplier-a")
    assert info.not_before == certificate.not_valid_before
    assert info.not_after == certificate.not_valid_after
    assert info.der == certificate.dump()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a readable X.509 certificate"),
        (b"hello", "not a readable X.509 certificate"),
        (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "holds no certificate"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not a readable"),
    ],
    ids=["empty", "text", "private-key", "broken-pem"],
)
def test_read_certificate_refuses_anything_else(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_certificate(data)
