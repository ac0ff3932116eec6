"""The public pages in a real browser (Debian's Chromium): what a supplier looking for work
sees, in English and in Hong Kong Chinese, and that axe-core finds no serious or critical
accessibility fault on any of them."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, timedelta
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page

from tender.clock import HONG_KONG
from tests.pages.browsing import assert_accessible, shoot
from tests.pages.conftest import AWARD, SPECIFICATION, Site
from tests.pages.strings import english_ui_strings

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_the_list_shows_published_tenders_and_never_a_draft(page: Page, site: Site) -> None:
    page.goto(site.base + "/")

    listed = page.locator(".tender-card h2").all_inner_texts()
    assert page.title().startswith("Published tenders")
    assert site.road.title in listed
    assert site.cleaning.title in listed
    assert site.draft.title not in listed
    assert site.awarded.title in listed
    states = page.locator(".tender-card .status").all_inner_texts()
    assert {"Open for bids", "Awarded", "Cancelled"} <= set(states)
    assert_accessible(page)
    shoot(page, "tenders-en")


@pytest.mark.parametrize(
    ("words", "found"),
    [
        ("tsing yi", "Resurfacing of Tsing Yi Road"),
        ("HYD-2026-018", "Cleaning of footbridges in Kwai Chung"),  # a reference, any case
        ("carriageway night", "Resurfacing of Tsing Yi Road"),  # words of the description
    ],
)
def test_search_finds_a_tender_by_words_or_reference(
    page: Page, site: Site, words: str, found: str
) -> None:
    page.goto(site.base + "/")
    page.get_by_label("Search by words or reference").fill(words)
    page.get_by_role("button", name="Search").click()

    assert page.locator(".tender-card h2").all_inner_texts() == [found]
    assert "1 tender matches" in page.locator(".result-count").inner_text()


def test_a_search_that_finds_nothing_says_what_to_try(page: Page, site: Site) -> None:
    page.goto(site.base + "/?q=" + quote("lighting"))  # only the draft has it

    assert page.locator(".tender-card").count() == 0
    assert "No tender matches" in page.locator("main").inner_text()
    assert_accessible(page)


def test_the_tender_page_shows_documents_with_their_sha256_addendum_answer_and_deadline(
    page: Page, site: Site
) -> None:
    page.goto(f"{site.base}/tenders/{site.road.id}")
    main = page.locator("main")
    text = main.inner_text()

    assert page.title().startswith("Resurfacing of Tsing Yi Road (HyD-2026-017)")
    assert "Highways Department" in text
    assert hashlib.sha256(SPECIFICATION).hexdigest() in text
    rows = main.locator("table.documents tbody tr")
    assert rows.count() == 3  # two with the tender, one with the addendum
    link = rows.filter(has_text="specification.pdf").get_by_role("link")
    assert link.get_attribute("href") == (
        f"/api/tenders/{site.road.id}/documents/specification.pdf?addendum=0"
    )
    assert site.addendum_text in text
    assert site.question in text
    assert site.answer in text
    assert "An unanswered question" not in text
    # The deadline (extended by the addendum) in Hong Kong time, and in UTC beside it.
    deadline = site.road.deadline.replace(microsecond=0)
    extended = deadline.astimezone(HONG_KONG) + timedelta(days=1)
    shown = page.locator("#deadline").inner_text()
    assert "Hong Kong time" in shown
    assert f"{extended:%-d %B %Y}" in shown
    assert f"{extended.astimezone(UTC):%Y-%m-%d %H:%M} UTC" in text
    assert_accessible(page)
    shoot(page, "tender-en")


def test_an_awarded_tender_shows_its_award_and_a_cancelled_one_why(page: Page, site: Site) -> None:
    page.goto(f"{site.base}/tenders/{site.awarded.id}")
    award = page.locator("section", has=page.get_by_role("heading", name="Award")).inner_text()
    state = page.locator(".facts .status").first.inner_text()
    assert_accessible(page)
    shoot(page, "tender-awarded-en")
    page.goto(f"{site.base}/tenders/{site.cancelled.id}")
    cancelled = page.locator("main").inner_text()

    assert state == "Awarded"
    assert AWARD.winners[0] in award
    assert "HK$1,250,000.50" in award
    assert AWARD.reasons in award
    assert page.locator("#countdown").count() == 0  # nothing to count down to
    assert "This tender was cancelled" in cancelled
    assert "The railings will be replaced instead." in cancelled
    assert_accessible(page)


def test_the_countdown_ticks(page: Page, site: Site) -> None:
    page.goto(f"{site.base}/tenders/{site.road.id}")
    countdown = page.locator("#countdown")
    first = countdown.inner_text()

    page.wait_for_function(
        "before => document.getElementById('countdown').textContent !== before", arg=first
    )

    assert re.fullmatch(r"4 days \d+ h \d+ min \d+ s left", countdown.inner_text())
    assert countdown.inner_text() != first


def test_without_javascript_the_page_shows_the_time_left_when_served(
    browser: Browser, site: Site
) -> None:
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    page.goto(f"{site.base}/tenders/{site.road.id}")

    assert re.fullmatch(r"4 days \d+ h \d+ min \d+ s left", page.locator("#countdown").inner_text())
    context.close()


def test_a_tender_that_does_not_exist_has_a_page_that_says_what_to_do(
    page: Page, site: Site
) -> None:
    answer = page.goto(f"{site.base}/tenders/{site.draft.id}")  # a draft: not public

    assert answer is not None
    assert answer.status == 404
    assert page.locator("h1").inner_text() == "There is nothing at this address."
    assert "search the list of tenders" in page.locator("main").inner_text()
    assert_accessible(page)
    shoot(page, "not-found-en")


def test_the_language_switch_turns_the_pages_into_chinese_and_is_remembered(
    page: Page, site: Site
) -> None:
    page.goto(f"{site.base}/tenders/{site.road.id}")
    page.get_by_role("link", name="繁體中文").click()

    assert page.url == f"{site.base}/tenders/{site.road.id}"
    assert page.locator("html").get_attribute("lang") == "zh-Hant-HK"
    assert "路政署" in page.locator("main").inner_text()  # the buyer's Chinese name
    assert "香港時間" in page.locator("#deadline").inner_text()
    assert_no_english_left(page)
    assert_accessible(page)
    shoot(page, "tender-zh")

    page.get_by_role("link", name="招標公告").first.click()  # the next page: still Chinese

    assert page.locator("html").get_attribute("lang") == "zh-Hant-HK"
    assert_no_english_left(page)
    assert_accessible(page)
    shoot(page, "tenders-zh")

    page.goto(f"{site.base}/tenders/{site.awarded.id}")
    assert "已批出" in page.locator(".facts .status").first.inner_text()
    assert_no_english_left(page)
    assert_accessible(page)
    shoot(page, "tender-awarded-zh")

    page.goto(f"{site.base}/no/such/page")
    assert page.locator("html").get_attribute("lang") == "zh-Hant-HK"
    assert_no_english_left(page)
    shoot(page, "not-found-zh")

    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"


def test_a_browser_that_asks_for_hong_kong_chinese_gets_it(browser: Browser, site: Site) -> None:
    context = browser.new_context(extra_http_headers={"Accept-Language": "zh-HK,zh;q=0.9,en;q=0.5"})
    page = context.new_page()
    page.goto(f"{site.base}/")

    assert page.locator("html").get_attribute("lang") == "zh-Hant-HK"
    assert page.locator("h1").inner_text() == "招標公告"
    assert_no_english_left(page)
    context.close()


def assert_no_english_left(page: Page) -> None:
    """None of the English words of the pages' templates is left on the page (the data —
    titles, names, file names — is written as its authors wrote it)."""
    shown = page.locator("body").inner_text()
    left = [words for words in english_ui_strings() if words in shown]
    assert not left, f"English left on {page.url}: {left}"
