"""One parse, one validation per signature, and the same verdicts as validating twice.

A PDF signature needs two of pyHanko's answers: the classic status (which judges what
changed after signing) and the ETSI AdES process. Each of pyHanko's entry points verifies
the signature value and builds and validates the certificate path on its own; Tender does
that once and finishes both answers from it. These tests pin that the answers are what
pyHanko's own two entry points give (so an upgrade that changes either shows here), and
that the work is done once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

import pytest
from asn1crypto import algos
from cryptography.exceptions import InvalidSignature
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature, generic_cms
from pyhanko.sign.validation.ades import ades_basic_validation
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator.sig_validate import DefaultSignatureValidator

from tender.signing import (
    DocumentReport,
    Indication,
    SubIndication,
    TrustStore,
    signed_revision_length,
    verify_document,
)
from tender.signing import pades as pades_module
from tender.signing.revocation import read_dss
from tender.signing.signer import sign_detached, sign_pdf
from tender.signing.stages import OnceSignatureValidator
from tender.signing.testing import TestPKI, make_pdf, signed_pdf
from tender.signing.trust import point_in_time
from tender.signing.verdicts import Verdict, ades_verdict, worst

Build = Callable[[TestPKI], bytes]


# ---- the documents ------------------------------------------------------------------------


def _by(signer: str) -> Build:
    return lambda pki: signed_pdf(pki, signer, f"Bid of {signer}")


def _time_stamped(pki: TestPKI) -> bytes:
    output = BytesIO()
    sign_pdf(
        BytesIO(make_pdf("Time-stamped bid")),
        output,
        pki.signer("supplier-a"),
        timestamper=pki.timestamper(),
    )
    return output.getvalue()


def _co_signed(pki: TestPKI) -> bytes:
    output = BytesIO()
    sign_pdf(
        BytesIO(signed_pdf(pki, "supplier-a", "Joint bid")),
        output,
        pki.signer("supplier-b"),
        field_name="Director2",
    )
    return output.getvalue()


def _changed_after_signing(pki: TestPKI) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(signed_pdf(pki, "supplier-a", "Price: 1000 NTD")))
    page_ref = writer.root["/Pages"]["/Kids"].raw_get(0)
    forged = generic.StreamObject(stream_data=b"BT /F1 12 Tf 72 770 Td (Price: 1 NTD) Tj ET")
    page_ref.get_object()["/Contents"] = writer.add_object(forged)
    writer.mark_update(page_ref)
    output = BytesIO()
    writer.write(output)
    return output.getvalue()


DOCUMENTS: dict[str, Build] = {
    "valid": _by("supplier-a"),
    "expired": _by("supplier-expired"),
    "not yet valid": _by("supplier-not-yet-valid"),
    "revoked": _by("revoked-supplier"),
    "untrusted": _by("untrusted-supplier"),
    "encryption-only key": _by("no-signing-usage"),
    "weak key": _by("rsa1024-supplier"),
    "time-stamped": _time_stamped,
    "co-signed": _co_signed,
    "changed after signing": _changed_after_signing,
}


@pytest.fixture(scope="module")
def with_revocation(pki: TestPKI) -> TrustStore:
    """The test trust store with the issuing CA's CRL: revocation is checked."""
    return TrustStore.from_folder(pki.trust_dir, revocation_dir=pki.revocation_dir)


# ---- what validating twice gave ------------------------------------------------------------


async def _validated_twice(
    data: bytes, trust: TrustStore, at: datetime
) -> list[tuple[Verdict, bool, datetime | None]]:
    """Per signature: the verdict, ``trusted`` and the trusted time-stamp's time, as Tender
    had them when it ran both of pyHanko's entry points in full (the AdES verdict first,
    then the changes after signing, then the classic status)."""
    reader = PdfFileReader(BytesIO(data))
    embedded = read_dss(reader)
    fields = {signature.field_name for signature in reader.embedded_signatures}
    found = []
    for signature in reader.embedded_regular_signatures:
        classic: PdfSignatureStatus = await async_validate_pdf_signature(
            signature, signer_validation_context=trust.validation_context(at, embedded)
        )
        ades = await ades_basic_validation(
            signature.signed_data,
            trust.validation_spec(embedded),
            timing_info=point_in_time(at),
            raw_digest=signature.compute_digest(),
        )
        signer = signature.signer_cert
        verdict = worst(
            [
                ades_verdict(ades.ades_subindic, signer, at),
                pades_module._modification_verdict(
                    classic.modification_level, classic.diff_result, classic.docmdp_ok, fields
                ),
                pades_module._classic_verdict(classic, signer, at, alone=False),
            ]
        )
        timestamp = classic.timestamp_validity
        trusted_time = (
            timestamp.timestamp
            if timestamp is not None and timestamp.valid and timestamp.intact and timestamp.trusted
            else None
        )
        found.append((verdict, classic.trusted, trusted_time))
    return found


def _validated_once(report: DocumentReport) -> list[tuple[Verdict, bool, datetime | None]]:
    return [
        (
            (signature.indication, signature.sub_indication),
            signature.trusted,
            signature.timestamp_time,
        )
        for signature in report.signatures
    ]


@pytest.mark.parametrize("name", DOCUMENTS)
def test_one_validation_gives_what_pyhankos_two_entry_points_give(
    pki: TestPKI, with_revocation: TrustStore, name: str
) -> None:
    data = DOCUMENTS[name](pki)
    at = datetime.now(UTC)

    report = verify_document(BytesIO(data), trust=with_revocation, at=at)

    assert _validated_once(report) == asyncio.run(_validated_twice(data, with_revocation, at))


def test_the_verdicts_compared_are_the_ones_the_platform_gives(
    pki: TestPKI, with_revocation: TrustStore
) -> None:
    # The comparison above is only as good as the cases it covers: they fail in every way.
    at = datetime.now(UTC)
    verdicts = {
        name: verify_document(BytesIO(build(pki)), trust=with_revocation, at=at).sub_indication
        for name, build in DOCUMENTS.items()
    }
    assert verdicts == {
        "valid": None,
        "expired": SubIndication.OUT_OF_BOUNDS_NO_POE,
        "not yet valid": SubIndication.NOT_YET_VALID,
        "revoked": SubIndication.REVOKED_NO_POE,
        "untrusted": SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
        "encryption-only key": SubIndication.CHAIN_CONSTRAINTS_FAILURE,
        "weak key": SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
        "time-stamped": None,
        "co-signed": None,
        "changed after signing": SubIndication.MODIFIED_AFTER_SIGNING,
    }


def test_revoked_after_submission_still_passes_once_validated(
    pki: TestPKI, with_revocation: TrustStore
) -> None:
    data = signed_pdf(pki, "revoked-supplier", "Bid")
    before = pki.revocation_time("revoked-supplier") - timedelta(days=1)

    report = verify_document(BytesIO(data), trust=with_revocation, at=before)

    assert (report.indication, report.sub_indication) == (Indication.TOTAL_PASSED, None)
    assert _validated_once(report) == asyncio.run(_validated_twice(data, with_revocation, before))


def test_the_classic_statuss_own_key_usage_is_still_applied(
    pki: TestPKI, trust: TrustStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pyHanko's classic status asks PDF signers for a key usage of its own (non-repudiation),
    # the AdES process for the platform's (digital signature or non-repudiation). The test
    # certificates allow both, so make the classic default one they lack: the path is found
    # and trusted by the AdES process, refused by the classic status.
    monkeypatch.setattr(PdfSignatureStatus, "key_usage", {"key_agreement"})
    data = signed_pdf(pki, "supplier-a", "Bid")
    at = datetime.now(UTC)

    report = verify_document(BytesIO(data), trust=trust, at=at)

    assert (report.indication, report.sub_indication) == (
        Indication.INDETERMINATE,
        SubIndication.SIG_CONSTRAINTS_FAILURE,
    )
    assert report.signatures[0].trusted is False
    assert _validated_once(report) == asyncio.run(_validated_twice(data, trust, at))


# ---- the work done once --------------------------------------------------------------------


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts PDF parses, certificate-path validations and cryptographic verifications (by
    what was verified) while a test runs."""
    counts: Counter[str] = Counter()
    parse = PdfFileReader.__init__
    validate_usage = generic_cms.validate_cert_usage
    verify = DefaultSignatureValidator.validate_signature

    def counting_parse(self: PdfFileReader, *args: Any, **kwargs: Any) -> None:
        counts["parse"] += 1
        parse(self, *args, **kwargs)

    async def counting_path(*args: Any, **kwargs: Any) -> Any:
        counts["path"] += 1
        return await validate_usage(*args, **kwargs)

    def counting_verify(
        self: DefaultSignatureValidator,
        signature: bytes,
        signed_data: bytes,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        counts["verification"] += 1
        counts[f"verified {signature.hex()} over {signed_data.hex()}"] += 1
        verify(self, signature, signed_data, *args, **kwargs)

    monkeypatch.setattr(PdfFileReader, "__init__", counting_parse)
    monkeypatch.setattr(generic_cms, "validate_cert_usage", counting_path)
    monkeypatch.setattr(DefaultSignatureValidator, "validate_signature", counting_verify)
    return counts


def _repeated(counts: Counter[str]) -> list[str]:
    return [key for key, count in counts.items() if key.startswith("verified") and count > 1]


@pytest.mark.parametrize("name", ["valid", "co-signed", "time-stamped"])
def test_a_pdf_is_parsed_once_and_each_path_validated_once(
    pki: TestPKI, trust: TrustStore, counted: Counter[str], name: str
) -> None:
    data = DOCUMENTS[name](pki)
    counted.clear()

    report = verify_document(BytesIO(data), trust=trust, at=datetime.now(UTC))

    assert report.indication is Indication.TOTAL_PASSED
    assert counted["parse"] == 1
    # One path per signature, and one for a time-stamp's authority.
    assert counted["path"] == len(report.signatures) + (name == "time-stamped")
    assert _repeated(counted) == []  # nothing verified twice, not even a shared chain
    assert report.signed_revision_length is not None


def test_a_detached_signature_is_verified_once(
    pki: TestPKI, trust: TrustStore, counted: Counter[str]
) -> None:
    content = b"item,price\nasphalt,1000\n"
    p7s = BytesIO()
    sign_detached(BytesIO(content), p7s, pki.signer("supplier-a"))
    counted.clear()

    report = verify_document(
        BytesIO(content),
        detached_signature=BytesIO(p7s.getvalue()),
        trust=trust,
        at=datetime.now(UTC),
    )

    assert report.indication is Indication.TOTAL_PASSED
    assert (counted["parse"], counted["path"]) == (0, 1)
    assert _repeated(counted) == []


def test_a_verification_is_remembered_whichever_way_it_went(pki: TestPKI) -> None:
    certificate = pki.certificate("supplier-a")
    validator = OnceSignatureValidator()
    algorithm = algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"})
    bad_signature = bytes.fromhex("3006020101020101")  # r = s = 1: well formed, never valid

    for _ in range(2):
        with pytest.raises(InvalidSignature):
            validator.validate_signature(bad_signature, b"data", certificate.public_key, algorithm)
    # A different question is a new verification.
    with pytest.raises(InvalidSignature):
        validator.validate_signature(bad_signature, b"other", certificate.public_key, algorithm)

    assert validator.verifications == 2


# ---- the signed revision, from the same parse -----------------------------------------------


@pytest.mark.parametrize("name", ["valid", "co-signed", "changed after signing"])
def test_the_report_gives_the_signed_revision_length(
    pki: TestPKI, trust: TrustStore, name: str
) -> None:
    data = DOCUMENTS[name](pki)

    report = verify_document(BytesIO(data), trust=trust, at=datetime.now(UTC))

    assert report.signed_revision_length == signed_revision_length(BytesIO(data))
    assert report.to_json()["signed_revision_length"] == report.signed_revision_length
    length = report.signed_revision_length
    assert length is not None
    if name == "changed after signing":
        # The signed revision, without the update appended after it.
        assert length < len(data)
        assert data[:length].rstrip().endswith(b"%%EOF")
    else:
        assert length == len(data)  # the last signature covers the whole file


def test_no_signed_revision_without_a_signed_pdf(pki: TestPKI, trust: TrustStore) -> None:
    at = datetime.now(UTC)
    unsigned = verify_document(BytesIO(make_pdf("Unsigned bid")), trust=trust, at=at)
    content = b"item,price\nasphalt,1000\n"
    p7s = BytesIO()
    sign_detached(BytesIO(content), p7s, pki.signer("supplier-a"))
    detached = verify_document(
        BytesIO(content), detached_signature=BytesIO(p7s.getvalue()), trust=trust, at=at
    )

    assert unsigned.signed_revision_length is None
    assert detached.signed_revision_length is None
    assert detached.to_json()["signed_revision_length"] is None
