"""What the pages answer over HTTP, without a browser: the search on both databases, error
pages for browsers and JSON for API clients, and a language switch that stays on this site."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tender.app import create_app
from tender.clock import ManualClock
from tender.platform import Platform
from tender.tenders.models import OpeningMethod
from tender.tenders.schemas import TenderCreate
from tests.conftest import People
from tests.helpers import published_tender, unit_of_work

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(platform)) as client:
        yield client


def test_the_search_matches_every_word_in_any_case_literally_and_pages(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    for number in range(1, 4):
        published_tender(platform, people.officer, clock, ref=f"RD-{number}", hours=number)
    published_tender(platform, people.officer, clock, ref="RD_100%", hours=9)
    with unit_of_work(platform) as services:
        services.tenders.create(
            actor=people.officer,
            data=TenderCreate(
                reference="RD-9",
                title="Road works",
                deadline=clock.now() + timedelta(days=1),
                opening=OpeningMethod.AUTOMATIC,
            ),
        )
        search = services.tenders.search

        def references(words: str, offset: int = 0, limit: int = 10) -> tuple[list[str], int]:
            found, total = search(words, offset=offset, limit=limit)
            return [t.reference for t in found], total

        everything = references("")
        by_reference = references("rd-2")
        by_words = references("ROAD works rd-3")
        literally = references("_100%")
        nothing = references("road bridge")
        second_page = references("", offset=2, limit=2)

    assert everything == (["RD_100%", "RD-3", "RD-2", "RD-1"], 4)  # latest deadline first; no draft
    assert by_reference == (["RD-2"], 1)
    assert by_words == (["RD-3"], 1)
    assert literally == (["RD_100%"], 1)  # % and _ are characters, not wildcards
    assert nothing == ([], 0)
    assert second_page == (["RD-2", "RD-1"], 4)


def test_a_browser_gets_an_error_page_and_an_api_client_json(
    client: TestClient[Litestar],
) -> None:
    page = client.get("/no/such/page", headers=BROWSER)
    api = client.get("/no/such/page")
    chinese = client.get("/no/such/page", headers={**BROWSER, "Accept-Language": "zh-HK"})
    api_in_a_browser = client.get("/api/tenders/not-a-tender", headers=BROWSER)

    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "There is nothing at this address." in page.text
    assert api.status_code == 404
    assert api.json()["error"] == "not_found"
    assert '<html lang="zh-Hant-HK">' in chinese.text
    assert "此網址沒有內容。" in chinese.text
    assert api_in_a_browser.headers["content-type"].startswith("application/json")


def test_a_page_past_the_last_is_refused_with_a_page(client: TestClient[Litestar]) -> None:
    answer = client.get("/?page=0", headers=BROWSER)

    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/html")
    assert "The request could not be read." in answer.text


@pytest.mark.parametrize("back", ["//elsewhere.example/", "https://elsewhere.example/", "/\\x"])
def test_the_language_switch_never_sends_the_reader_to_another_site(
    client: TestClient[Litestar], back: str
) -> None:
    answer = client.get(
        "/language", params={"to": "zh-Hant-HK", "back": back}, follow_redirects=False
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
    assert answer.cookies["lang"] == "zh-Hant-HK"


def test_the_language_switch_goes_back_to_the_page_and_is_remembered(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock, ref="RD-1", hours=2)

    switched = client.get("/language", params={"to": "zh-Hant-HK", "back": f"/tenders/{tender.id}"})
    later = client.get("/", headers={"Accept-Language": "en"})

    assert switched.url.path == f"/tenders/{tender.id}"
    assert '<html lang="zh-Hant-HK">' in switched.text
    assert "截標時間" in switched.text
    assert '<html lang="zh-Hant-HK">' in later.text  # the choice outranks the browser's
