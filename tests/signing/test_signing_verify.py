"""PAdES verification as of a point in time, against the test PKI."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from asn1crypto import cms
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate, AdESPassed
from pyhanko.sign.signers import pdf_byterange

from tender.signing import (
    DocumentReport,
    Indication,
    SubIndication,
    TrustStore,
    async_verify_document,
    sign_pdf,
    verify_document,
)
from tender.signing import pades as pades_module
from tender.signing.testing import TestPKI, make_pdf, signed_pdf
from tender.signing.verdicts import from_pyhanko

Verify = Callable[..., DocumentReport]


def test_valid_signature_passes_and_names_the_signer(pki: TestPKI, verify: Verify) -> None:
    report = verify(signed_pdf(pki, "supplier-a", "Bid of ACME"))

    assert (report.indication, report.sub_indication) == (Indication.TOTAL_PASSED, None)
    assert report.signer_subject == r"CN=Supplier A,O=Supplier A Co.\, Ltd.,C=TW"
    (signature,) = report.signatures
    certificate = pki.certificate("supplier-a")
    assert signature.signer_issuer == "CN=Tender Test Issuing CA,O=Tender Test PKI,C=TW"
    assert signature.signer_serial == format(certificate.serial_number, "x")
    assert signature.signer_sha256 == hashlib.sha256(certificate.dump()).hexdigest()
    assert (signature.intact, signature.crypto_valid, signature.trusted) == (True, True, True)
    assert (signature.coverage, signature.modification_level) == ("ENTIRE_FILE", "NONE")
    assert signature.field_name == "Signature1"
    assert signature.claimed_signing_time is not None
    assert abs(signature.claimed_signing_time - datetime.now(UTC)) < timedelta(minutes=5)
    assert report.message_en.startswith("The signature is valid")
    assert "簽署有效" in report.message_zh


def test_untrusted_chain_is_indeterminate(pki: TestPKI, verify: Verify) -> None:
    report = verify(signed_pdf(pki, "untrusted-supplier", "Bid"))

    assert report.indication is Indication.INDETERMINATE
    assert report.sub_indication is SubIndication.NO_CERTIFICATE_CHAIN_FOUND
    (signature,) = report.signatures
    assert (signature.intact, signature.crypto_valid, signature.trusted) == (True, True, False)
    assert signature.signer_issuer == "CN=Untrusted Root CA,O=Unknown Authority,C=TW"
    assert "not issued by an authority this platform trusts" in report.message_en


def test_certificate_expired_before_submission_is_out_of_bounds(
    pki: TestPKI, verify: Verify
) -> None:
    expiry = pki.certificate("supplier-expired").not_valid_after
    data = signed_pdf(pki, "supplier-expired", "Late bid")

    report = verify(data, at=expiry + timedelta(days=1))

    # Without a time-stamp nothing proves the signature predates the expiry: ETSI's
    # INDETERMINATE / OUT_OF_BOUNDS_NO_POE, which is not a pass.
    assert report.indication is Indication.INDETERMINATE
    assert report.sub_indication is SubIndication.OUT_OF_BOUNDS_NO_POE
    assert report.signatures[0].trusted is False


def test_certificate_that_expired_after_submission_still_passes(
    pki: TestPKI, verify: Verify
) -> None:
    expiry = pki.certificate("supplier-expired").not_valid_after
    data = signed_pdf(pki, "supplier-expired", "Timely bid")

    report = verify(data, at=expiry - timedelta(days=1))

    assert report.indication is Indication.TOTAL_PASSED
    assert report.validated_at == expiry - timedelta(days=1)


def test_certificate_not_yet_valid_at_submission_fails(pki: TestPKI, verify: Verify) -> None:
    data = signed_pdf(pki, "supplier-not-yet-valid", "Early bid")
    start = pki.certificate("supplier-not-yet-valid").not_valid_before

    before = verify(data, at=start - timedelta(days=1))
    after = verify(data, at=start + timedelta(days=1))

    assert (before.indication, before.sub_indication) == (
        Indication.TOTAL_FAILED,
        SubIndication.NOT_YET_VALID,
    )
    assert after.indication is Indication.TOTAL_PASSED


def test_flipped_byte_in_signed_content_is_hash_failure(pki: TestPKI, verify: Verify) -> None:
    data = signed_pdf(pki, "supplier-a", "Price: 1000 NTD")
    assert data.count(b"(Price: 1000 NTD)") == 1

    report = verify(data.replace(b"(Price: 1000 NTD)", b"(Price: 9000 NTD)"))

    assert (report.indication, report.sub_indication) == (
        Indication.TOTAL_FAILED,
        SubIndication.HASH_FAILURE,
    )
    assert report.signatures[0].intact is False
    assert "altered after it was signed" in report.message_en


def test_page_content_changed_after_signing_fails(pki: TestPKI, verify: Verify) -> None:
    writer = IncrementalPdfFileWriter(BytesIO(signed_pdf(pki, "supplier-a", "Price: 1000 NTD")))
    page_ref = writer.root["/Pages"]["/Kids"].raw_get(0)
    page = page_ref.get_object()
    forged = generic.StreamObject(stream_data=b"BT /F1 12 Tf 72 770 Td (Price: 1 NTD) Tj ET")
    page["/Contents"] = writer.add_object(forged)
    writer.mark_update(page_ref)
    modified = BytesIO()
    writer.write(modified)

    report = verify(modified.getvalue())

    # The signed revision itself is intact; the later update is what fails.
    assert (report.indication, report.sub_indication) == (
        Indication.TOTAL_FAILED,
        SubIndication.MODIFIED_AFTER_SIGNING,
    )
    (signature,) = report.signatures
    assert signature.intact is True
    assert signature.modification_level == "OTHER"


def test_second_signature_is_allowed_and_verdict_is_the_worst(pki: TestPKI, verify: Verify) -> None:
    output = BytesIO()
    first = signed_pdf(pki, "supplier-a", "Joint bid")
    sign_pdf(BytesIO(first), output, pki.signer("untrusted-supplier"), field_name="Partner")

    report = verify(output.getvalue())

    assert [(s.field_name, s.indication) for s in report.signatures] == [
        ("Signature1", Indication.TOTAL_PASSED),
        ("Partner", Indication.INDETERMINATE),
    ]
    assert report.indication is Indication.INDETERMINATE
    assert report.sub_indication is SubIndication.NO_CERTIFICATE_CHAIN_FOUND
    assert report.signer_subject == r"CN=Supplier A,O=Supplier A Co.\, Ltd.,C=TW"


@pytest.mark.parametrize(
    "data",
    [b"", b"Dear committee, here is our bid.", b"%PDF-1.7\n%%EOF\n", b"\x00" * 4096],
    ids=["empty", "text", "pdf-header-only", "zeros"],
)
def test_unreadable_input_is_format_failure(data: bytes, verify: Verify) -> None:
    report = verify(data)

    assert (report.indication, report.sub_indication) == (
        Indication.TOTAL_FAILED,
        SubIndication.FORMAT_FAILURE,
    )
    assert report.signatures == ()
    assert report.signer_subject is None


def test_truncated_signed_pdf_is_format_failure(pki: TestPKI, verify: Verify) -> None:
    data = signed_pdf(pki, "supplier-a", "Bid")

    report = verify(data[: len(data) // 2])

    assert report.sub_indication is SubIndication.FORMAT_FAILURE


def test_corrupted_signature_container_does_not_pass(pki: TestPKI, verify: Verify) -> None:
    data = signed_pdf(pki, "supplier-a", "Bid")
    start = data.index(b"/Contents <") + len(b"/Contents <")
    # Overwrite the start of the hex-encoded CMS blob with zeros (same length, so the
    # byte range and xref offsets stay right).
    corrupted = data[:start] + b"0" * 64 + data[start + 64 :]

    report = verify(corrupted)

    assert report.indication is Indication.TOTAL_FAILED
    assert report.sub_indication is SubIndication.FORMAT_FAILURE


def test_malformed_signature_date_is_format_failure(
    pki: TestPKI, verify: Verify, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A signer whose software writes an unreadable /M: the date is signed as it is, so the
    # signature is intact, but its dictionary does not conform to the format.
    monkeypatch.setattr(
        pdf_byterange, "pdf_date", lambda _: generic.pdf_string("D:x0261127093000Z")
    )
    data = signed_pdf(pki, "supplier-a", "Bid")
    monkeypatch.undo()
    assert b"x0261127093000Z" in data

    report = verify(data)

    assert (report.indication, report.sub_indication) == (
        Indication.TOTAL_FAILED,
        SubIndication.FORMAT_FAILURE,
    )
    (signature,) = report.signatures
    assert signature.claimed_signing_time is None
    assert signature.signer_subject == r"CN=Supplier A,O=Supplier A Co.\, Ltd.,C=TW"
    assert (signature.intact, signature.crypto_valid) == (True, True)


def test_signed_bytes_changed_in_the_signature_dictionary_is_hash_failure(
    pki: TestPKI, verify: Verify
) -> None:
    data = signed_pdf(pki, "supplier-a", "Bid")
    marker = b"/M (D\\072"  # pyHanko writes "D:" with an octal colon
    assert data.count(marker) == 1
    year = data.index(marker) + len(marker)
    # The year's first digit becomes a letter: same length, so every offset stays right.

    report = verify(data[:year] + b"x" + data[year + 1 :])

    assert (report.indication, report.sub_indication) == (
        Indication.TOTAL_FAILED,
        SubIndication.HASH_FAILURE,
    )
    assert report.signatures[0].intact is False


def test_signature_pyhanko_skips_is_counted_and_refused(pki: TestPKI, verify: Verify) -> None:
    data = signed_pdf(pki, "supplier-a", "Bid")

    # Same length, so the file stays well-formed. pyHanko silently skips signatures with an
    # unknown /SubFilter (e.g. legacy adbe.x509.rsa_sha1) when it lists them; the field is
    # still filled, so the document declares a signature nobody validated.
    report = verify(data.replace(b"/ETSI.CAdES.detached", b"/ETSI.CAdES.detachex"))

    assert (report.indication, report.sub_indication) == (
        Indication.TOTAL_FAILED,
        SubIndication.FORMAT_FAILURE,
    )
    assert report.signatures == ()
    assert "declares a signature the platform cannot read" in report.message_en


def test_signer_certificate_missing_from_signature(pki: TestPKI, verify: Verify) -> None:
    data = signed_pdf(pki, "supplier-a", "Bid")
    start = data.index(b"/Contents <") + len(b"/Contents <")
    end = data.index(b">", start)
    container = cms.ContentInfo.load(bytes.fromhex(data[start:end].decode()))
    # Point the signer identifier at a serial number no embedded certificate has.
    signer_id = container["content"]["signer_infos"][0]["sid"].chosen
    signer_id["serial_number"] = cms.Integer(signer_id["serial_number"].native + 1)
    blob = container.dump(force=True).hex().upper().encode().ljust(end - start, b"0")

    report = verify(data[:start] + blob + data[end:])

    assert (report.indication, report.sub_indication) == (
        Indication.INDETERMINATE,
        SubIndication.NO_SIGNING_CERTIFICATE_FOUND,
    )
    assert report.signer_subject is None


def test_unexpected_validator_error_still_gives_a_report(
    pki: TestPKI, verify: Verify, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("validator bug")

    # The certificate path, validated once for pyHanko's classic status and the AdES process.
    monkeypatch.setattr(pades_module, "cms_basic_validation", broken)

    report = verify(signed_pdf(pki, "supplier-a", "Bid"))

    assert (report.indication, report.sub_indication) == (
        Indication.INDETERMINATE,
        SubIndication.GENERIC,
    )
    assert report.signer_subject == r"CN=Supplier A,O=Supplier A Co.\, Ltd.,C=TW"
    assert "validator bug" in caplog.text


def test_random_corruption_never_raises_and_never_passes_outside_the_signature_blob(
    pki: TestPKI, verify: Verify
) -> None:
    data = signed_pdf(pki, "supplier-a", "Bid")
    # The hex-encoded CMS blob is the only part of the file the signature does not cover;
    # inside it, the unsigned CA certificate copies and the zero padding may change freely.
    blob_start = data.index(b"/Contents <") + len(b"/Contents <")
    blob_end = data.index(b">", blob_start)
    rng = random.Random(20261127)  # noqa: S311 - reproducible corruption, not cryptography
    for _ in range(300):
        mutated = bytearray(data)
        positions = {rng.randrange(len(data)) for _ in range(rng.choice([1, 2, 8]))}
        for position in positions:
            mutated[position] = rng.randrange(256)
        changed_outside_blob = any(
            mutated[p] != data[p] and not blob_start <= p < blob_end for p in positions
        )

        report = verify(bytes(mutated))

        if changed_outside_blob:
            assert report.indication is not Indication.TOTAL_PASSED, sorted(positions)


def test_unsigned_pdf_has_no_signature(verify: Verify) -> None:
    report = verify(make_pdf("Unsigned bid"))

    assert (report.indication, report.sub_indication) == (
        Indication.TOTAL_FAILED,
        SubIndication.NO_SIGNATURE_FOUND,
    )
    assert "no digital signature" in report.message_en


def test_naive_time_is_refused(pki: TestPKI, trust: TrustStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_document(
            BytesIO(signed_pdf(pki, "supplier-a", "Bid")),
            trust=trust,
            at=datetime(2026, 11, 27, 12, 0),  # noqa: DTZ001 - naive on purpose
        )


def test_async_entry_point_gives_the_same_verdict(pki: TestPKI, trust: TrustStore) -> None:
    data = signed_pdf(pki, "supplier-b", "Bid")

    async def run() -> DocumentReport:
        return await async_verify_document(BytesIO(data), trust=trust, at=datetime.now(UTC))

    report = asyncio.run(run())

    assert report.indication is Indication.TOTAL_PASSED
    assert report.signer_subject == r"CN=Supplier B,O=Supplier B Co.\, Ltd.,C=TW"


def test_report_round_trips_through_json(pki: TestPKI, verify: Verify) -> None:
    at = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    report = verify(signed_pdf(pki, "untrusted-supplier", "Bid"), at=at)

    decoded = json.loads(json.dumps(report.to_json(), ensure_ascii=False))

    assert decoded == report.to_json()
    assert (decoded["schema_version"], decoded["kind"]) == ("1", "PAdES")
    assert decoded["indication"] == "INDETERMINATE"
    assert decoded["sub_indication"] == "NO_CERTIFICATE_CHAIN_FOUND"
    assert decoded["validated_at"] == "2026-11-27T09:30:00+00:00"
    (signature,) = decoded["signatures"]
    assert sorted(signature) == [
        "best_signature_time",
        "claimed_signing_time",
        "coverage",
        "crypto_valid",
        "field_name",
        "indication",
        "intact",
        "message_en",
        "message_zh",
        "modification_level",
        "revocation",
        "signer",
        "sub_indication",
        "timestamp",
        "trusted",
        "unfinished_stage",
    ]
    assert signature["unfinished_stage"] is None
    assert (decoded["lenient_parsing"], decoded["encrypted"], decoded["notes"]) == (
        False,
        False,
        [],
    )
    assert signature["signer"]["issuer"] == "CN=Untrusted Root CA,O=Unknown Authority,C=TW"
    assert (signature["timestamp"], signature["revocation"]) == (None, [])
    assert signature["best_signature_time"] == "2026-11-27T09:30:00+00:00"
    assert datetime.fromisoformat(signature["claimed_signing_time"]).tzinfo is not None
    assert signature["message_zh"] == report.message_zh


@pytest.mark.parametrize("sub_indication", [*AdESFailure, *AdESIndeterminate])
def test_every_pyhanko_sub_indication_has_a_tender_name(
    sub_indication: AdESFailure | AdESIndeterminate,
) -> None:
    indication, tender_sub_indication = from_pyhanko(sub_indication)

    assert tender_sub_indication is not None
    assert tender_sub_indication.value == sub_indication.name
    expected = (
        Indication.TOTAL_FAILED
        if isinstance(sub_indication, AdESFailure)
        else Indication.INDETERMINATE
    )
    assert indication is expected


def test_pyhanko_pass_is_total_passed() -> None:
    assert from_pyhanko(AdESPassed.OK) == (Indication.TOTAL_PASSED, None)
