"""A bid file's receipt as a PDF a person can file, with the signed receipt inside.

The PDF shows what the platform signed (the payload of the receipt's JWS, never values from
elsewhere) in the words ``tender submit`` prints, in the reader's language, and carries the
signed receipt as an attached ``receipt.json`` that ``tender receipt verify`` checks offline:
the printed page is for people, the attachment is the proof. Its font
(:mod:`tender.bids.pdf_fonts`) shows Chinese names and Chinese text as written.
"""

from __future__ import annotations

import json
from datetime import datetime
from io import BytesIO
from typing import Any, Final

from fpdf import FPDF

from tender.bids.pdf_fonts import use_platform_font
from tender.bids.receipts import in_words
from tender.i18n import current_locale
from tender.i18n import gettext as _
from tender.verifier.jws import b64url_decode

__all__ = ["ATTACHMENT_NAME", "render_receipt_pdf", "signed_values"]

ATTACHMENT_NAME: Final = "receipt.json"
_LABEL_WIDTH: Final = 38  # millimetres


def signed_values(signed_receipt: str) -> dict[str, Any]:
    """The payload of a receipt's compact JWS: the values the platform signed. (Whether the
    signature holds is for ``tender receipt verify``; the platform reads its own.)"""
    payload: dict[str, Any] = json.loads(b64url_decode(signed_receipt.split(".")[1]))
    return payload


def render_receipt_pdf(signed_receipt: str) -> bytes:
    """The PDF of a signed receipt, in the language in force; the same receipt always gives
    the same bytes in one language."""
    values = signed_values(signed_receipt)
    pdf = FPDF(format="A4")
    font = use_platform_font(pdf)
    pdf.set_lang(current_locale().replace("_", "-"))
    pdf.set_creation_date(_received(values))
    pdf.set_title(_("Receipt {receipt_id}").format(receipt_id=values["receipt_id"]))
    pdf.set_author(_("Tender platform"))
    pdf.add_page()
    pdf.set_font(font, "B", 16)
    pdf.cell(text=_("Receipt for a bid file"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font(font, "", 9)
    pdf.multi_cell(
        0,
        5,
        _(
            "The platform received this file in full at the time below. The receipt it signed "
            "is attached to this PDF as {attachment}; anyone can check it offline with "
            "'tender receipt verify {attachment} --key platform.pub --file YOUR-FILE'."
        ).format(attachment=ATTACHMENT_NAME),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(3)
    rows = [
        (_("Supplier"), f"{values['supplier']} ({values['supplier_organisation']})"),
        *in_words(values),
        (
            _("Audit log entry"),
            _("#{seq} (hash {hash})").format(seq=values["audit_seq"], hash=values["audit_hash"]),
        ),
    ]
    for label, value in rows:
        pdf.set_font(font, "B", 9)
        pdf.cell(_LABEL_WIDTH, 5, label)
        if label == "SHA-256":
            pdf.set_font("Courier", "", 9)
        else:
            pdf.set_font(font, "", 9)
        pdf.multi_cell(0, 5, value, new_x="LMARGIN", new_y="NEXT")
    pdf.embed_file(
        bytes=(json.dumps({**values, "signed_receipt": signed_receipt}, indent=2) + "\n").encode(),
        basename=ATTACHMENT_NAME,
        modification_date=_received(values),
        mime_type="application/json",
        desc=_("The signed receipt: check it with 'tender receipt verify'."),
    )
    output = BytesIO()
    pdf.output(output)
    return output.getvalue()


def _received(values: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(values["received_at"]))
