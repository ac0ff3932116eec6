"""The opening record PDF: what a person reads in it, and the platform's seal on it.

The seal is checked the way an outsider would: with our own ``verify_document`` and with the
``pyhanko sign validate`` command, both fetching the seal certificate's revocation status from
the test PKI's OCSP responder, served for real on 127.0.0.1. The seal is PAdES B-LTA: it
carries its chain's revocation data and time-stamps, so it is also checked with nothing but
what is in the file — with the services gone, and years after the seal certificate expired.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import crl
from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.policy_decl import (
    CertificateFetchingRule,
    LocalKnowledge,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleTrustManager
from pyhanko_certvalidator.revinfo.archival import CRLContainer
from pypdf import PdfReader

from tender.i18n import HONG_KONG_CHINESE, use_locale
from tender.opening.record_pdf import SEAL_FIELD_NAME, render_record_pdf, seal_record_pdf
from tender.signing import DocumentReport, Indication, TrustStore, verify_document
from tender.signing.revocation import evidence_for, read_dss
from tender.signing.testing import ServedPKI, TestPKI, serve_pki
from tender.signing.testing.pki import PLATFORM_SEAL

PYHANKO = Path(sys.executable).parent / "pyhanko"
CHINESE_ORGANISATION = "台灣道路工程股份有限公司"
TOKEN = "MIIB" + "A" * 2000  # stands in for a base64 RFC 3161 token


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _bid(number: int, organisation: str, **changes: Any) -> dict[str, Any]:
    """A bid entry shaped as ``build_record`` writes it."""
    digest = _sha256(f"bid {number}")
    bid: dict[str, Any] = {
        "receipt_id": f"00000000-0000-0000-0000-00000000000{number}",
        "supplier": f"Person {number}",
        "supplier_organisation": organisation,
        "file_name": f"bid-{number}.pdf",
        "size": 1000 * number,
        "received_at": f"2026-11-27T11:0{number}:00.000000Z",
        "receipt_sha256": digest,
        "computed_sha256": digest,
        "hash_matches": True,
        "indication": "TOTAL_PASSED",
        "sub_indication": None,
        "signer_subject": f"CN=Signer {number}",
        "reason": "The signature is valid.",
        "signature_report": {},
    }
    bid.update(changes)
    return bid


def _record(bids: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "format": "tender-opening-record/1",
        "tender": {
            "id": "0b6f6a4e-1111-2222-3333-444455556666",
            "reference": "T-2026-042",
            "title": "Road resurfacing, lot 3",
            "deadline": "2026-11-27T12:00:00.000000Z",
            "opening_started_at": "2026-11-27T12:00:00.501000Z",
            "opened_at": "2026-11-27T12:00:03.250000Z",
        },
        "bids": bids,
        "audit_head": {"seq": 42, "hash": _sha256("head")},
        **extra,
    }


RECORD = _record(
    [
        _bid(1, CHINESE_ORGANISATION),
        _bid(
            2,
            "Société Générale de Travaux",
            computed_sha256=_sha256("something else"),
            hash_matches=False,
            indication="TOTAL_FAILED",
            sub_indication="HASH_FAILURE",
            signer_subject=None,
            reason="The unsealed file's SHA-256 differs from the one on the receipt.",
        ),
        _bid(
            3,
            "Gamma Works",
            indication="INDETERMINATE",
            sub_indication="NO_CERTIFICATE_CHAIN_FOUND",
            reason="The certificate does not lead to a trusted authority.",
        ),
    ],
    checkpoint={
        "size": 43,
        "root": "q1w2e3r4t5y6u7i8o9p0=",
        "note": "tender.example/log\n43\nq1w2e3r4t5y6u7i8o9p0=\n\n— tender.example/log AbCd==\n",
        "timestamp_token": TOKEN,
    },
)


def _render(record: dict[str, Any]) -> bytes:
    output = BytesIO()
    render_record_pdf(record, output)
    return output.getvalue()


def _text(pdf: bytes) -> str:
    """The text of every page, without white space: text extraction puts spaces (and NULs)
    between the glyphs of an embedded font, so texts are compared squeezed (:func:`_squeezed`)."""
    pages = PdfReader(BytesIO(pdf)).pages
    return _squeezed("".join(page.extract_text() for page in pages))


def _squeezed(text: str) -> str:
    return re.sub(r"[\s\x00]", "", text)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedPKI]:
    with serve_pki(tmp_path_factory.mktemp("served-pki")) as served:
        yield served


def _platform_trust(served: ServedPKI) -> TrustStore:
    """The trust store the platform seals with: the trust folder, the revocation folder and
    the test PKI's server as the one host revocation data may be fetched from."""
    return TrustStore.from_folder(
        served.pki.trust_dir,
        revocation_dir=served.pki.revocation_dir,
        fetch_allowed_hosts=frozenset({served.host}),
    )


def _seal(served: ServedPKI, validation_trust: TrustStore | None) -> bytes:
    output = BytesIO()
    seal_record_pdf(
        BytesIO(_render(RECORD)),
        output,
        served.pki.signer(PLATFORM_SEAL),
        timestamper=HTTPTimeStamper(served.tsa_url),
        validation_trust=validation_trust,
    )
    return output.getvalue()


@pytest.fixture(scope="module")
def sealed(served: ServedPKI) -> bytes:
    """The record sealed by the platform for long-term validation (PAdES B-LTA)."""
    return _seal(served, _platform_trust(served))


def _verify(pdf: bytes, served: ServedPKI) -> DocumentReport:
    # Online, as an outside verifier would be, but only towards the test PKI's server.
    trust = TrustStore.from_folder(
        served.pki.trust_dir, fetch_allowed_hosts=frozenset({served.host})
    )
    return verify_document(BytesIO(pdf), trust=trust, at=datetime.now(UTC))


def _pyhanko_validate(
    pdf: bytes, served: ServedPKI, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "record.pdf"
    path.write_bytes(pdf)
    root = served.pki.trust_dir / "root.pem"
    return subprocess.run(
        [
            PYHANKO,
            "sign",
            "validate",
            "--trust",
            root,
            "--trust-replace",
            "--executive-summary",
            path,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_pdf_shows_the_tender_every_bid_and_the_totals() -> None:
    text = _text(_render(RECORD))

    for shown in [
        "Opening record",
        "T-2026-042",
        "Road resurfacing, lot 3",
        "2026-11-27 12:00:00.000000 UTC",  # the deadline
        "2026-11-27 12:00:03.250000 UTC",  # the opening finished
        _sha256("something else"),  # the hash found at opening, where it differs
        "Société Générale de Travaux",
        "Documents 3 Passed 1 Failed 1 Indeterminate 1",
        RECORD["audit_head"]["hash"],
        "— tender.example/log AbCd==",  # the checkpoint's signed note, verbatim
        "2004 characters",  # its token, summarised
        _sha256(TOKEN),
    ]:
        assert _squeezed(shown) in text, shown
    for bid in RECORD["bids"]:
        for value in ("receipt_sha256", "indication", "reason", "sub_indication"):
            assert _squeezed(bid[value] or "") in text
    assert _squeezed(TOKEN[:100]) not in text


def test_a_chinese_name_prints_as_written_and_the_labels_follow_the_language() -> None:
    english = _text(_render(RECORD))
    with use_locale(HONG_KONG_CHINESE):
        chinese = _text(_render(RECORD))

    assert CHINESE_ORGANISATION in english
    assert "Supplier" in english
    assert CHINESE_ORGANISATION in chinese
    assert "開標紀錄" in chinese
    assert "供應商" in chinese
    assert "Supplier" not in chinese


def test_an_opening_without_bids_or_checkpoint_renders() -> None:
    text = _text(_render(_record([])))

    assert _squeezed("No bid document was submitted.") in text
    assert "Documents0" in text
    assert "Checkpoint" not in text


def test_the_same_record_renders_the_same_bytes() -> None:
    assert _render(RECORD) == _render(RECORD)


def test_the_platform_seal_is_an_organisation_certificate_of_the_test_pki(
    test_pki: TestPKI,
) -> None:
    certificate = test_pki.signer(PLATFORM_SEAL).signing_cert

    assert test_pki.p12_path(PLATFORM_SEAL).is_file()
    assert PLATFORM_SEAL not in test_pki.signer_names  # not a supplier
    assert certificate is not None
    assert certificate.key_usage_value.native == {"digital_signature", "non_repudiation"}
    assert certificate.issuer == test_pki.certificate("interm").subject


def test_the_sealed_record_verifies_as_the_platform(served: ServedPKI, sealed: bytes) -> None:
    asked_before = len(served.requests)

    report = _verify(sealed, served)

    assert (report.indication, report.sub_indication) == (Indication.TOTAL_PASSED, None)
    platform = x509.load_der_x509_certificate(served.pki.certificate(PLATFORM_SEAL).dump())
    assert report.signer_subject == platform.subject.rfc4514_string()
    tsa = x509.load_der_x509_certificate(served.pki.certificate("tsa").dump())
    assert report.signatures[0].timestamp_authority == tsa.subject.rfc4514_string()
    # The seal certificate's revocation status was really asked, not skipped.
    ocsp = f"POST /{served.pki.architecture.arch_label}/ocsp/interm"
    assert ocsp in served.requests[asked_before:]


def test_pyhanko_validates_the_seal(served: ServedPKI, sealed: bytes, tmp_path: Path) -> None:
    result = _pyhanko_validate(sealed, served, tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{SEAL_FIELD_NAME}:" in result.stdout
    assert ":VALID" in result.stdout


def test_one_changed_byte_breaks_the_seal(served: ServedPKI, sealed: bytes, tmp_path: Path) -> None:
    tampered = bytearray(sealed)
    # The rendered document's /Title key: bytes the seal covers, and the PDF still parses.
    position = sealed.index(b"/Title")
    tampered[position + 1] ^= 0x20  # /Title -> /title

    report = _verify(bytes(tampered), served)

    assert report.indication is not Indication.TOTAL_PASSED
    assert _pyhanko_validate(bytes(tampered), served, tmp_path).returncode != 0


def _certificate(served: ServedPKI, name: str) -> Any:
    return served.pki.certificate(name)


def test_the_seal_carries_its_revocation_data_and_time_stamps(
    served: ServedPKI, sealed: bytes
) -> None:
    reader = PdfFileReader(BytesIO(sealed))
    seal, *after = reader.embedded_signatures

    # B-T: the seal has a signature time-stamp.
    assert seal.field_name == SEAL_FIELD_NAME
    unsigned = [attribute["type"].native for attribute in seal.signer_info["unsigned_attrs"]]
    assert unsigned == ["signature_time_stamp_token"]
    # B-LT: the DSS says the seal certificate and its issuing CA were not revoked.
    dss = read_dss(reader)
    for name in (PLATFORM_SEAL, "interm"):
        evidence = evidence_for(_certificate(served, name), [dss])
        assert evidence, f"no revocation data about {name} in the DSS"
        assert {item.status for item in evidence} == {"good"}
    assert any(
        item.kind == "OCSP" for item in evidence_for(_certificate(served, PLATFORM_SEAL), [dss])
    )
    # B-LTA: a document time-stamp covers the DSS.
    assert [signature.sig_object_type for signature in after] == ["/DocTimeStamp"]


def _validate_long_term(
    pdf: bytes, served: ServedPKI, at: datetime, *extra: crl.CertificateList
) -> Any:
    """ETSI EN 319 102-1 long-term validation (pyHanko's PAdES-LTA process) as of ``at``,
    from what is in the file plus ``extra`` CRLs, never fetching anything, requiring
    revocation data for every certificate that declares where its status is published
    (what ``pyhanko sign validate`` calls its default, hard-fail, checking)."""
    declared = RevocationCheckingRule.CHECK_IF_DECLARED
    spec = PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build([_certificate(served, "root")]),
                revinfo_policy=CertRevTrustPolicy(RevocationCheckingPolicy(declared, declared)),
            ),
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY,
                certificate_fetching_rule=CertificateFetchingRule.NEVER_FETCH,
            ),
            local_knowledge=LocalKnowledge(known_crls=[CRLContainer(c) for c in extra]),
        ),
        diff_policy=DEFAULT_DIFF_POLICY,
    )
    (seal,) = PdfFileReader(BytesIO(pdf)).embedded_regular_signatures
    timing = ValidationTimingInfo(at, at, point_in_time_validation=False)
    return asyncio.run(ades_lta_validation(seal, spec, timing_info=timing))


def test_the_seal_validates_from_its_own_data(served: ServedPKI, sealed: bytes) -> None:
    result = _validate_long_term(sealed, served, datetime.now(UTC))

    assert result.ades_subindic is AdESPassed.OK, result.failure_msg


def test_the_seal_validates_after_its_certificate_expired(served: ServedPKI, sealed: bytes) -> None:
    seal_expiry = _certificate(served, PLATFORM_SEAL).not_valid_after
    years_later = seal_expiry + timedelta(days=365)
    # The one thing a validator then asks the world: the current status of the authority
    # that made the last document time-stamp (its root's CRL of that day).
    current_arl = crl.CertificateList.load(served.pki.crl(years_later, "root"))

    result = _validate_long_term(sealed, served, years_later, current_arl)

    assert result.ades_subindic is AdESPassed.OK, result.failure_msg
    assert result.best_signature_time < seal_expiry


def test_pyhanko_validates_the_seal_with_the_services_gone(tmp_path: Path) -> None:
    with serve_pki(tmp_path / "pki") as elsewhere:
        sealed = _seal(elsewhere, _platform_trust(elsewhere))
        asked = len(elsewhere.requests)
    path = tmp_path / "record.pdf"
    path.write_bytes(sealed)
    root = elsewhere.pki.trust_dir / "root.pem"

    # The OCSP responder, CRLs and TSA no longer answer; pyHanko's AdES validator requires
    # revocation data for every certificate of every path, and finds it in the file.
    result = subprocess.run(
        [
            PYHANKO,
            "sign",
            "adesverify",
            "--trust",
            root,
            "--trust-replace",
            "--executive-summary",
            path,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert asked > 0  # the seal's revocation data was fetched when it was made
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{SEAL_FIELD_NAME}:" in result.stdout
    assert ":VALID" in result.stdout


def test_a_seal_whose_chain_the_trust_store_does_not_know_is_still_written(
    served: ServedPKI, caplog: pytest.LogCaptureFixture
) -> None:
    strangers = TrustStore.from_certificates([_certificate(served, "untrusted-root")])

    with caplog.at_level(logging.ERROR, logger="tender.opening.record_pdf"):
        sealed = _seal(served, strangers)

    report = _verify(sealed, served)
    assert (report.indication, report.sub_indication) == (Indication.TOTAL_PASSED, None)
    assert report.signatures[0].timestamp_time is not None  # still B-T
    assert "without long-term validation data" in caplog.text
