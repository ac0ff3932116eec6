"""A bid file's receipt as a PDF a person can file, with the signed receipt inside.

The PDF shows what the platform signed (the payload of the receipt's JWS, never values from
elsewhere) in the words ``tender submit`` prints, and carries the signed receipt as an attached
``receipt.json`` that ``tender receipt verify`` checks offline: the printed page is for people,
the attachment is the proof.

Like the opening record's PDF it uses only the PDF standard fonts, which cannot show Chinese:
the labels are in English, other text in Chinese is transliterated to Latin letters and marked,
and the attached JSON holds every text exactly (the pre-check's message in Chinese too). A font
with Chinese glyphs would have to be shipped with the platform to do better.
"""

from __future__ import annotations

import json
from datetime import datetime
from io import BytesIO
from typing import Any, Final

from anyascii import anyascii
from fpdf import FPDF

from tender.bids.receipts import in_words
from tender.i18n import ENGLISH, use_locale
from tender.verifier.jws import b64url_decode

__all__ = ["ATTACHMENT_NAME", "render_receipt_pdf", "signed_values"]

ATTACHMENT_NAME: Final = "receipt.json"
_ENCODING: Final = "windows-1252"  # what fpdf2 writes standard-font text in
_TRANSLITERATED: Final = "*"
_LABEL_WIDTH: Final = 38  # millimetres


def signed_values(signed_receipt: str) -> dict[str, Any]:
    """The payload of a receipt's compact JWS: the values the platform signed. (Whether the
    signature holds is for ``tender receipt verify``; the platform reads its own.)"""
    payload: dict[str, Any] = json.loads(b64url_decode(signed_receipt.split(".")[1]))
    return payload


def render_receipt_pdf(signed_receipt: str) -> bytes:
    """The PDF of a signed receipt; the same receipt always gives the same bytes, in English
    whatever the language of the request that made it (its fonts cannot show Chinese)."""
    with use_locale(ENGLISH):
        return _render(signed_receipt)


def _render(signed_receipt: str) -> bytes:
    values = signed_values(signed_receipt)
    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = _ENCODING
    pdf.set_creation_date(_received(values))
    pdf.set_title(f"Receipt {values['receipt_id']}")
    pdf.set_author("Tender platform")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(text="Receipt for a bid file", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(
        0,
        5,
        "The platform received this file in full at the time below. The receipt it signed is "
        f"attached to this PDF as {ATTACHMENT_NAME}; anyone can check it offline with "
        f"'tender receipt verify {ATTACHMENT_NAME} --key platform.pub --file YOUR-FILE'.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(3)
    transliterated = False
    rows = [
        ("Supplier", f"{values['supplier']} ({values['supplier_organisation']})"),
        *in_words(values),
        ("Audit log entry", f"#{values['audit_seq']} (hash {values['audit_hash']})"),
    ]
    for label, value in rows:
        text, changed = _showable(value)
        if changed and _is_mostly_chinese(value):
            continue  # a Chinese message is in the attachment; transliterated it helps nobody
        transliterated |= changed
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(_LABEL_WIDTH, 5, _showable(label)[0])
        pdf.set_font("Courier" if label == "SHA-256" else "Helvetica", "", 9)
        pdf.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", "", 8)
    notes = [
        "Chinese text cannot be shown with this PDF's fonts; the attached receipt holds it "
        "exactly, including the pre-check's message in Traditional Chinese."
    ]
    if transliterated:
        notes.append(f"{_TRANSLITERATED} Transliterated to Latin letters.")
    for note in notes:
        pdf.multi_cell(0, 4, note, new_x="LMARGIN", new_y="NEXT")
    pdf.embed_file(
        bytes=(json.dumps({**values, "signed_receipt": signed_receipt}, indent=2) + "\n").encode(),
        basename=ATTACHMENT_NAME,
        modification_date=_received(values),
        mime_type="application/json",
        desc="The signed receipt: check it with 'tender receipt verify'.",
    )
    output = BytesIO()
    pdf.output(output)
    return output.getvalue()


def _received(values: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(values["received_at"]))


def _showable(text: str) -> tuple[str, bool]:
    """``text`` as the standard fonts can show it, and whether it had to be transliterated."""
    try:
        text.encode(_ENCODING)
    except UnicodeEncodeError:
        return f"{anyascii(text)}{_TRANSLITERATED}", True
    return text, False


def _is_mostly_chinese(text: str) -> bool:
    han = sum(1 for c in text if "\u3000" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef")
    return han * 2 > len(text.replace(" ", ""))
