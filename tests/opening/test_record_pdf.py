"""The opening record PDF: what a person reads in it, and the platform's seal on it.

The seal is checked the way an outsider would: with our own ``verify_document`` and with the
``pyhanko sign validate`` command, both fetching the seal certificate's revocation status from
the test PKI's OCSP responder, served for real on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps import HTTPTimeStamper

from tender.opening.record_pdf import SEAL_FIELD_NAME, render_record_pdf, seal_record_pdf
from tender.signing import DocumentReport, Indication, TrustStore, verify_document
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
    """Every string the pages show, one per line, in drawing order.

    Enough for the standard fonts, whose text is drawn as literal strings (``(...) Tj``) in
    the Windows-1252 encoding; pyHanko decompresses the content streams.
    """
    reader = PdfFileReader(BytesIO(pdf))
    lines: list[str] = []
    for page in reader.root["/Pages"]["/Kids"]:
        content = page.get_object()["/Contents"].get_object().data
        for literal in re.findall(rb"\(((?:[^()\\]|\\.)*)\)\s*Tj", content):
            unescaped = re.sub(rb"\\(.)", rb"\1", literal)
            lines.append(unescaped.decode("windows-1252"))
    return "\n".join(lines)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedPKI]:
    with serve_pki(tmp_path_factory.mktemp("served-pki")) as served:
        yield served


@pytest.fixture(scope="module")
def sealed(served: ServedPKI) -> bytes:
    """The record sealed by the platform, time-stamped by the served TSA (PAdES B-T)."""
    output = BytesIO()
    seal_record_pdf(
        BytesIO(_render(RECORD)),
        output,
        served.pki.signer(PLATFORM_SEAL),
        timestamper=HTTPTimeStamper(served.tsa_url),
    )
    return output.getvalue()


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

    assert "Opening record" in text
    assert "T-2026-042" in text
    assert "Road resurfacing, lot 3" in text
    assert "2026-11-27 12:00:00.000000 UTC" in text  # the deadline
    assert "2026-11-27 12:00:03.250000 UTC" in text  # the opening finished
    for bid in RECORD["bids"]:
        assert bid["receipt_sha256"] in text
        assert bid["indication"] in text
        assert bid["reason"] in text
        if bid["sub_indication"]:
            assert bid["sub_indication"] in text
    assert _sha256("something else") in text  # the hash found at opening, where it differs
    assert "Société Générale de Travaux" in text  # Latin-1 is shown as it is
    for label, count in [("Documents", 3), ("Passed", 1), ("Failed", 1), ("Indeterminate", 1)]:
        assert f"{label}\n{count}" in text
    assert RECORD["audit_head"]["hash"] in text
    assert "— tender.example/log AbCd==" in text  # the checkpoint's signed note, verbatim
    assert "2004 characters" in text  # its token, summarised
    assert _sha256(TOKEN) in text
    assert TOKEN[:100] not in text


def test_a_chinese_name_is_transliterated_and_said_so() -> None:
    text = _text(_render(RECORD))

    assert "Tai Wan Dao Lu Gong Cheng" in text
    assert "Transliterated to Latin letters" in text


def test_an_opening_without_bids_or_checkpoint_renders() -> None:
    text = _text(_render(_record([])))

    assert "No bid document was submitted." in text
    assert "Documents\n0" in text
    assert "Checkpoint" not in text
    assert "Transliterated" not in text


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
