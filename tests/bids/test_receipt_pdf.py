"""A receipt's PDF prints Chinese names as written, in the reader's language, and says so
clearly when its font is not installed."""

from __future__ import annotations

import base64
import json
import re
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from fpdf import FPDF
from pypdf import PdfReader

from tender.bids.pdf_fonts import MissingFontError, use_platform_font
from tender.bids.receipt_pdf import render_receipt_pdf
from tender.i18n import ENGLISH, HONG_KONG_CHINESE, use_locale

CHINESE_COMPANY = "大灣道路工程有限公司"
PAYLOAD: dict[str, Any] = {
    "receipt_id": "7d3f0c1e-5b2a-4c8e-9f10-2a6b3c4d5e6f",
    "tender_reference": "HK-2026-017",
    "supplier": "陳大文",
    "supplier_organisation": CHINESE_COMPANY,
    "file_name": "標書.pdf",
    "sha256": "ab" * 32,
    "size": 12345,
    "received_at": "2026-11-27T08:59:00.000000Z",
    "deadline": "2026-11-27T09:00:00.000000Z",
    "audit_seq": 42,
    "audit_hash": "cd" * 32,
    "signature_precheck": None,
}


def _signed(payload: dict[str, Any]) -> str:
    """A compact JWS carrying ``payload`` (the PDF shows the payload; its signature is for
    ``tender receipt verify``, not checked here)."""
    parts = (b'{"alg":"EdDSA"}', json.dumps(payload).encode(), b"signature")
    return ".".join(base64.urlsafe_b64encode(part).decode().rstrip("=") for part in parts)


def _text(pdf: bytes) -> str:
    """The text of every page, without the spaces and NULs text extraction puts between the
    glyphs of an embedded font."""
    pages = PdfReader(BytesIO(pdf)).pages
    return re.sub(r"[\s\x00]", "", "".join(page.extract_text() for page in pages))


def test_a_chinese_readers_receipt_pdf_prints_chinese_as_written() -> None:
    with use_locale(HONG_KONG_CHINESE):
        pdf = render_receipt_pdf(_signed(PAYLOAD))

    text = _text(pdf)
    assert CHINESE_COMPANY in text
    assert "陳大文" in text
    assert "標書.pdf" in text
    assert "供應商" in text  # the labels are in Chinese too
    assert "收據" in text
    assert "Supplier" not in text
    assert len(pdf) < 200_000  # only the glyphs used are embedded


def test_an_english_readers_receipt_pdf_has_english_labels_and_the_chinese_name() -> None:
    with use_locale(ENGLISH):
        text = _text(render_receipt_pdf(_signed(PAYLOAD)))

    assert "Supplier" in text
    assert "Receiptforabidfile" in text
    assert CHINESE_COMPANY in text


def test_a_missing_font_is_named_with_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(MissingFontError, match=r"absent\.ttc is missing.*fonts-noto-cjk"):
        use_platform_font(FPDF(), {"": tmp_path / "absent.ttc"})
