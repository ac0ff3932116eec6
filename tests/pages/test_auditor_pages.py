"""The auditors' pages in a real browser: a tender's audit log in plain words with its hashes
and the signature reports of its opened bids, the log verified against its signed
checkpoints, and a receipt verified by upload (a page anyone may use): a genuine one holds, a
tampered one fails with a plain reason."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from litestar.serialization import encode_json
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tender.accounts.models import AuditorAppointment, User
from tests.helpers import upload
from tests.pages.browsing import assert_accessible, shoot
from tests.pages.conftest import Site, sign_in
from tests.pages.test_public_pages import assert_no_english_left

pytestmark = [pytest.mark.browser, pytest.mark.integration]

BID = b"%PDF-1.7 Sun Wah's offer for the resurfacing of Tsing Yi Road\n" * 40


@dataclass(frozen=True)
class Receipt:
    """A supplier's receipt as they downloaded it (JSON), and their bid file."""

    json: bytes
    bid: bytes


def _appoint_and_bid(site: Site) -> Receipt:
    """Ada audits every organisation; Sam bids on the road tender and keeps the receipt."""
    platform = site.platform
    with platform.sessions.begin() as session:
        ada = session.scalars(select(User).where(User.email == site.auditor.email)).one()
        session.add(
            AuditorAppointment(
                auditor_id=ada.id, organisation_id=None, appointed_at=platform.clock.now()
            )
        )
        sam = session.scalars(select(User).where(User.email == site.supplier.email)).one()
        session.expunge(sam)
    receipt = upload(platform, sam, site.road.id, "offer.pdf", [BID])
    return Receipt(encode_json(receipt), BID)


@pytest.fixture(scope="module")
def receipt(site: Site) -> Receipt:
    # In a thread of its own, as the site is seeded: the bid intake runs an event loop.
    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(_appoint_and_bid, site).result()


def _in_chinese(page: Page, name: str) -> None:
    page.get_by_role("link", name="繁體中文").click()
    assert page.locator("html").get_attribute("lang") == "zh-Hant-HK"
    assert_no_english_left(page)
    assert_accessible(page)
    shoot(page, f"{name}-zh")


def test_an_auditor_reads_a_tenders_log_and_the_signatures_of_its_bids(
    page: Page, site: Site, receipt: Receipt
) -> None:
    sign_in(page, site, site.auditor)
    assert page.url.endswith("/auditor")
    expect(page.get_by_role("link", name="Verify a receipt")).to_have_attribute("href", "/verify")
    assert_accessible(page)
    shoot(page, "auditor-en")
    page.get_by_role("link", name=site.awarded.reference).click()

    events = page.locator("table.events tbody")
    assert "The tender was published" in events.inner_text()
    assert "The opening finished and its record was written" in events.inner_text()
    assert len(events.locator("td.hash").first.inner_text()) == 64  # a SHA-256, in hex
    signatures = page.locator("table.signatures tbody tr")
    expect(signatures).to_have_count(2)
    assert "Sun Wah Paving Ltd" in signatures.all_inner_texts()[0] + signatures.all_inner_texts()[1]
    assert_accessible(page)
    shoot(page, "auditor-tender-en")
    _in_chinese(page, "auditor-tender")


def test_an_auditor_verifies_the_log_against_its_checkpoints(
    page: Page, site: Site, receipt: Receipt
) -> None:
    sign_in(page, site, site.auditor)
    page.goto(f"{site.base}/auditor")
    page.get_by_role("link", name="Verify the audit log against its signed checkpoints").click()

    assert "The audit log holds" in page.locator("#verdict").inner_text()
    rows = page.locator("table.checkpoints tbody tr")
    assert rows.count() >= 1
    assert all("Consistent" in row for row in rows.all_inner_texts())
    assert_accessible(page)
    shoot(page, "auditor-checkpoints-en")
    _in_chinese(page, "auditor-checkpoints")


def test_a_genuine_receipt_holds_and_a_tampered_one_fails_with_a_plain_reason(
    page: Page, site: Site, receipt: Receipt
) -> None:
    page.goto(f"{site.base}/verify")
    page.get_by_label("The receipt (JSON)").set_input_files(
        {"name": "receipt.json", "mimeType": "application/json", "buffer": receipt.json}
    )
    page.get_by_label("The bid file (optional)").set_input_files(
        {"name": "offer.pdf", "mimeType": "application/pdf", "buffer": receipt.bid}
    )
    page.get_by_role("button", name="Verify the receipt").click()

    assert "The receipt holds" in page.locator("main").inner_text()
    assert (
        "The file you chose is the one the platform received" in page.locator("main").inner_text()
    )
    assert_accessible(page)
    shoot(page, "verify-receipt-en")

    tampered = json.loads(receipt.json)
    tampered["received_at"] = tampered["deadline"]  # "it came in time": not what was signed
    page.get_by_label("The receipt (JSON)").set_input_files(
        {
            "name": "receipt.json",
            "mimeType": "application/json",
            "buffer": json.dumps(tampered).encode(),
        }
    )
    page.get_by_role("button", name="Verify the receipt").click()

    verdict = page.get_by_role("alert").inner_text()
    assert "The receipt does not hold" in verdict
    assert "A value the receipt shows is not the one the platform signed" in verdict
    _in_chinese(page, "verify-receipt")
    page.locator("#receipt").set_input_files(
        {"name": "receipt.json", "mimeType": "application/json", "buffer": receipt.json}
    )
    page.get_by_role("button", name="核實收據").click()
    assert "收據核實無誤" in page.locator("main").inner_text()
    assert_no_english_left(page)
    assert_accessible(page)
    shoot(page, "verify-receipt-result-zh")
