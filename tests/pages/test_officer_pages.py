"""The procurement officer's pages in a real browser (Debian's Chromium): an officer signs in
with their authenticator's code, creates a tender (a refused form keeps what was typed),
uploads a document, publishes it, answers a question, extends the deadline by an addendum;
after the opening reads the record with each bid's verdict and awards the tender, which the
public page then shows. Each page is checked by axe-core and photographed in English and in
Hong Kong Chinese, and no English is left on the Chinese ones."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TypeVar

import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect
from sqlalchemy import select

from tender.accounts.models import Role, User
from tender.clarifications.service import ClarificationService
from tender.clock import HONG_KONG, ManualClock
from tender.tenders.models import Envelopes, OpeningMethod
from tender.tenders.schemas import TenderCreate
from tests.helpers import committee_member, unit_of_work, upload
from tests.pages.browsing import assert_accessible, shoot
from tests.pages.conftest import AWARD, Site, sign_in
from tests.pages.strings import english_ui_strings

pytestmark = [pytest.mark.browser, pytest.mark.integration]

DRAWING = b"%PDF-1.7 Kwun Tong footbridge: general arrangement\n" * 200


def _clock(site: Site) -> ManualClock:
    clock = site.platform.clock
    assert isinstance(clock, ManualClock)
    return clock


def _typed(moment: datetime) -> str:
    """``moment`` as typed in a ``datetime-local`` field, in Hong Kong time."""
    return moment.astimezone(HONG_KONG).strftime("%Y-%m-%dT%H:%M")


def _user(site: Site, email: str) -> User:
    with site.platform.sessions.begin() as session:
        user = session.scalar(select(User).where(User.email == email))
        assert user is not None
        session.expunge(user)
        return user


T = TypeVar("T")


def _aside(work: Callable[[], T]) -> T:
    """``work`` in a thread of its own: Playwright's sync API runs an event loop in this one,
    and the intake is async."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(work).result()


def assert_no_english_left_but_data(page: Page) -> None:
    """No English words of the pages' templates on ``page``, but in the seeded award's
    reasons: the officer's words (data), as they wrote them."""
    shown = page.locator("body").inner_text().replace(AWARD.reasons, "")
    left = [words for words in english_ui_strings() if words in shown]
    assert not left, f"English left on {page.url}: {left}"


def _tender_id(page: Page) -> uuid.UUID:
    return uuid.UUID(page.url.split("/officer/tenders/")[1].split("/")[0].split("#")[0])


def test_an_officer_runs_a_tender_from_draft_to_award(page: Page, site: Site) -> None:
    clock = _clock(site)
    sign_in(page, site, site.officer)

    expect(page.get_by_role("heading", name="Tenders I run")).to_be_visible()
    open_for_bids = page.locator("section", has=page.get_by_role("heading", name="Open for bids"))
    expect(open_for_bids.get_by_role("link", name=site.road.title)).to_be_visible()
    drafts = page.locator("section", has=page.get_by_role("heading", name="Drafts"))
    expect(drafts.get_by_role("link", name=site.draft.title)).to_be_visible()
    assert_accessible(page)
    shoot(page, "officer-home-en")

    # A deadline in the past is refused; the form comes back with what was typed.
    page.get_by_role("link", name="New tender").click()
    page.get_by_label("Reference").fill("HyD-2026-030")
    page.get_by_label("Title").fill("Footbridge repairs in Kwun Tong")
    page.get_by_label("Description").fill("Repairs to the deck and handrails of two footbridges.")
    page.get_by_label("Deadline (Hong Kong time)").fill(_typed(clock.now() - timedelta(hours=1)))
    page.get_by_label("Automatically, by the platform").check()
    page.get_by_role("button", name="Create the draft").click()

    expect(page.get_by_role("alert")).to_contain_text("has already passed")
    expect(page.get_by_label("Reference")).to_have_value("HyD-2026-030")
    expect(page.get_by_label("Description")).to_have_value(
        "Repairs to the deck and handrails of two footbridges."
    )
    expect(page.get_by_label("Automatically, by the platform")).to_be_checked()
    assert_accessible(page)
    shoot(page, "officer-tender-form-refused-en")

    deadline = clock.now() + timedelta(hours=2)
    page.get_by_label("Deadline (Hong Kong time)").fill(_typed(deadline))
    page.get_by_role("button", name="Create the draft").click()
    expect(page.get_by_role("heading", name="Footbridge repairs in Kwun Tong")).to_be_visible()
    expect(page.locator(".facts .status")).to_have_text("Draft")
    tender_id = _tender_id(page)

    page.get_by_role("link", name="Edit the draft").click()
    expect(page.get_by_label("Deadline (Hong Kong time)")).to_have_value(_typed(deadline))
    page.get_by_label("Title").fill("Footbridge deck repairs in Kwun Tong")
    page.get_by_role("button", name="Save the changes").click()
    expect(page.get_by_role("heading", name="Footbridge deck repairs in Kwun Tong")).to_be_visible()

    drawing = FilePayload(name="drawing.pdf", mimeType="application/pdf", buffer=DRAWING)
    page.get_by_label("Upload a document").set_input_files(files=[drawing])
    page.get_by_role("button", name="Upload", exact=True).click()
    row = page.locator("table.documents tr", has_text="drawing.pdf")
    expect(row).to_contain_text(hashlib.sha256(DRAWING).hexdigest())

    expect(page.get_by_text("Publishing shows the tender")).to_be_visible()
    page.get_by_role("button", name="Publish the tender").click()
    expect(page.locator(".facts .status")).to_have_text("Open for bids")
    expect(page.locator("#received")).to_have_text("0")

    # A supplier's question: the officer sees it without who asked, and answers it.
    with site.platform.sessions.begin() as session:
        ClarificationService(session=session, clock=clock).ask(
            supplier=_user(site, site.supplier.email),
            tender_id=tender_id,
            question="May the deck be closed on Sundays?",
        )
    page.reload()
    expect(page.get_by_text("May the deck be closed on Sundays?")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("Sun Wah Paving Ltd")
    # An answer of nothing but spaces is refused, on a page that keeps the question beside
    # the form; the answer typed there is published.
    page.get_by_label("Your answer to question 1").fill("   ")
    page.get_by_role("button", name="Publish the answer").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.locator("main")).to_contain_text("May the deck be closed on Sundays?")
    assert_accessible(page)
    page.get_by_label("Your answer").fill("Yes, from 01:00 to 06:00.")
    page.get_by_role("button", name="Publish the answer").click()
    expect(page.locator("#clarifications ~ .questions, .questions")).to_contain_text(
        "Yes, from 01:00 to 06:00."
    )
    assert_accessible(page)
    shoot(page, "officer-tender-en")

    # An addendum that would bring the deadline forward is refused and keeps its text; one
    # that extends it by a day is published.
    page.get_by_role("link", name="Issue an addendum").click()
    page.get_by_label("What changes").fill("The works may also be done on Sundays.")
    page.get_by_label("New deadline (Hong Kong time), to extend it").fill(
        _typed(deadline - timedelta(minutes=30))
    )
    page.get_by_role("button", name="Publish the addendum").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("What changes")).to_have_value(
        "The works may also be done on Sundays."
    )
    assert_accessible(page)
    shoot(page, "officer-addendum-refused-en")
    extended = deadline + timedelta(days=1)
    page.get_by_label("New deadline (Hong Kong time), to extend it").fill(_typed(extended))
    page.get_by_role("button", name="Publish the addendum").click()
    expect(page.locator(".extension")).to_contain_text("The deadline was extended from")
    expect(page.locator(".facts time")).to_have_attribute(
        "datetime", extended.replace(second=0, microsecond=0).isoformat()
    )

    # A bid arrives; after the deadline the platform opens it.
    supplier = _user(site, site.supplier.email)
    _aside(lambda: upload(site.platform, supplier, tender_id, "offer.pdf", [b"%PDF-1.7 offer"]))
    clock.advance(timedelta(days=1, hours=3))
    _aside(lambda: site.platform.opener.open_tender(tender_id))

    sign_in(page, site, site.officer)  # the session ended with the day
    page.goto(f"{site.base}/officer/tenders/{tender_id}")
    record = page.locator("section", has=page.get_by_role("heading", name="Opening record"))
    verdict = record.locator(".verdict", has_text="Sun Wah Paving Ltd")
    expect(verdict).to_contain_text("offer.pdf")
    expect(verdict).to_contain_text("Not valid")
    expect(verdict).to_contain_text("its SHA-256 matches the receipt")
    expect(record.get_by_role("link", name="The sealed opening record (PDF)")).to_have_attribute(
        "href", f"/api/tenders/{tender_id}/opening/record.pdf"
    )
    assert_accessible(page)
    shoot(page, "officer-opened-en")

    page.get_by_label("Sun Wah Paving Ltd").check()
    page.get_by_label("Value").fill("880000.00")
    page.get_by_label("Reasons").fill("The only bid received.")
    page.get_by_role("button", name="Award the tender").click()
    award = page.locator("section", has=page.get_by_role("heading", name="Award"))
    expect(award).to_contain_text("Sun Wah Paving Ltd")
    expect(page.locator(".facts .status").first).to_have_text("Awarded")
    assert_accessible(page)
    shoot(page, "officer-awarded-en")

    page.goto(f"{site.base}/tenders/{tender_id}")
    public_award = page.locator("section", has=page.get_by_role("heading", name="Award"))
    expect(public_award).to_contain_text("Sun Wah Paving Ltd")
    expect(public_award).to_contain_text("The only bid received.")


def test_the_officer_pages_in_chinese_leave_no_english(browser: Browser, site: Site) -> None:
    context = browser.new_context(locale="zh-HK")
    try:
        page = context.new_page()
        page.goto(f"{site.base}/language?to=en")
        sign_in(page, site, site.officer)
        page.goto(f"{site.base}/language?to=zh-Hant-HK&back=/officer")
        pages = {
            "officer-home": "/officer",
            "officer-tender-form": "/officer/tenders/new",
            "officer-tender": f"/officer/tenders/{site.road.id}",
            "officer-addendum": f"/officer/tenders/{site.road.id}/addenda/new",
            "officer-awarded": f"/officer/tenders/{site.awarded.id}",
        }
        for name, address in pages.items():
            page.goto(site.base + address)
            assert page.locator("html").get_attribute("lang") == "zh-Hant-HK"
            assert_no_english_left_but_data(page)
            assert_accessible(page)
            shoot(page, f"{name}-zh")
    finally:
        context.close()


def test_the_record_of_an_opened_tender_explains_each_verdict(page: Page, site: Site) -> None:
    sign_in(page, site, site.officer)
    page.goto(f"{site.base}/officer/tenders/{site.awarded.id}")

    verdicts = page.locator(".verdict")
    expect(verdicts).to_have_count(2)
    expect(verdicts.first).to_contain_text("The file opened is the one received")
    expect(page.locator("section", has=page.get_by_role("heading", name="Award"))).to_contain_text(
        "Sun Wah Paving Ltd"
    )
    assert_accessible(page)
    shoot(page, "officer-record-en")


def test_a_stranger_is_sent_to_sign_in_first_and_back(page: Page, site: Site) -> None:
    page.goto(f"{site.base}/officer/tenders/{site.road.id}")
    assert "/sign-in" in page.url

    sign_in(page, site, site.officer)

    expect(page.get_by_role("heading", name=site.road.title)).to_be_visible()


def test_an_officer_cancels_a_tender_with_a_reason(page: Page, site: Site) -> None:
    sign_in(page, site, site.officer)
    page.goto(f"{site.base}/officer/tenders/{site.cleaning.id}")

    page.get_by_text("Cancel this tender…").click()
    page.get_by_label("Reason for the cancellation").fill("The footbridges will be rebuilt.")
    page.get_by_role("button", name="Cancel the tender").click()

    expect(page.locator(".facts .status")).to_have_text("Cancelled")
    expect(page.get_by_role("note")).to_contain_text("The footbridges will be rebuilt.")


def test_a_two_envelope_tender_is_qualified_then_its_prices_opened(page: Page, site: Site) -> None:
    clock = _clock(site)
    officer, supplier = _user(site, site.officer.email), _user(site, site.supplier.email)
    with unit_of_work(site.platform) as services:
        tender = services.tenders.create(
            actor=officer,
            data=TenderCreate(
                reference="HyD-2026-040",
                title="Noise barriers on Tuen Mun Road",
                deadline=clock.now() + timedelta(hours=1),
                opening=OpeningMethod.AUTOMATIC,
                envelopes=Envelopes.TWO,
            ),
        )
        services.tenders.publish(actor=officer, tender_id=tender.id)
    _aside(lambda: upload(site.platform, supplier, tender.id, "method.pdf", [b"%PDF-1.7 m"]))
    _aside(
        lambda: upload(
            site.platform, supplier, tender.id, "prices.pdf", [b"%PDF-1.7 p"], envelope="financial"
        )
    )
    clock.advance(timedelta(hours=2))
    _aside(lambda: site.platform.opener.open_tender(tender.id))

    sign_in(page, site, site.officer)
    page.goto(f"{site.base}/officer/tenders/{tender.id}")
    standing = page.locator(".standings li", has_text="Sun Wah Paving Ltd")
    expect(standing.get_by_role("heading")).to_have_text("Sun Wah Paving Ltd: no verdict yet")
    assert_accessible(page)
    shoot(page, "officer-qualification-en")
    standing.get_by_label("Qualified", exact=True).check()
    standing.get_by_label("Reason").fill("The method statement meets every requirement.")
    standing.get_by_role("button", name="Record the verdict").click()
    expect(standing.get_by_role("heading")).to_have_text("Sun Wah Paving Ltd: qualified")
    expect(standing).to_contain_text("The method statement meets every requirement.")

    page.get_by_role("button", name="Open the qualified bids' financial envelopes").click()
    expect(
        page.locator("#qualification ~ p, section p").filter(has_text="was asked for")
    ).to_be_visible()
    _aside(lambda: site.platform.opener.open_tender(tender.id))
    page.reload()
    expect(page.get_by_text("It finished on")).to_be_visible()
    expect(page.get_by_label("Sun Wah Paving Ltd")).to_be_visible()  # the award's winners

    page.goto(f"{site.base}/language?to=zh-Hant-HK&back=/officer/tenders/{tender.id}")
    expect(page.get_by_role("heading", name="資格評審")).to_be_visible()
    assert_no_english_left_but_data(page)
    assert_accessible(page)
    shoot(page, "officer-qualification-zh")


def test_a_committee_tender_is_created_with_the_members_chosen(page: Page, site: Site) -> None:
    chan = committee_member(site.platform, "Chan Tai Man", "Lands Department")
    wong = committee_member(site.platform, "Wong Siu Ming", "Audit Commission", Role.AUDITOR)
    sign_in(page, site, site.officer)
    page.goto(f"{site.base}/officer/tenders/new")
    expect(page.get_by_label("By an opening committee")).to_be_checked()
    page.get_by_label("Reference").fill("HyD-2026-050")
    page.get_by_label("Title").fill("Retaining wall at Tai Po Road")
    page.get_by_label("Deadline (Hong Kong time)").fill(
        _typed(_clock(site).now() + timedelta(days=7))
    )
    page.get_by_label(f"{chan.user.name} ({chan.user.organisation})").check()
    page.get_by_label("Quorum: how many members must release their shares").fill("2")
    page.get_by_role("button", name="Create the draft").click()

    # One member cannot make a quorum of two: refused, with the choice kept.
    expect(page.get_by_role("alert")).to_contain_text("opening committee")
    expect(page.get_by_label(f"{chan.user.name} ({chan.user.organisation})")).to_be_checked()
    wong_box = page.get_by_label(f"{wong.user.name} ({wong.user.organisation})")
    expect(wong_box).not_to_be_checked()
    wong_box.check()
    page.get_by_role("button", name="Create the draft").click()

    expect(page.get_by_role("heading", name="Retaining wall at Tai Po Road")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("By a committee, quorum 2")
