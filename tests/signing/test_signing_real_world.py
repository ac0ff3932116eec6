"""PDFs as real signers write them, and signatures judged on what was signed.

Two promises: a file that every PDF viewer reads is read (leniently, and the report says
so), and what a signature *is* — intact, with a valid signature value — is reported
whatever a later stage (certificate path, revocation, the ETSI process, the difference
analysis) could or could not establish. The files are made here, by hand, with the faults
real tools leave in them.
"""

from __future__ import annotations

import asyncio
import re
import struct
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfStrictReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PageObject
from pyhanko.sign.diff_analysis.policies import StandardDiffPolicy
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner
from pyhanko.sign.validation import ades as pyhanko_ades
from pyhanko.sign.validation import generic_cms
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator import validate as certvalidator_validate
from pyhanko_certvalidator.registry import PathBuilder

from tender.signing import (
    DocumentReport,
    Indication,
    SignatureReport,
    Stage,
    SubIndication,
    TrustStore,
    async_verify_document,
    signed_revision_length,
    verify_document,
)
from tender.signing.signer import sign_detached, sign_pdf
from tender.signing.testing import TestPKI, signed_pdf

Verify = Callable[..., DocumentReport]
PASSED = (Indication.TOTAL_PASSED, None)
UNFINISHED = (Indication.INDETERMINATE, SubIndication.GENERIC)
CLOSED_PORT = "127.0.0.1:9"  # the discard port: nothing listens, connections are refused


def _verdict(report: DocumentReport | SignatureReport) -> tuple[Indication, SubIndication | None]:
    return report.indication, report.sub_indication


def _established(signature: SignatureReport) -> tuple[bool, bool]:
    return signature.intact, signature.crypto_valid


# ---- files with the faults real signers leave -------------------------------------------


def _classic_pdf(objects: list[tuple[int, bytes]]) -> bytes:
    """A PDF of ``objects`` (generation, body), numbered from 1, with a classic xref table
    whose entries carry those generations."""
    pdf = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    entries = []
    for number, (generation, body) in enumerate(objects, start=1):
        entries.append(b"%010d %05d n \n" % (len(pdf), generation))
        pdf += b"%d %d obj\n%b\nendobj\n" % (number, generation, body)
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(entries)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    pdf += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(pdf)


def _page_objects(font: bytes) -> list[tuple[int, bytes]]:
    content = b"BT /F1 12 Tf 72 770 Td (Bid of Supplier A) Tj ET"
    return [
        (0, b"<< /Type /Catalog /Pages 2 0 R >>"),
        (0, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
        (
            0,
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]"
            b" /Resources << /Font << /F1 " + font + b" >> >> /Contents 5 0 R >>",
        ),
        (0, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"),
        (0, b"<< /Length %d >>\nstream\n%b\nendstream" % (len(content), content)),
    ]


def orphaned_generation_pdf() -> bytes:
    """The fault a common desktop signer leaves: object 4 is generation 1 in its header, its
    references and its xref entry, but no earlier revision ever freed generation 0."""
    objects = _page_objects(b"4 1 R")
    objects[3] = (1, objects[3][1])
    return _classic_pdf(objects)


def hybrid_reference_pdf() -> bytes:
    """A hybrid-reference file (as MS Word writes them): a classic xref table whose trailer
    also points (/XRefStm) to a cross-reference stream, here one listing itself."""
    objects = _page_objects(b"4 0 R")
    pdf = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, (_, body) in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%b\nendobj\n" % (number, body)
    stream_number, stream_offset = len(objects) + 1, len(pdf)
    offsets.append(stream_offset)
    entry = struct.pack(">BIH", 1, stream_offset, 0)  # type 1: in use, at this offset
    pdf += (
        b"%d 0 obj\n<< /Type /XRef /Size %d /Index [%d 1] /W [1 4 2] /Length %d >>\n"
        b"stream\n%b\nendstream\nendobj\n"
        % (stream_number, stream_number + 1, stream_number, len(entry), entry)
    )
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (stream_number + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R /XRefStm %d >>\n" % (stream_number + 1, stream_offset)
    pdf += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(pdf)


def sign_leniently(pdf: bytes, pki: TestPKI, signer: str = "supplier-a") -> bytes:
    """Sign a PDF that pyHanko's strict reader refuses, as the signer's own tool would."""
    output = BytesIO()
    metadata = PdfSignatureMetadata(field_name="Signature1", md_algorithm="sha256")
    PdfSigner(metadata, signer=pki.signer(signer)).sign_pdf(
        IncrementalPdfFileWriter(BytesIO(pdf), strict=False), output=output
    )
    return output.getvalue()


def with_orphaned_generation_in_its_dss(signed: bytes, pki: TestPKI) -> bytes:
    """``signed``, then a validation-data update (a DSS, as signing tools add for long-term
    validation) whose DSS object is rewritten to generation 1 — in its header, its
    reference and its xref entry — after the fact, as a sloppy tool writes it."""
    stream = BytesIO(signed)
    signature = PdfFileReader(BytesIO(signed)).embedded_signatures[0]
    DocumentSecurityStore.add_dss(
        stream, signature.pkcs7_content, certs=[pki.certificate("interm")]
    )
    update = stream.getvalue()[len(signed) :]
    reference = re.search(rb"/DSS (\d+) 0 R", update)
    assert reference is not None
    number = reference.group(1)
    header = b"\n" + number + b" 0 obj\n"
    entry = b"%010d 00000 n " % (len(signed) + update.index(header) + 1)
    assert update.count(entry) == 1
    rewritten = (
        update.replace(b"/DSS " + number + b" 0 R", b"/DSS " + number + b" 1 R")
        .replace(header, b"\n" + number + b" 1 obj\n")
        .replace(entry, entry.replace(b" 00000 n", b" 00001 n"))
    )
    assert len(rewritten) == len(update)  # same length: every offset stays right
    return signed + rewritten


def _refused_by_the_strict_reader(pdf: bytes) -> None:
    with pytest.raises(PdfStrictReadError, match="orphaned generation"):
        PdfFileReader(BytesIO(pdf))


# ---- lenient reading --------------------------------------------------------------------


def test_object_generation_not_matching_its_xref_entry_is_read_leniently(
    pki: TestPKI, verify: Verify
) -> None:
    signed = sign_leniently(orphaned_generation_pdf(), pki)
    _refused_by_the_strict_reader(signed)

    report = verify(signed)

    assert _verdict(report) == PASSED
    assert report.lenient_parsing is True
    (signature,) = report.signatures
    assert (signature.intact, signature.crypto_valid, signature.trusted) == (True, True, True)
    assert signature.coverage == "ENTIRE_FILE"
    assert report.signer_subject == r"CN=Supplier A,O=Supplier A Co.\, Ltd.,C=TW"
    (note,) = report.notes
    assert note.code == "LENIENT_PARSING"
    assert "read it the way viewers do" in note.message_en
    assert "按閱讀程式的方式讀取檔案" in note.message_zh
    assert report.to_json()["lenient_parsing"] is True


def test_a_fault_in_a_later_validation_data_update_is_read_leniently(
    pki: TestPKI, verify: Verify
) -> None:
    faulty = with_orphaned_generation_in_its_dss(signed_pdf(pki, "supplier-a", "Bid"), pki)
    _refused_by_the_strict_reader(faulty)

    report = verify(faulty)

    assert _verdict(report) == PASSED
    assert report.lenient_parsing is True
    (signature,) = report.signatures
    assert _established(signature) == (True, True)
    assert (signature.coverage, signature.modification_level) == (
        "ENTIRE_REVISION",
        "LTA_UPDATES",
    )


def test_hybrid_reference_file_is_read_leniently(pki: TestPKI, verify: Verify) -> None:
    signed = sign_leniently(hybrid_reference_pdf(), pki)
    assert PdfFileReader(BytesIO(signed)).xrefs.hybrid_xrefs_present

    report = verify(signed)

    assert _verdict(report) == PASSED
    assert report.lenient_parsing is True
    assert _established(report.signatures[0]) == (True, True)


def test_a_strictly_readable_pdf_is_not_flagged(pki: TestPKI, verify: Verify) -> None:
    report = verify(signed_pdf(pki, "supplier-a", "Bid"))

    assert (report.lenient_parsing, report.notes) == (False, ())


def test_lenient_reading_still_sees_changes_after_signing(pki: TestPKI, verify: Verify) -> None:
    signed = sign_leniently(orphaned_generation_pdf(), pki)
    writer = IncrementalPdfFileWriter(BytesIO(signed), strict=False)
    content = writer.add_object(generic.StreamObject(stream_data=b"BT ET"))
    box = generic.ArrayObject([generic.NumberObject(n) for n in (0, 0, 595, 842)])
    writer.insert_page(PageObject(contents=content, media_box=box))
    changed = BytesIO()
    writer.write(changed)

    report = verify(changed.getvalue())

    assert _verdict(report) == (Indication.TOTAL_FAILED, SubIndication.MODIFIED_AFTER_SIGNING)
    assert report.lenient_parsing is True


def test_lenient_reading_still_sees_a_broken_hash(pki: TestPKI, verify: Verify) -> None:
    signed = sign_leniently(orphaned_generation_pdf(), pki)

    report = verify(signed.replace(b"Bid of Supplier A", b"Bid of Supplier B"))

    assert _verdict(report) == (Indication.TOTAL_FAILED, SubIndication.HASH_FAILURE)


def test_signed_revision_of_a_lenient_pdf_is_found(pki: TestPKI) -> None:
    signed = sign_leniently(orphaned_generation_pdf(), pki)

    assert signed_revision_length(BytesIO(signed)) == len(signed)


# ---- integrity and trust are separate findings ------------------------------------------


def test_unknown_authority_leaves_intact_and_valid(pki: TestPKI, verify: Verify) -> None:
    # What the held-out set showed: a hybrid-reference PDF from a national CA outside the
    # trust store used to come out INDETERMINATE / GENERIC with intact false.
    report = verify(sign_leniently(hybrid_reference_pdf(), pki, "untrusted-supplier"))

    assert _verdict(report) == (Indication.INDETERMINATE, SubIndication.NO_CERTIFICATE_CHAIN_FOUND)
    (signature,) = report.signatures
    assert (signature.intact, signature.crypto_valid, signature.trusted) == (True, True, False)
    assert (signature.coverage, signature.modification_level) == ("ENTIRE_FILE", "NONE")
    assert signature.unfinished_stage is None  # the path was searched: nothing unfinished
    assert "not issued by an authority this platform trusts" in report.message_en


@pytest.fixture(scope="module")
def unreachable_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    """A test PKI whose certificates name an OCSP responder and CRL on a closed port."""
    return TestPKI.create(
        tmp_path_factory.mktemp("unreachable-pki"), service_url=f"http://{CLOSED_PORT}"
    )


def _allowed_to_fetch(pki: TestPKI) -> TrustStore:
    return TrustStore.from_folder(pki.trust_dir, fetch_allowed_hosts=frozenset({CLOSED_PORT}))


def test_unreachable_revocation_service_is_named_not_a_failure(unreachable_pki: TestPKI) -> None:
    data = signed_pdf(unreachable_pki, "supplier-a", "Bid")

    report = verify_document(
        BytesIO(data), trust=_allowed_to_fetch(unreachable_pki), at=datetime.now(UTC)
    )

    # Soft fail: without evidence the signature passes, and the report says what is missing.
    assert _verdict(report) == PASSED
    (signature,) = report.signatures
    assert (signature.intact, signature.crypto_valid, signature.trusted) == (True, True, True)
    assert signature.revocation == ()
    assert signature.unfinished_stage is Stage.REVOCATION
    assert report.to_json()["signatures"][0]["unfinished_stage"] == "revocation"  # type: ignore[index]


def test_unreachable_revocation_service_for_a_detached_signature(unreachable_pki: TestPKI) -> None:
    content = b"item,price\nasphalt,1000\n"
    p7s = BytesIO()
    sign_detached(BytesIO(content), p7s, unreachable_pki.signer("supplier-a"))

    report = verify_document(
        BytesIO(content),
        detached_signature=BytesIO(p7s.getvalue()),
        trust=_allowed_to_fetch(unreachable_pki),
        at=datetime.now(UTC),
    )

    assert _verdict(report) == PASSED
    (signature,) = report.signatures
    assert _established(signature) == (True, True)
    assert signature.unfinished_stage is Stage.REVOCATION


def _raise(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected: this stage cannot finish")


async def _raise_async(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected: this stage cannot finish")


def _broken_path_builder(self: PathBuilder, *args: Any, **kwargs: Any) -> Iterator[Any]:
    raise RuntimeError("injected: path building cannot finish")


def _assert_unfinished(report: DocumentReport, stage: Stage) -> SignatureReport:
    assert _verdict(report) == UNFINISHED
    (signature,) = report.signatures
    assert _established(signature) == (True, True)
    assert signature.unfinished_stage is stage
    assert "intact and its value is valid" in signature.message_en
    assert "簽署值亦有效" in signature.message_zh
    assert "neither confirmed nor refused" in report.message_en
    return signature


def test_exception_while_building_the_path_keeps_what_was_established(
    pki: TestPKI, verify: Verify, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = signed_pdf(pki, "supplier-a", "Bid")
    monkeypatch.setattr(PathBuilder, "async_build_paths_lazy", _broken_path_builder)

    signature = _assert_unfinished(verify(data), Stage.CERTIFICATE_PATH)

    assert (signature.coverage, signature.modification_level) == ("ENTIRE_FILE", "NONE")
    assert signature.trusted is False
    assert "chain to a trusted certification authority" in signature.message_en


def test_exception_while_checking_revocation_keeps_what_was_established(
    pki: TestPKI, verify: Verify, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = signed_pdf(pki, "supplier-a", "Bid")
    monkeypatch.setattr(certvalidator_validate, "verify_ocsp_response", _raise_async)

    signature = _assert_unfinished(verify(data), Stage.REVOCATION)

    assert "whether the signing certificate had been revoked" in signature.message_en
    assert "是否已被撤銷" in signature.message_zh


def test_exception_in_the_etsi_process_keeps_what_was_established(
    pki: TestPKI, verify: Verify, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = signed_pdf(pki, "supplier-a", "Bid")
    monkeypatch.setattr(pyhanko_ades, "_process_basic_validation", _raise_async)

    signature = _assert_unfinished(verify(data), Stage.ADES)

    assert signature.trusted is True  # the classic status found the path


def test_exception_in_the_difference_analysis_keeps_what_was_established(
    pki: TestPKI, verify: Verify, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = signed_pdf(pki, "supplier-a", "Joint bid")
    cosigned = BytesIO()
    sign_pdf(BytesIO(first), cosigned, pki.signer("supplier-b"), field_name="Director2")
    monkeypatch.setattr(StandardDiffPolicy, "review_file", _raise)

    report = verify(cosigned.getvalue())

    assert _verdict(report) == UNFINISHED
    earlier, later = report.signatures
    assert _established(earlier) == (True, True)
    assert (earlier.unfinished_stage, earlier.coverage) == (
        Stage.MODIFICATION_ANALYSIS,
        "ENTIRE_REVISION",
    )
    assert earlier.modification_level is None  # not established
    assert "changed in the PDF after it was signed" in earlier.message_en
    # The last signature covers the whole file: nothing to analyse, nothing unfinished.
    assert (_verdict(later), later.unfinished_stage) == (PASSED, None)


def test_exception_in_a_detached_signatures_time_stamp_keeps_what_was_established(
    pki: TestPKI, trust: TrustStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = b"item,price\nasphalt,1000\n"
    p7s = BytesIO()
    sign_detached(BytesIO(content), p7s, pki.signer("supplier-a"))
    monkeypatch.setattr(generic_cms, "extract_tst_data_iter", _raise)

    report = verify_document(
        BytesIO(content),
        detached_signature=BytesIO(p7s.getvalue()),
        trust=trust,
        at=datetime.now(UTC),
    )

    _assert_unfinished(report, Stage.TIMESTAMP)


def test_exception_in_a_detached_signatures_etsi_process(
    pki: TestPKI, trust: TrustStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = b"item,price\nasphalt,1000\n"
    p7s = BytesIO()
    sign_detached(BytesIO(content), p7s, pki.signer("supplier-a"))
    monkeypatch.setattr(pyhanko_ades, "_process_basic_validation", _raise_async)

    report = asyncio.run(
        async_verify_document(
            BytesIO(content),
            detached_signature=BytesIO(p7s.getvalue()),
            trust=trust,
            at=datetime.now(UTC),
        )
    )

    _assert_unfinished(report, Stage.ADES)


def test_unreadable_validation_data_is_not_an_unreadable_pdf(pki: TestPKI, verify: Verify) -> None:
    # A DSS whose CRL entry is not a CRL: the signer's validation data is a help, not a
    # requirement, so the document is judged on the trust store's evidence.
    signed = signed_pdf(pki, "supplier-a", "Bid")
    writer = IncrementalPdfFileWriter(BytesIO(signed))
    broken = writer.add_object(generic.StreamObject(stream_data=b"not a CRL"))
    writer.root["/DSS"] = generic.DictionaryObject(
        {generic.NameObject("/CRLs"): generic.ArrayObject([broken])}
    )
    writer.update_root()
    output = BytesIO()
    writer.write(output)

    report = verify(output.getvalue())

    assert report.sub_indication is not SubIndication.FORMAT_FAILURE
    assert _established(report.signatures[0]) == (True, True)
