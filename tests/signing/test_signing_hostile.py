"""Hostile and edge inputs: each gets a report with an exact verdict, none raises."""

from __future__ import annotations

import re
import resource
import tracemalloc
import zlib
from collections.abc import Callable
from io import BytesIO

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PageObject, copy_into_new_writer
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner

from tender.signing import DocumentReport, Indication, SubIndication, signed_revision_length
from tender.signing.signer import sign_pdf
from tender.signing.testing import TestPKI, make_pdf, signed_pdf
from tender.signing.testing.documents import pdf_from_objects

Verify = Callable[..., DocumentReport]
FAILED = Indication.TOTAL_FAILED


def _verdict(report: DocumentReport) -> tuple[Indication, SubIndication | None]:
    return report.indication, report.sub_indication


def _update(data: bytes, change: Callable[[IncrementalPdfFileWriter], None]) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(data))
    change(writer)
    output = BytesIO()
    writer.write(output)
    return output.getvalue()


def _add_annotation(writer: IncrementalPdfFileWriter) -> None:
    page_ref = writer.root["/Pages"]["/Kids"].raw_get(0)
    note = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Annot"),
            generic.NameObject("/Subtype"): generic.NameObject("/FreeText"),
            generic.NameObject("/Rect"): generic.ArrayObject(
                [generic.NumberObject(n) for n in (72, 700, 300, 720)]
            ),
            generic.NameObject("/Contents"): generic.TextStringObject("Price: 1 NTD"),
            generic.NameObject("/P"): page_ref,
        }
    )
    page_ref.get_object()["/Annots"] = generic.ArrayObject([writer.add_object(note)])
    writer.mark_update(page_ref)


def _add_page(writer: IncrementalPdfFileWriter) -> None:
    content = writer.add_object(generic.StreamObject(stream_data=b"BT ET"))
    box = generic.ArrayObject([generic.NumberObject(n) for n in (0, 0, 595, 842)])
    writer.insert_page(PageObject(contents=content, media_box=box))


def _remove_page(writer: IncrementalPdfFileWriter) -> None:
    pages = writer.root["/Pages"]
    pages["/Kids"] = generic.ArrayObject()
    pages["/Count"] = generic.NumberObject(0)
    writer.update_container(pages)


@pytest.mark.parametrize(
    "change",
    [_add_annotation, _add_page, _remove_page],
    ids=["annotation", "page-added", "page-removed"],
)
def test_incremental_update_after_signing_fails(
    pki: TestPKI, verify: Verify, change: Callable[[IncrementalPdfFileWriter], None]
) -> None:
    report = verify(_update(signed_pdf(pki, "supplier-a", "Bid"), change))

    assert _verdict(report) == (FAILED, SubIndication.MODIFIED_AFTER_SIGNING)
    assert report.signatures[0].intact is True
    assert report.signatures[0].modification_level == "OTHER"


def test_bytes_after_the_last_eof_fail(pki: TestPKI, verify: Verify) -> None:
    data = signed_pdf(pki, "supplier-a", "Bid")

    appended = verify(data + b"Price: 1 NTD\n")
    whitespace = verify(data + b"\r\n \n")

    assert _verdict(appended) == (FAILED, SubIndication.MODIFIED_AFTER_SIGNING)
    assert "appended to the file after it was signed" in appended.message_en
    # The signature itself is fine; the document is refused as a whole.
    assert appended.signatures[0].indication is Indication.TOTAL_PASSED
    assert _verdict(whitespace) == (Indication.TOTAL_PASSED, None)


def _encrypted_and_signed(pki: TestPKI, user_password: str, signer: str = "supplier-a") -> bytes:
    """A PDF encrypted with owner password "owner" and ``user_password`` (the one needed to
    open it; empty: none needed, as many tools save files), then signed."""
    writer = copy_into_new_writer(PdfFileReader(BytesIO(make_pdf("Secret bid"))))
    writer.encrypt("owner", user_password)
    encrypted = BytesIO()
    writer.write(encrypted)
    incremental = IncrementalPdfFileWriter(encrypted)
    incremental.encrypt("owner")
    signed = BytesIO()
    metadata = PdfSignatureMetadata(field_name="Signature1", md_algorithm="sha256")
    PdfSigner(metadata, signer=pki.signer(signer)).sign_pdf(incremental, output=signed)
    return signed.getvalue()


def test_encrypted_pdf_that_opens_without_a_password_is_validated(
    pki: TestPKI, verify: Verify
) -> None:
    signed = _encrypted_and_signed(pki, user_password="")
    assert PdfFileReader(BytesIO(signed)).encrypted

    report = verify(signed)

    assert _verdict(report) == (Indication.TOTAL_PASSED, None)
    (signature,) = report.signatures
    assert (signature.intact, signature.crypto_valid, signature.trusted) == (True, True, True)
    assert report.signer_subject == r"CN=Supplier A,O=Supplier A Co.\, Ltd.,C=TW"
    assert report.encrypted is True
    (note,) = report.notes
    assert note.code == "DECRYPTED"
    assert "opened it with the empty password" in note.message_en
    assert "以空白密碼開啟" in note.message_zh


def test_encrypted_pdf_that_opens_without_a_password_is_still_judged(
    pki: TestPKI, verify: Verify
) -> None:
    def add_page_as_reader(writer: IncrementalPdfFileWriter) -> None:
        writer.encrypt("")  # anyone can open it, so anyone can change it
        _add_page(writer)

    tampered = _update(_encrypted_and_signed(pki, user_password=""), add_page_as_reader)

    report = verify(tampered)

    assert _verdict(report) == (FAILED, SubIndication.MODIFIED_AFTER_SIGNING)
    assert report.signatures[0].intact is True


def test_encrypted_pdf_that_needs_a_password_is_refused(pki: TestPKI, verify: Verify) -> None:
    report = verify(_encrypted_and_signed(pki, user_password="open sesame"))

    assert _verdict(report) == (FAILED, SubIndication.FORMAT_FAILURE)
    assert report.encrypted is True
    assert report.signatures == ()
    assert "can only be opened with a password" in report.message_en
    assert "須輸入密碼方可開啟" in report.message_zh
    assert report.notes == ()


def test_sha1_digest_is_a_crypto_constraints_failure(pki: TestPKI, verify: Verify) -> None:
    signed = BytesIO()
    metadata = PdfSignatureMetadata(field_name="Signature1", md_algorithm="sha1")
    PdfSigner(metadata, signer=pki.signer("supplier-a")).sign_pdf(
        IncrementalPdfFileWriter(BytesIO(make_pdf("Bid"))), output=signed
    )

    report = verify(signed.getvalue())

    assert _verdict(report) == (
        Indication.INDETERMINATE,
        SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
    )


def _with_byte_range(data: bytes, change: Callable[[list[int]], list[int]]) -> bytes:
    match = re.search(rb"/ByteRange \[([\d ]+)\]", data)
    assert match is not None
    numbers = change([int(n) for n in match.group(1).split()])
    # Same length as before, so that every offset in the file stays right.
    text = " ".join(str(n) for n in numbers).encode().ljust(len(match.group(1)))
    return data[: match.start(1)] + text + data[match.end(1) :]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # The first range reaches into the signature container.
        (lambda r: [r[0], r[1] + 20, r[2], r[3]], (FAILED, SubIndication.HASH_FAILURE)),
        # The ranges leave the end of the file unsigned.
        (lambda r: [r[0], r[1], r[2], r[3] - 20], (FAILED, SubIndication.HASH_FAILURE)),
        # The second range starts before the first ends.
        (lambda r: [r[0], r[1], r[1] - 20, r[3] + 20], (FAILED, SubIndication.HASH_FAILURE)),
    ],
    ids=["into-contents", "short-of-end", "overlapping"],
)
def test_tampered_byte_range_fails(
    pki: TestPKI,
    verify: Verify,
    change: Callable[[list[int]], list[int]],
    expected: tuple[Indication, SubIndication],
) -> None:
    report = verify(_with_byte_range(signed_pdf(pki, "supplier-a", "Bid"), change))

    assert _verdict(report) == expected


def test_zeroed_signature_contents_is_format_failure(pki: TestPKI, verify: Verify) -> None:
    data = signed_pdf(pki, "supplier-a", "Bid")
    start = data.index(b"/Contents <") + len(b"/Contents <")
    end = data.index(b">", start)

    report = verify(data[:start] + b"0" * (end - start) + data[end:])

    assert _verdict(report) == (FAILED, SubIndication.FORMAT_FAILURE)


def _fill_text_field(writer: IncrementalPdfFileWriter) -> None:
    field = writer.root["/AcroForm"]["/Fields"][0].get_object()
    field["/V"] = generic.TextStringObject("9000 NTD")
    writer.update_container(field)


def _with_text_field(data: bytes) -> bytes:
    def add(writer: IncrementalPdfFileWriter) -> None:
        field = generic.DictionaryObject(
            {
                generic.NameObject("/FT"): generic.NameObject("/Tx"),
                generic.NameObject("/T"): generic.TextStringObject("Price"),
                generic.NameObject("/V"): generic.TextStringObject("1000 NTD"),
            }
        )
        writer.root["/AcroForm"] = generic.DictionaryObject(
            {generic.NameObject("/Fields"): generic.ArrayObject([writer.add_object(field)])}
        )
        writer.update_root()

    return _update(data, add)


def _cosign(data: bytes, pki: TestPKI, signer: str) -> bytes:
    output = BytesIO()
    sign_pdf(BytesIO(data), output, pki.signer(signer), field_name="Director2")
    return output.getvalue()


def test_co_signed_bid_passes_when_both_signatures_pass(pki: TestPKI, verify: Verify) -> None:
    report = verify(_cosign(signed_pdf(pki, "supplier-a", "Joint bid"), pki, "supplier-b"))

    assert _verdict(report) == (Indication.TOTAL_PASSED, None)
    assert [s.field_name for s in report.signatures] == ["Signature1", "Director2"]
    assert report.signatures[0].modification_level == "FORM_FILLING"


def test_co_signed_bid_fails_if_a_form_field_changed_between_signatures(
    pki: TestPKI, verify: Verify
) -> None:
    first = BytesIO()
    sign_pdf(BytesIO(_with_text_field(make_pdf("Joint bid"))), first, pki.signer("supplier-a"))
    changed = _update(first.getvalue(), _fill_text_field)

    report = verify(_cosign(changed, pki, "supplier-b"))

    assert _verdict(report) == (FAILED, SubIndication.MODIFIED_AFTER_SIGNING)
    assert [s.indication for s in report.signatures] == [FAILED, Indication.TOTAL_PASSED]


def test_second_signature_invalid_fails_the_document(pki: TestPKI, verify: Verify) -> None:
    report = verify(
        _cosign(signed_pdf(pki, "supplier-a", "Joint bid"), pki, "supplier-not-yet-valid")
    )

    assert [s.indication for s in report.signatures] == [Indication.TOTAL_PASSED, FAILED]
    assert _verdict(report) == (FAILED, SubIndication.NOT_YET_VALID)


def test_second_signature_unreadable_fails_the_document(pki: TestPKI, verify: Verify) -> None:
    data = _cosign(signed_pdf(pki, "supplier-a", "Joint bid"), pki, "supplier-b")
    start = data.rindex(b"/Contents <") + len(b"/Contents <")

    report = verify(data[:start] + b"0" * 64 + data[start + 64 :])

    assert _verdict(report) == (FAILED, SubIndication.FORMAT_FAILURE)


def test_decompression_bomb_is_refused_fast(pki: TestPKI, verify: Verify) -> None:
    # 512 MiB of zeros behind two layers of Flate: a few hundred bytes in the file.
    bomb = zlib.compress(zlib.compress(bytes(512 * 1024 * 1024), 9), 9)

    def add_bomb(writer: IncrementalPdfFileWriter) -> None:
        stream = generic.StreamObject(
            {
                generic.NameObject("/Filter"): generic.ArrayObject(
                    [generic.NameObject("/FlateDecode")] * 2
                )
            },
            encoded_data=bomb,
        )
        page_ref = writer.root["/Pages"]["/Kids"].raw_get(0)
        page_ref.get_object()["/Contents"] = writer.add_object(stream)
        writer.mark_update(page_ref)

    data = _update(signed_pdf(pki, "supplier-a", "Bid"), add_bomb)

    report = verify(data)  # what it costs is bench/verify.py's to say; here, that it ends

    assert _verdict(report) == (FAILED, SubIndication.MODIFIED_AFTER_SIGNING)


MiB = 1024 * 1024


def _deflated_zeros(size: int, chunk: int = 16 * MiB) -> bytes:
    """A valid zlib stream of ``size`` zeros (a multiple of ``chunk``), built without
    ever holding them: after a full flush the compressor starts afresh, so every chunk
    compresses to the same bytes, and the Adler-32 of n zeros is (n mod 65521) << 16 | 1."""
    compressor = zlib.compressobj(9)
    first = compressor.compress(bytes(chunk)) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(bytes(chunk)) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert again == first[2:]  # the same deflate blocks, without the zlib header
    checksum = ((size % 65521) << 16) | 1
    # b"\x03\x00": an empty final block (fixed Huffman codes), then the checksum.
    return first + again * (size // chunk - 1) + b"\x03\x00" + checksum.to_bytes(4, "big")


def _pdf_with_content(encoded: bytes) -> bytes:
    # Like make_pdf, but the page content is ``encoded`` behind /FlateDecode.
    return pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n%b\nendstream"
            % (len(encoded), encoded),
        ]
    )


def test_decompression_bomb_in_the_signed_revision_is_never_inflated(
    pki: TestPKI, verify: Verify
) -> None:
    # The signed page content inflates to 4 GiB of zeros from 4 MB in the file. Nothing
    # in validation reads page content (pyHanko 0.38 measured: 0.08 s, under 1 MiB
    # allocated), and pyHanko's decode limits (256 MiB a stream, a budget per document)
    # would stop it if anything did. The signature itself is good, so the bid passes.
    bomb = _deflated_zeros(4 * 1024 * MiB)
    assert len(bomb) < 5 * MiB
    signed = BytesIO()
    sign_pdf(BytesIO(_pdf_with_content(bomb)), signed, pki.signer("supplier-a"))
    peak_rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    try:
        report = verify(signed.getvalue())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # Never inflated: 4 GiB would show in the memory peak (the time it takes is no test).
    assert peak < 200 * MiB
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_rss_kib < 200 * 1024
    assert _verdict(report) == (Indication.TOTAL_PASSED, None)
    assert report.signatures[0].coverage == "ENTIRE_FILE"


def test_signed_revision_length_is_what_the_last_signature_covers(pki: TestPKI) -> None:
    signed = signed_pdf(pki, "supplier-a", "Bid")
    cosigned = _cosign(signed, pki, "supplier-b")
    annotated = _update(cosigned, _add_annotation)

    assert signed_revision_length(BytesIO(signed)) == len(signed)
    assert signed_revision_length(BytesIO(annotated)) == len(cosigned)
    assert signed_revision_length(BytesIO(make_pdf("Unsigned"))) is None
    assert signed_revision_length(BytesIO(b"not a pdf")) is None
