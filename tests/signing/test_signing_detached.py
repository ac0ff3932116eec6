"""Detached CAdES (.p7s) verification, with the content or only its SHA-256."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime
from io import BytesIO

import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tender.signing import (
    DocumentReport,
    Indication,
    SubIndication,
    TrustStore,
    async_verify_document,
    verify_document,
)
from tender.signing.signer import sign_detached
from tender.signing.testing import TestPKI, make_pdf

CONTENT = b"unit price,quantity\n1000,3\n" * 100


def _p7s(pki: TestPKI, signer: str = "supplier-a", content: bytes = CONTENT) -> bytes:
    output = BytesIO()
    sign_detached(BytesIO(content), output, pki.signer(signer))
    return output.getvalue()


def _verify(
    trust: TrustStore,
    p7s: bytes,
    content: bytes | None = CONTENT,
    content_sha256: bytes | None = None,
) -> DocumentReport:
    return verify_document(
        None if content is None else BytesIO(content),
        trust=trust,
        at=datetime.now(UTC),
        detached_signature=BytesIO(p7s),
        content_sha256=content_sha256,
    )


def _verdict(report: DocumentReport) -> tuple[Indication, SubIndication | None]:
    return report.indication, report.sub_indication


def test_valid_detached_signature_passes(pki: TestPKI, trust: TrustStore) -> None:
    report = _verify(trust, _p7s(pki))

    assert _verdict(report) == (Indication.TOTAL_PASSED, None)
    assert report.kind == "CAdES"
    (signature,) = report.signatures
    assert signature.signer_subject == r"CN=Supplier A,O=Supplier A Co.\, Ltd.,C=TW"
    assert (signature.intact, signature.crypto_valid, signature.trusted) == (True, True, True)
    assert (signature.coverage, signature.modification_level, signature.field_name) == (
        None,
        None,
        None,
    )
    assert signature.claimed_signing_time is not None


def test_detached_signature_over_other_content_is_hash_failure(
    pki: TestPKI, trust: TrustStore
) -> None:
    report = _verify(trust, _p7s(pki), content=CONTENT + b"1000,4\n")

    assert _verdict(report) == (Indication.TOTAL_FAILED, SubIndication.HASH_FAILURE)
    assert report.signatures[0].intact is False


def test_known_sha256_stands_in_for_the_content(pki: TestPKI, trust: TrustStore) -> None:
    p7s = _p7s(pki)

    right = _verify(trust, p7s, content=None, content_sha256=hashlib.sha256(CONTENT).digest())
    wrong = _verify(trust, p7s, content=None, content_sha256=hashlib.sha256(b"other").digest())

    assert _verdict(right) == (Indication.TOTAL_PASSED, None)
    assert _verdict(wrong) == (Indication.TOTAL_FAILED, SubIndication.HASH_FAILURE)


def test_other_digest_than_sha256_is_left_to_the_opening(pki: TestPKI, trust: TrustStore) -> None:
    p7s = asyncio.run(
        pki.signer("supplier-a").async_sign_general_data(
            BytesIO(CONTENT), "sha384", detached=True, use_cades=True
        )
    ).dump()

    hash_only = _verify(trust, p7s, content=None, content_sha256=hashlib.sha256(CONTENT).digest())
    with_content = _verify(trust, p7s)

    assert _verdict(hash_only) == (Indication.INDETERMINATE, SubIndication.SIGNED_DATA_NOT_FOUND)
    assert "the opening will decide" in hash_only.message_en
    assert hash_only.signer_subject == r"CN=Supplier A,O=Supplier A Co.\, Ltd.,C=TW"
    assert _verdict(with_content) == (Indication.TOTAL_PASSED, None)


def test_untrusted_detached_signer_is_indeterminate(pki: TestPKI, trust: TrustStore) -> None:
    report = _verify(trust, _p7s(pki, "untrusted-supplier"))

    assert _verdict(report) == (
        Indication.INDETERMINATE,
        SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
    )


def test_p7s_without_signer_info_has_no_signature(pki: TestPKI, trust: TrustStore) -> None:
    info = cms.ContentInfo.load(_p7s(pki))
    info["content"]["signer_infos"] = cms.SignerInfos([])

    report = _verify(trust, info.dump(force=True))

    assert _verdict(report) == (Indication.TOTAL_FAILED, SubIndication.NO_SIGNATURE_FOUND)
    assert report.signatures == ()


@pytest.mark.parametrize(
    "p7s",
    [b"", b"\x30\x82\xff\xff garbage", b"-----BEGIN PKCS7-----", make_pdf("not a p7s")],
    ids=["empty", "garbage-der", "pem-header", "pdf"],
)
def test_unreadable_p7s_is_format_failure(trust: TrustStore, p7s: bytes) -> None:
    report = _verify(trust, p7s)

    assert _verdict(report) == (Indication.TOTAL_FAILED, SubIndication.FORMAT_FAILURE)


def test_p7s_of_another_cms_type_is_format_failure(trust: TrustStore) -> None:
    data = cms.ContentInfo({"content_type": "data", "content": b"hello"}).dump()

    assert _verdict(_verify(trust, data)) == (
        Indication.TOTAL_FAILED,
        SubIndication.FORMAT_FAILURE,
    )


def test_two_signers_in_one_p7s_are_each_reported(pki: TestPKI, trust: TrustStore) -> None:
    first = cms.ContentInfo.load(_p7s(pki, "supplier-a"))
    second = cms.ContentInfo.load(_p7s(pki, "untrusted-supplier"))
    content = first["content"]
    content["signer_infos"] = cms.SignerInfos(
        [content["signer_infos"][0], second["content"]["signer_infos"][0]]
    )
    content["certificates"] = cms.CertificateSet(
        [*content["certificates"], *second["content"]["certificates"]]
    )

    report = _verify(trust, first.dump(force=True))

    # DER sorts a SET OF, so the signers come back in no particular order.
    assert {(s.signer_subject, s.indication) for s in report.signatures} == {
        (r"CN=Supplier A,O=Supplier A Co.\, Ltd.,C=TW", Indication.TOTAL_PASSED),
        (r"CN=Untrusted Supplier,O=Untrusted Supplier Co.\, Ltd.,C=TW", Indication.INDETERMINATE),
    }
    assert _verdict(report) == (
        Indication.INDETERMINATE,
        SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
    )


@pytest.mark.parametrize(
    ("content", "content_sha256", "detached"),
    [
        (None, None, None),
        (b"pdf", b"\x00" * 32, None),
        (b"file", b"\x00" * 32, b"p7s"),
        (None, b"\x00" * 20, b"p7s"),
    ],
    ids=["nothing", "pdf-with-hash", "p7s-both", "p7s-short-hash"],
)
def test_arguments_that_describe_no_case_are_refused(
    trust: TrustStore, content: bytes | None, content_sha256: bytes | None, detached: bytes | None
) -> None:
    with pytest.raises(ValueError, match="content"):
        verify_document(
            None if content is None else BytesIO(content),
            trust=trust,
            at=datetime.now(UTC),
            detached_signature=None if detached is None else BytesIO(detached),
            content_sha256=content_sha256,
        )


def test_async_detached_verification(pki: TestPKI, trust: TrustStore) -> None:
    p7s = _p7s(pki, "supplier-b")

    async def run() -> DocumentReport:
        return await async_verify_document(
            BytesIO(CONTENT), trust=trust, at=datetime.now(UTC), detached_signature=BytesIO(p7s)
        )

    assert _verdict(asyncio.run(run())) == (Indication.TOTAL_PASSED, None)


def test_signature_without_its_file_gets_a_full_report(pki: TestPKI, trust: TrustStore) -> None:
    p7s = _p7s(pki, "supplier-b")

    report = _verify(trust, p7s, content=None)

    # ETSI EN 319 102-1: the signed data cannot be obtained.
    assert _verdict(report) == (Indication.INDETERMINATE, SubIndication.SIGNED_DATA_NOT_FOUND)
    assert report.kind == "CAdES"
    (signature,) = report.signatures
    certificate = pki.certificate("supplier-b")
    assert signature.signer_subject == r"CN=Supplier B,O=Supplier B Co.\, Ltd.,C=TW"
    assert signature.signer_sha256 == hashlib.sha256(certificate.dump()).hexdigest()
    assert signature.claimed_signing_time is not None
    # Nothing about the signed file could be established.
    assert (signature.intact, signature.crypto_valid, signature.trusted) == (False, False, False)
    assert "came without the file it signs" in report.message_en
    assert "並未連同其所簽署的檔案" in report.message_zh
    assert report.to_json()["signatures"] != []


def test_unreadable_signature_without_its_file_is_format_failure(trust: TrustStore) -> None:
    report = _verify(trust, b"not a CMS signature", content=None)

    assert _verdict(report) == (Indication.TOTAL_FAILED, SubIndication.FORMAT_FAILURE)


def _signed_attributes_out_of_der_order(pki: TestPKI) -> bytes:
    """A .p7s whose signer wrote its signed attributes in another order than DER's (a SET OF
    sorted by encoding) and signed them as written, as some signing tools do."""
    p7s = _p7s(pki)
    signer_info = cms.ContentInfo.load(p7s)["content"]["signer_infos"][0]
    written = signer_info["signed_attrs"].contents
    attributes = [attribute.dump() for attribute in signer_info["signed_attrs"]]
    reordered = b"".join(reversed(attributes))
    assert reordered != written
    signed = cms.CMSAttributes.load(signer_info["signed_attrs"].untag().dump())
    header = signed.dump()[: -len(written)]
    key = serialization.load_der_private_key(
        pki.signer("supplier-a").signing_key.dump(),  # type: ignore[attr-defined]
        password=None,
    )
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    old_signature = signer_info["signature"].native
    # ECDSA signatures vary in length; keep one as long as the old, so every offset stays.
    new_signature = b""
    while len(new_signature) != len(old_signature):
        new_signature = key.sign(header + reordered, ec.ECDSA(hashes.SHA256()))
    assert p7s.count(written) == 1
    assert p7s.count(old_signature) == 1
    return p7s.replace(written, reordered).replace(old_signature, new_signature)


def test_signed_attributes_are_verified_as_the_signer_wrote_them(
    pki: TestPKI, trust: TrustStore
) -> None:
    # Re-encoded in DER order, they would no longer be what was signed.
    report = _verify(trust, _signed_attributes_out_of_der_order(pki))

    assert _verdict(report) == (Indication.TOTAL_PASSED, None)
    assert (report.signatures[0].intact, report.signatures[0].crypto_valid) == (True, True)
