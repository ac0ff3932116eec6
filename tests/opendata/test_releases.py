"""Open data: GET /ocds/releases serves OCDS 1.1.5 release packages that the official schema
and codelists accept, with stable ocids, to anyone; nothing before it is public."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tender.awards.schemas import AwardCreate
from tender.awards.service import AwardService
from tender.clock import ManualClock
from tender.documents.addenda import AddendumService
from tender.documents.schemas import AddendumIn
from tender.opendata.service import ocds_time
from tender.platform import Platform
from tender.runtime import serving
from tender.tenders.models import OpeningMethod, Tender
from tender.tenders.schemas import TenderCreate
from tests.conftest import People
from tests.helpers import published_tender, unit_of_work, upload
from tests.opendata.ocds import ocds_problems

pytestmark = pytest.mark.integration


@pytest.fixture
def url(platform: Platform) -> Iterator[str]:
    with serving(platform) as base:
        yield base


def releases(url: str, **params: object) -> httpx.Response:
    """The public route, called without signing in."""
    return httpx.get(f"{url}/ocds/releases", params={k: str(v) for k, v in params.items()})


def valid_package(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    package: dict[str, Any] = response.json()
    assert ocds_problems(package) == []
    return package


def ocid(platform: Platform, tender: Tender) -> str:
    return f"{platform.settings.ocds_prefix}-{tender.id}"


def test_a_published_tender_is_a_valid_release_and_a_draft_is_nowhere(
    platform: Platform, people: People, clock: ManualClock, url: str
) -> None:
    tender = published_tender(platform, people.officer, clock, ref="HK-OD-1")
    with unit_of_work(platform) as services:
        draft = services.tenders.create(
            actor=people.officer,
            data=TenderCreate(
                reference="HK-OD-SECRET",
                title="Not yet",
                deadline=clock.now() + timedelta(days=3),
                opening=OpeningMethod.AUTOMATIC,
            ),
        )

    package = valid_package(releases(url, ocid=ocid(platform, tender)))

    (release,) = package["releases"]
    assert release["ocid"] == ocid(platform, tender)
    assert release["tag"] == ["tender"]
    assert release["date"] == ocds_time(clock.now())
    assert release["tender"]["id"] == "HK-OD-1"
    assert release["tender"]["status"] == "active"
    assert release["tender"]["tenderPeriod"]["endDate"] == ocds_time(tender.deadline)
    assert release["buyer"]["name"] == release["parties"][0]["name"]
    # The draft: unknown by its ocid, absent from the list.
    hidden = releases(url, ocid=ocid(platform, draft))
    assert hidden.status_code == 404
    listed = valid_package(releases(url))
    assert "HK-OD-SECRET" not in json.dumps(listed)
    assert [r["ocid"] for r in listed["releases"]] == [ocid(platform, tender)]


def test_before_the_opening_nothing_about_bids_is_published(
    platform: Platform, people: People, clock: ManualClock, url: str
) -> None:
    tender = published_tender(platform, people.officer, clock, ref="HK-OD-2")
    upload(platform, people.alice, tender.id, "offer.pdf", [b"%PDF-1.7 offer"])
    clock.advance(timedelta(hours=3))  # past the deadline, not opened yet

    package = valid_package(releases(url, ocid=ocid(platform, tender)))

    text = json.dumps(package)
    assert "numberOfTenderers" not in text
    assert "tenderers" not in text
    assert "Alpha" not in text
    assert "offer.pdf" not in text
    assert [r["tag"] for r in package["releases"]] == [["tender"]]


def test_an_addendum_and_the_opening_each_add_a_release(
    platform: Platform, people: People, clock: ManualClock, url: str
) -> None:
    tender = published_tender(platform, people.officer, clock, ref="HK-OD-3")
    first_deadline = tender.deadline
    clock.advance(timedelta(minutes=30))
    extended = first_deadline + timedelta(hours=1)
    with unit_of_work(platform) as services:
        AddendumService(
            session=services.session,
            clock=clock,
            jobs=platform.jobs,
            deadline_horizon=timedelta(days=platform.settings.deadline_horizon_days),
        ).publish(
            actor=people.officer,
            tender_id=tender.id,
            data=AddendumIn(text="Site visit moved; deadline extended.", deadline=extended),
        )
    upload(platform, people.alice, tender.id, "offer.pdf", [b"%PDF-1.7 alpha"])
    upload(platform, people.alice, tender.id, "prices.pdf", [b"%PDF-1.7 alpha prices"])
    upload(platform, people.bob, tender.id, "offer.pdf", [b"%PDF-1.7 beta"])
    clock.advance(timedelta(hours=4))
    platform.opener.open_tender(tender.id)

    package = valid_package(releases(url, ocid=ocid(platform, tender)))

    published, amended, opened = package["releases"]
    assert published["tag"] == ["tender"]
    assert published["tender"]["tenderPeriod"]["endDate"] == ocds_time(first_deadline)
    assert amended["tag"] == ["tenderAmendment"]
    assert amended["tender"]["tenderPeriod"]["endDate"] == ocds_time(extended)
    (amendment,) = amended["tender"]["amendments"]
    assert amendment["description"] == "Site visit moved; deadline extended."
    assert amendment["amendsReleaseID"] == published["id"]
    assert amendment["releaseID"] == amended["id"]
    assert opened["tag"] == ["tenderUpdate"]
    # Two organisations bid (Alpha's two files are one tenderer); their names stay out.
    assert opened["tender"]["numberOfTenderers"] == 2
    assert "Alpha" not in json.dumps(package)
    assert len({r["id"] for r in package["releases"]}) == 3


def test_the_list_pages_with_bounded_parameters(
    platform: Platform, people: People, clock: ManualClock, url: str
) -> None:
    for number in range(3):
        published_tender(platform, people.officer, clock, ref=f"HK-OD-L{number}")
        clock.advance(timedelta(minutes=1))  # the list is oldest first

    first = valid_package(releases(url, limit=2))
    assert [r["tender"]["id"] for r in first["releases"]] == ["HK-OD-L0", "HK-OD-L1"]
    rest = valid_package(httpx.get(first["links"]["next"]))
    assert [r["tender"]["id"] for r in rest["releases"]] == ["HK-OD-L2"]
    assert "links" not in rest
    for bad in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"offset": 2**63}):
        assert releases(url, **bad).status_code == 400, bad
    beyond = releases(url, offset=3)
    assert beyond.status_code == 404
    assert "published 3 tenders" in beyond.json()["why"]


def test_an_award_is_a_release_naming_the_winner_and_a_cancellation_one_too(
    platform: Platform, people: People, clock: ManualClock, url: str
) -> None:
    tender = published_tender(platform, people.officer, clock, ref="HK-OD-4")
    called_off = published_tender(platform, people.officer, clock, ref="HK-OD-5")
    upload(platform, people.alice, tender.id, "offer.pdf", [b"%PDF-1.7 alpha"])
    upload(platform, people.bob, tender.id, "offer.pdf", [b"%PDF-1.7 beta"])
    clock.advance(timedelta(hours=3))
    platform.opener.open_tender(tender.id)
    clock.advance(timedelta(days=1))
    with unit_of_work(platform) as services:
        AwardService(session=services.session, clock=clock).award(
            actor=people.officer,
            tender_id=tender.id,
            data=AwardCreate(
                winners=["Beta Ltd"], value="1250000.50", currency="HKD", reasons="Lowest price"
            ),
        )
        services.tenders.cancel(
            actor=people.officer, tender_id=called_off.id, reason="Budget withdrawn"
        )

    package = valid_package(releases(url, ocid=ocid(platform, tender)))
    cancelled = valid_package(releases(url, ocid=ocid(platform, called_off)))

    awarded = package["releases"][-1]
    assert awarded["tag"] == ["award"]
    assert awarded["date"] == ocds_time(clock.now())
    assert awarded["tender"]["status"] == "complete"
    (award,) = awarded["awards"]
    assert award["value"] == {"amount": 1250000.5, "currency": "HKD"}
    (winner,) = award["suppliers"]
    assert winner["name"] == "Beta Ltd"
    assert {"id": winner["id"], "name": "Beta Ltd", "roles": ["supplier"]} in awarded["parties"]
    assert "Alpha" not in json.dumps(package)  # the loser is not named
    assert [r["tag"] for r in cancelled["releases"]] == [["tender"], ["tenderCancellation"]]
    assert cancelled["releases"][-1]["tender"]["status"] == "cancelled"
