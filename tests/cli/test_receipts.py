"""``tender receipts``: a supplier lists its receipts and sees which version counts, and saves
one as a PDF to file that carries the signed receipt; nobody else gets that PDF."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from tender.clock import ManualClock
from tender.platform import Platform
from tender.signing.testing import TestPKI
from tender.tenders.models import Tender
from tests.cli.test_submit import tender_cli
from tests.conftest import People
from tests.helpers import audit_kinds, published_tender, unit_of_work, upload

pytestmark = pytest.mark.integration


@pytest.fixture
def tender(platform: Platform, people: People, clock: ManualClock) -> Tender:
    return published_tender(platform, people.officer, clock, ref="HK-2026-018")


def test_the_list_says_which_version_of_a_file_counts(
    platform: Platform, people: People, clock: ManualClock, tender: Tender, url: str
) -> None:
    first = upload(platform, people.alice, tender.id, "offer.pdf", [b"%PDF-1.7 first"])
    clock.advance(timedelta(minutes=5))
    second = upload(platform, people.alice, tender.id, "offer.pdf", [b"%PDF-1.7 second"])
    other = published_tender(platform, people.officer, clock, ref="HK-2026-019")
    upload(platform, people.alice, other.id, "prices.pdf", [b"%PDF-1.7 prices"])

    listed = tender_cli(url, people.tokens["Alice"], "receipts", "--tender", "HK-2026-018")

    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0] == "Tender HK-2026-018"
    assert lines[1].startswith("  [SUPERSEDED] offer.pdf, received 2026-11-27 17:00:00 Hong Kong")
    assert str(first.receipt_id) in lines[2]
    assert lines[4].startswith("  [COUNTS] offer.pdf, received 2026-11-27 17:05:00 Hong Kong")
    assert str(second.receipt_id) in lines[5]
    assert "HK-2026-019" not in listed.stdout
    everything = tender_cli(url, people.tokens["Alice"], "receipts", "--json")
    assert [entry["counts"] for entry in json.loads(everything.stdout)] == [False, True, True]
    # Another supplier sees none of them.
    bobs = tender_cli(url, people.tokens["Bob"], "receipts")
    assert bobs.returncode == 0
    assert bobs.stdout.strip() == "You have no receipts."


def test_a_withdrawn_file_is_said_to_be_withdrawn(
    platform: Platform, people: People, clock: ManualClock, tender: Tender, url: str
) -> None:
    upload(platform, people.alice, tender.id, "offer.pdf", [b"%PDF-1.7 offer"])
    upload(platform, people.alice, tender.id, "prices.pdf", [b"%PDF-1.7 prices"])
    clock.advance(timedelta(minutes=10))
    with unit_of_work(platform) as services:
        services.bids.withdraw(
            supplier=people.alice, tender_id=tender.id, file_name="prices.pdf", at=clock.now()
        )

    listed = tender_cli(url, people.tokens["Alice"], "receipts", "--json")

    standing = {e["receipt"]["file_name"]: e["standing"] for e in json.loads(listed.stdout)}
    assert standing == {"offer.pdf": "counts", "prices.pdf": "withdrawn"}


def test_a_receipt_pdf_carries_the_signed_receipt_that_verifies(
    platform: Platform,
    people: People,
    test_pki: TestPKI,
    tender: Tender,
    tmp_path: Path,
    url: str,
) -> None:
    receipt = upload(platform, people.alice, tender.id, "offer.pdf", [b"%PDF-1.7 offer"])
    pdf = tmp_path / "filed.pdf"

    saved = tender_cli(
        url, people.tokens["Alice"], "receipts", "--pdf", str(receipt.receipt_id),
        "--out", str(pdf),
    )  # fmt: skip

    assert saved.returncode == 0, saved.stderr
    assert f"Saved receipt {receipt.receipt_id} as {pdf}" in saved.stdout
    attached = _attachment(pdf.read_bytes(), "receipt.json")
    assert json.loads(attached)["sha256"] == receipt.sha256
    shown = tmp_path / "receipt.json"
    shown.write_bytes(attached)
    key = tmp_path / "platform.pub"
    key.write_text(platform.checkpointer.signer.verifier_key())
    checked = tender_cli(
        url, "", "receipt", "verify", str(shown), "--key", str(key),
        "--tsa-trust", str(test_pki.trust_dir),
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout
    text = pdf.read_bytes()
    assert text.startswith(b"%PDF-")


def test_nobody_else_gets_a_suppliers_receipt_pdf_and_the_refusal_is_audited(
    platform: Platform, people: People, tender: Tender, url: str
) -> None:
    receipt = upload(platform, people.alice, tender.id, "offer.pdf", [b"%PDF-1.7 offer"])
    path = f"{url}/api/receipts/{receipt.receipt_id}/pdf"
    before = audit_kinds(platform).count("request.refused")

    bob = httpx.get(path, headers={"Authorization": f"Bearer {people.tokens['Bob']}"})
    officer = httpx.get(path, headers={"Authorization": f"Bearer {people.tokens['Olivia']}"})

    assert bob.status_code == 403
    assert bob.json()["what"] == f"Receipt {receipt.receipt_id} is not yours."
    assert "Alice" not in bob.text
    assert "offer.pdf" not in bob.text
    assert officer.status_code == 403
    assert audit_kinds(platform).count("request.refused") == before + 2


def _attachment(pdf: bytes, name: str) -> bytes:
    """The embedded file ``name`` of ``pdf``."""
    root = PdfFileReader(io.BytesIO(pdf)).root
    names = root["/Names"]["/EmbeddedFiles"]["/Names"]
    entries = [names[i] for i in range(len(names))]  # name, file spec, name, file spec ...
    files = dict(zip(entries[::2], entries[1::2], strict=True))
    data: bytes = files[name]["/EF"]["/F"].data
    return data
