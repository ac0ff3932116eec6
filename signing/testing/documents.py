"""Small PDFs to sign and verify in tests and the demo."""

from __future__ import annotations

import hashlib
from io import BytesIO

from tender.signing.signer import async_sign_pdf, sign_pdf
from tender.signing.testing.pki import TestPKI

__all__ = ["async_signed_pdf", "make_pdf", "pdf_from_objects", "signed_pdf"]


def _literal(line: str) -> bytes:
    # PDF literal string: backslash and parentheses must be escaped. The built-in Helvetica
    # font only knows Latin-1, so anything else is drawn as "?".
    escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + escaped.encode("latin-1", errors="replace") + b")"


def make_pdf(text: str) -> bytes:
    """A one-page A4 PDF showing ``text`` (one line per line of text) in Helvetica.

    The same text always gives the same bytes. The page content is stored uncompressed, so
    tests can find the text in the file. Characters outside Latin-1 are drawn as ``?``.
    """
    lines = b" Tj T* ".join(_literal(line) for line in text.split("\n"))
    content = b"BT /F1 12 Tf 16 TL 72 770 Td " + lines + b" Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]"
        b" /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%b\nendstream" % (len(content), content),
    ]
    return pdf_from_objects(objects, file_id=hashlib.md5(content, usedforsecurity=False).digest())


def pdf_from_objects(objects: list[bytes], *, file_id: bytes | None = None) -> bytes:
    """A classic PDF file (header, ``objects`` numbered from 1, xref table, trailer).

    Object 1 must be the catalog. Written by hand (it is that small) so that the bytes are
    plain and predictable; tests use it to build exactly the file they need.
    """
    pdf = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%b\nendobj\n" % (number, body)
    xref_offset = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    identifier = b""
    if file_id is not None:
        hex_id = file_id.hex().encode()
        identifier = b" /ID [<%b> <%b>]" % (hex_id, hex_id)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R%b >>\n" % (len(objects) + 1, identifier)
    pdf += b"startxref\n%d\n%%%%EOF\n" % xref_offset
    return bytes(pdf)


def signed_pdf(pki: TestPKI, signer_name: str, text: str) -> bytes:
    """:func:`make_pdf` of ``text``, signed (PAdES, now) by ``signer_name`` of ``pki``.

    Runs its own event loop; from async code use :func:`async_signed_pdf`.
    """
    output = BytesIO()
    sign_pdf(BytesIO(make_pdf(text)), output, pki.signer(signer_name))
    return output.getvalue()


async def async_signed_pdf(pki: TestPKI, signer_name: str, text: str) -> bytes:
    """:func:`signed_pdf` for async code."""
    output = BytesIO()
    await async_sign_pdf(BytesIO(make_pdf(text)), output, pki.signer(signer_name))
    return output.getvalue()
