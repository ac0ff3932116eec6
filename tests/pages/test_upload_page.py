"""The supplier's bid upload page in Chromium: a signed PDF sent in parts with a progress bar,
its receipt and signature pre-check in plain words, an upload that survives a broken
connection, and the refusal of an upload after the deadline; axe-clean, in both languages."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect
from sqlalchemy import select

from tender.accounts.models import User
from tender.clock import ManualClock
from tender.signing.testing import TestPKI, signed_pdf
from tender.tenders.models import OpeningMethod, Tender
from tender.tenders.schemas import TenderCreate
from tests.helpers import published_tender, register_signer, unit_of_work
from tests.pages.browsing import assert_accessible, shoot
from tests.pages.conftest import Site, sign_in
from tests.pages.test_public_pages import assert_no_english_left

pytestmark = [pytest.mark.browser, pytest.mark.integration]

# About 2.5 MB: three parts of 1 MiB.
OFFER = "\n".join(f"Item {n:05}: resurfacing, 3200 m2 at HK$ 410.00 per m2" for n in range(45_000))


@dataclass(frozen=True)
class Bid:
    """A bid file on disk, for the page's file chooser."""

    path: Path
    sha256: str
    size: int


@pytest.fixture(scope="module")
def bid(site: Site, test_pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> Bid:
    """Sam's price offer, a PDF he signed (PAdES) with the certificate registered to his
    company, so that the pre-check expects the opening to accept it."""
    with site.platform.sessions.begin() as session:
        sam = session.scalars(select(User).where(User.email == site.supplier.email)).one()
    # In a thread: signing runs an event loop, and Playwright's may be running in this one.
    with ThreadPoolExecutor(max_workers=1) as worker:
        worker.submit(register_signer, site.platform, sam, test_pki, "supplier-a").result()
        content = worker.submit(signed_pdf, test_pki, "supplier-a", OFFER).result()
    path = tmp_path_factory.mktemp("bid") / "price-offer.pdf"
    path.write_bytes(content)
    return Bid(path, hashlib.sha256(content).hexdigest(), len(content))


def closing_soon(site: Site, reference: str) -> Tender:
    """A published tender of the site's buyer whose deadline is ten minutes away."""
    clock = site.platform.clock
    assert isinstance(clock, ManualClock)
    with site.platform.sessions.begin() as session:
        officer = session.scalars(select(User).where(User.email == site.officer.email)).one()
    return published_tender(site.platform, officer, clock, hours=1 / 6, ref=reference)


@pytest.fixture
def progress(page: Page) -> list[str]:
    """What the page's progress line says, each time it changes (kept across navigations)."""
    said: list[str] = []

    def report(line: str) -> None:
        said.append(line)

    page.expose_function("reportProgress", report)
    page.add_init_script(
        """
        document.addEventListener("DOMContentLoaded", () => {
          const line = document.getElementById("progress-text");
          if (line) new MutationObserver(() => window.reportProgress(line.textContent))
            .observe(line, {childList: true, characterData: true, subtree: true});
        });
        """
    )
    return said


def upload_page(page: Page, site: Site, tender: Tender) -> None:
    sign_in(page, site, site.supplier)
    page.goto(f"{site.base}/supplier/tenders/{tender.id}/upload")


def send(page: Page, bid: Bid) -> None:
    page.get_by_label("Files of your bid").set_input_files(bid.path)
    page.get_by_role("button", name="Upload and submit").click()


def test_a_supplier_uploads_a_signed_bid_and_reads_its_receipt_and_precheck(
    page: Page, site: Site, bid: Bid, progress: list[str]
) -> None:
    upload_page(page, site, site.road)
    expect(page.get_by_role("heading", name="Submit bid documents")).to_be_visible()
    assert_accessible(page)
    shoot(page, "upload-en")
    parts: list[str] = []
    page.on("request", lambda r: parts.append(r.url) if r.method == "PUT" else None)

    send(page, bid)
    page.wait_for_url("**/upload?receipt=*")

    received = page.locator("#received")
    expect(received).to_be_focused()
    expect(received).to_contain_text(bid.sha256)
    expect(received).to_contain_text(f"{bid.size:,} bytes")
    expect(received).to_contain_text("price-offer.pdf")
    expect(received.get_by_text("passed", exact=True)).to_be_visible()
    expect(received).to_contain_text("Nothing: the opening is expected to accept the signature.")
    expect(page.locator("table")).to_contain_text("counts")
    assert len(parts) == 3  # 1 MiB parts
    assert any(f"37% (1,048,576 of {bid.size:,} bytes)" in said for said in progress), progress
    assert progress[-1] == "All of price-offer.pdf has arrived; submitting it."
    assert_accessible(page)
    shoot(page, "upload-receipt-en")


def test_a_part_lost_to_a_broken_connection_is_sent_again(
    page: Page, site: Site, bid: Bid, progress: list[str]
) -> None:
    broken: list[str] = []

    def break_the_second_part_once(route: Route) -> None:
        if route.request.method == "PUT" and "offset=0" not in route.request.url and not broken:
            broken.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/tenders/*/uploads/*", break_the_second_part_once)
    upload_page(page, site, site.road)

    send(page, bid)
    page.wait_for_url("**/upload?receipt=*")

    assert broken
    assert any("The connection broke" in said for said in progress), progress
    expect(page.locator("#received")).to_contain_text(bid.sha256)


def test_an_upload_completed_after_the_deadline_is_refused_in_plain_words(
    page: Page, site: Site, bid: Bid
) -> None:
    tender = closing_soon(site, "HyD-2026-091")
    clock = site.platform.clock
    assert isinstance(clock, ManualClock)

    def arrive_late(route: Route) -> None:
        clock.set(tender.deadline + timedelta(seconds=1))  # the last part is in; time runs out
        route.continue_()

    page.route("**/uploads/*/complete", arrive_late)
    upload_page(page, site, tender)

    send(page, bid)

    problem = page.get_by_role("alert")
    expect(problem).to_contain_text("closed at")
    expect(problem).to_contain_text("The bid cannot be accepted.")
    expect(problem).to_be_focused()
    assert_accessible(page)
    shoot(page, "upload-refused-en")

    page.reload()

    closed = page.locator("#closed")
    expect(closed).to_contain_text("This tender takes no more bids.")
    expect(closed).to_contain_text("last byte by the deadline")
    expect(page.get_by_label("Files of your bid")).to_have_count(0)
    assert_accessible(page)
    shoot(page, "upload-closed-en")


def test_the_upload_page_in_chinese(browser: Browser, site: Site, bid: Bid) -> None:
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    try:
        sign_in(page, site, site.supplier)
        here = f"/supplier/tenders/{site.road.id}/upload"
        page.goto(f"{site.base}/language?to=zh-Hant-HK&back={here}")
        expect(page.locator("html")).to_have_attribute("lang", "zh-Hant-HK")
        expect(page.get_by_role("heading", name="遞交投標文件")).to_be_visible()
        assert_no_english_left(page)
        assert_accessible(page)
        shoot(page, "upload-zh")

        page.get_by_label("你的投標檔案").set_input_files(bid.path)
        page.get_by_role("button", name="上載並遞交").click()
        page.wait_for_url("**/upload?receipt=*")

        expect(page.locator("#received")).to_contain_text("已收到")
        expect(page.locator("#received")).to_contain_text(bid.sha256)
        assert_accessible(page)
        shoot(page, "upload-receipt-zh")

        late = closing_soon(site, "HyD-2026-092")
        clock = site.platform.clock
        assert isinstance(clock, ManualClock)
        clock.set(late.deadline + timedelta(seconds=1))
        page.goto(f"{site.base}/supplier/tenders/{late.id}/upload")
        expect(page.locator("#closed")).to_contain_text("這項招標不再接受投標。")
        assert_no_english_left(page)
        assert_accessible(page)
        shoot(page, "upload-closed-zh")
    finally:
        context.close()


def test_without_javascript_the_page_says_how_else_to_submit(browser: Browser, site: Site) -> None:
    context = browser.new_context(locale="en-GB", java_script_enabled=False)
    page = context.new_page()
    try:
        upload_page(page, site, site.road)

        expect(
            page.get_by_role("heading", name="Uploading from this page needs JavaScript")
        ).to_be_visible()
        expect(
            page.get_by_text(f"tender submit FILE --tender {site.road.reference}")
        ).to_be_visible()
        expect(page.get_by_role("button", name="Upload and submit")).to_be_hidden()
        expect(page.get_by_role("heading", name="Your receipts for this tender")).to_be_visible()
    finally:
        context.close()


def test_after_the_deadline_a_fingerprinted_file_may_still_come_within_the_grace(
    page: Page, site: Site, bid: Bid
) -> None:
    clock = site.platform.clock
    assert isinstance(clock, ManualClock)
    with unit_of_work(site.platform) as services:
        sam = services.session.scalars(select(User).where(User.email == site.supplier.email)).one()
        officer = services.session.scalars(
            select(User).where(User.email == site.officer.email)
        ).one()
        created = services.tenders.create(
            actor=officer,
            data=TenderCreate(
                reference="HyD-2026-093",
                title="Footbridge lifts",
                deadline=clock.now() + timedelta(minutes=10),
                file_grace_seconds=3600,
                opening=OpeningMethod.AUTOMATIC,
            ),
        )
        tender = services.tenders.publish(actor=officer, tender_id=created.id)
        services.bids.register_fingerprint(
            supplier=sam,
            tender_id=tender.id,
            file_name=bid.path.name,
            sha256=bid.sha256,
            received_at=clock.now(),
        )
    clock.set(tender.deadline + timedelta(seconds=1))
    upload_page(page, site, tender)

    expect(page.locator("#closed")).to_have_count(0)
    send(page, bid)
    page.wait_for_url("**/upload?receipt=*")

    expect(page.locator("#received")).to_contain_text("whose fingerprint you registered in time")
