"""The tender's states over HTTP, on both databases: every transition, and every refusal of
one that the table of transitions does not allow, says what state the tender is in and what
is possible from it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tender.app import create_app
from tender.clock import ManualClock, format_time
from tender.errors import TenderClosed
from tender.platform import Platform
from tender.signing.testing import TestPKI
from tests.conftest import People
from tests.helpers import audit_kinds, opened_with_one_valid_bid, published_tender, upload


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(platform)) as client:
        yield client


def _as(people: People, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {people.tokens[name]}"}


def _draft(
    client: TestClient[Litestar], people: People, clock: ManualClock, **fields: Any
) -> dict[str, Any]:
    body = {
        "reference": "RFT-7",
        "title": "Road works",
        "deadline": format_time(clock.now() + timedelta(hours=2)),
        "opening": "automatic",
        **fields,
    }
    response = client.post("/api/tenders", json=body, headers=_as(people, "Olivia"))
    assert response.status_code == 201, response.text
    draft: dict[str, Any] = response.json()
    return draft


def test_a_draft_whose_deadline_passed_is_fixed_published_then_no_longer_editable(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    officer = _as(people, "Olivia")
    draft = _draft(client, people, clock)
    url = f"/api/tenders/{draft['id']}"
    clock.advance(timedelta(hours=3))  # the draft's deadline passes before it is published

    too_late = client.post(f"{url}/publish", headers=officer)
    fixed = client.patch(
        url,
        json={"deadline": format_time(clock.now() + timedelta(days=7)), "title": "Roads "},
        headers=officer,
    )
    published = client.post(f"{url}/publish", headers=officer)
    edited_later = client.patch(url, json={"title": "Bridges"}, headers=officer)

    assert too_late.status_code == 422
    assert "already passed" in too_late.json()["what"]
    assert f"PATCH /api/tenders/{draft['id']}" in too_late.json()["what_to_do"]
    assert fixed.status_code == 200
    assert fixed.json()["title"] == "Roads"
    assert fixed.json()["status"] == "draft"
    assert published.status_code == 200
    assert published.json()["status"] == "published"
    assert edited_later.status_code == 409
    assert "addendum" in edited_later.json()["what_to_do"]
    assert audit_kinds(platform, uuid.UUID(draft["id"])) == [
        "tender.created",
        "request.refused",  # the first publish
        "tender.edited",
        "tender.published",
        "request.refused",  # the late edit
    ]


def test_a_published_tender_reads_as_closed_from_its_deadline(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    url = f"/api/tenders/{tender.id}"
    before = client.get(url, headers=_as(people, "Alice")).json()["status"]
    clock.set(tender.deadline)
    after = client.get(url, headers=_as(people, "Alice")).json()["status"]
    listed = client.get("/api/tenders", headers=_as(people, "Alice")).json()

    assert (before, after) == ("published", "closed")
    assert [t["status"] for t in listed] == ["closed"]


def test_an_illegal_transition_is_a_conflict_naming_the_state_and_what_is_possible(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock)
    officer = _as(people, "Olivia")
    again = client.post(f"/api/tenders/{tender.id}/publish", headers=officer)
    award = client.post(
        f"/api/tenders/{tender.id}/award",
        json={"winners": ["Alpha Ltd"], "value": "100", "currency": "HKD", "reasons": "Best"},
        headers=officer,
    )

    assert again.status_code == 409
    assert again.json()["what"] == "Tender T-1 is published; it cannot become published."
    assert again.json()["why"] == "From published a tender can become only: closed, cancelled."
    assert again.json()["details"] == {"status": "published", "possible": ["closed", "cancelled"]}
    assert award.status_code == 409
    assert award.json()["details"]["status"] == "published"
    assert audit_kinds(platform, tender.id).count("request.refused") == 2


def test_a_cancelled_tender_takes_no_bids_and_its_opening_opens_nothing(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    upload(platform, people.alice, tender.id, "bid.pdf", [b"%PDF-1.7 sealed"])
    officer = _as(people, "Olivia")
    url = f"/api/tenders/{tender.id}"

    empty = client.post(f"{url}/cancellation", json={"reason": " \n"}, headers=officer)
    cancelled = client.post(
        f"{url}/cancellation", json={"reason": "The budget was withdrawn."}, headers=officer
    )
    with pytest.raises(TenderClosed, match="was cancelled"):
        upload(platform, people.bob, tender.id, "late.pdf", [b"%PDF-1.7 no"])
    clock.set(tender.deadline + timedelta(seconds=1))
    outcome = platform.opener.open_tender(tender.id)
    read = client.get(url, headers=_as(people, "Alice")).json()
    twice = client.post(f"{url}/cancellation", json={"reason": "Again"}, headers=officer)

    assert empty.status_code == 422
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert read["cancellation_reason"] == "The budget was withdrawn."
    assert outcome.status == "cancelled"
    assert outcome.documents_opened_now == 0
    kinds = audit_kinds(platform, tender.id)
    assert "tender.cancelled" in kinds
    assert "opening.started" not in kinds
    assert "sealed.revealed" not in kinds  # the bid stays sealed
    assert twice.status_code == 409
    assert twice.json()["why"] == "A cancelled tender is final: it changes no more."


def test_an_opened_tender_is_awarded_once_and_its_suppliers_read_the_outcome(
    client: TestClient[Litestar],
    platform: Platform,
    people: People,
    clock: ManualClock,
    test_pki: TestPKI,
) -> None:
    tender = opened_with_one_valid_bid(platform, people, clock, test_pki)
    officer = _as(people, "Olivia")
    url = f"/api/tenders/{tender.id}/award"
    award = {"winners": ["Alpha Ltd"], "value": "1250000.50", "currency": "hkd", "reasons": "OK"}

    not_yet = client.get(url, headers=_as(people, "Alice"))
    bad_currency = client.post(url, json={**award, "currency": "XYZ"}, headers=officer)
    bad_value = client.post(url, json={**award, "value": "1e400"}, headers=officer)
    too_precise = client.post(url, json={**award, "currency": "JPY"}, headers=officer)
    not_a_bidder = client.post(url, json={**award, "winners": ["Beta Ltd"]}, headers=officer)
    made = client.post(url, json=award, headers=officer)
    again = client.post(url, json=award, headers=officer)
    cancel = client.post(
        f"/api/tenders/{tender.id}/cancellation", json={"reason": "No"}, headers=officer
    )
    alice = client.get(url, headers=_as(people, "Alice"))
    bob = client.get(url, headers=_as(people, "Bob"))
    auditor = client.get(url, headers=_as(people, "Aaron"))
    status = client.get(f"/api/tenders/{tender.id}", headers=officer).json()["status"]

    assert not_yet.status_code == 409
    assert [r.status_code for r in (bad_currency, bad_value, too_precise, not_a_bidder)] == [
        422
    ] * 4
    assert not_a_bidder.json()["details"]["bidders"] == ["Alpha Ltd"]
    assert made.status_code == 201, made.text
    assert made.json()["currency"] == "HKD"
    assert made.json()["value"] == "1250000.50"
    assert again.status_code == 409
    assert cancel.status_code == 409
    assert status == "awarded"
    assert alice.status_code == 200
    (own,) = alice.json()["verdicts"]
    assert own["own"] is True
    assert own["file_name"] == "bid.pdf"
    assert own["indication"] == "TOTAL_PASSED"
    assert bob.status_code == 403  # Beta Ltd submitted nothing to this tender
    assert auditor.status_code == 200
    assert "tender.awarded" in audit_kinds(platform, tender.id)


def test_references_are_compared_without_case_and_text_is_bounded(
    client: TestClient[Litestar], people: People, clock: ManualClock
) -> None:
    officer = _as(people, "Olivia")
    _draft(client, people, clock, reference="RFT-7")
    soon = format_time(clock.now() + timedelta(hours=2))

    def create(**fields: Any) -> Any:
        body = {
            "reference": "RFT-8",
            "title": "T",
            "deadline": soon,
            "opening": "automatic",
            **fields,
        }
        return client.post("/api/tenders", json=body, headers=officer)

    same = create(reference="rft-7")
    bidi = create(title="Invoice \u202egnp.exe")
    control = create(reference="RFT\x00-9")
    long_title = create(title="x" * 301)
    far = create(deadline="9999-12-31T23:59:59Z")
    naive = create(deadline="2027-01-01T00:00:00")
    composed = create(reference="Cafe\u0301")

    assert same.status_code == 409
    assert bidi.status_code == 422
    assert bidi.json()["details"]["characters"] == ["U+202E"]
    assert control.status_code == 422
    assert long_title.status_code == 422
    assert far.status_code == 422
    assert "too far ahead" in far.json()["what"]
    assert naive.status_code == 422
    assert composed.json()["reference"] == "Caf\u00e9"  # stored in NFC
