"""Clarifications over HTTP, on both databases: a supplier asks privately, the buying officer's
answer is published to every supplier without saying who asked, and every refusal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from tender.app import create_app
from tender.audit.models import AuditEvent
from tender.clarifications.service import QUESTION_MAX
from tender.clock import ManualClock
from tender.notifications.messages import MessageKind
from tender.notifications.models import OutboxMessage
from tender.platform import Platform
from tender.tenders.models import Tender
from tests.conftest import People
from tests.helpers import audit_kinds, published_tender, upload
from tests.tenders.test_documents import as_, auth, draft, other_officer

QUESTION = "Does section 3 include the footpaths?"


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(platform)) as client:
        yield client


def ask(client: TestClient[Litestar], tender: Tender, people: People, who: str = "Alice") -> Any:
    return client.post(
        f"/api/tenders/{tender.id}/clarifications",
        headers=as_(people, who),
        json={"question": QUESTION},
    )


def answer(client: TestClient[Litestar], tender: Tender, cid: str, headers: dict[str, str]) -> Any:
    return client.post(
        f"/api/tenders/{tender.id}/clarifications/{cid}/answer",
        headers=headers,
        json={"answer": "Yes, both sides of the road."},
    )


def seen_by(
    client: TestClient[Litestar], tender: Tender, headers: dict[str, str]
) -> list[dict[str, Any]]:
    listed = client.get(f"/api/tenders/{tender.id}/clarifications", headers=headers)
    assert listed.status_code == 200, listed.text
    shown: list[dict[str, Any]] = listed.json()
    return shown


def test_a_question_is_private_until_answered_then_public_without_the_asker(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock)
    _, otto = other_officer(platform)
    upload(platform, people.bob, tender.id, "offer.pdf", [b"%PDF-1.7 beta"])  # Bob bid

    asked = ask(client, tender, people)
    cid = asked.json()["id"]
    before = {
        who: seen_by(client, tender, headers)
        for who, headers in [
            ("Alice", as_(people, "Alice")),
            ("Bob", as_(people, "Bob")),
            ("Olivia", as_(people, "Olivia")),
            ("Otto", auth(otto)),
        ]
    }
    answered = answer(client, tender, cid, as_(people, "Olivia"))
    for_bob = seen_by(client, tender, as_(people, "Bob"))
    for_alice = seen_by(client, tender, as_(people, "Alice"))

    assert asked.status_code == 201, asked.text
    assert [(c["question"], c["answer"], c["yours"]) for c in before["Alice"]] == [
        (QUESTION, None, True)
    ]
    assert before["Bob"] == []
    assert before["Otto"] == []  # an officer of another organisation is not the buyer
    assert [c["asked_by_organisation"] for c in before["Olivia"]] == ["Alpha Ltd"]
    assert answered.status_code == 200, answered.text
    assert [(c["question"], c["answer"], c["yours"], c["asked_by_organisation"])
            for c in for_bob] == [
        (QUESTION, "Yes, both sides of the road.", False, None)
    ]  # fmt: skip
    assert for_alice[0]["yours"] is True
    assert audit_kinds(platform, tender.id)[-2:] == [
        "clarification.asked",
        "clarification.answered",
    ]
    with platform.sessions.begin() as session:
        told = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.kind == MessageKind.CLARIFICATION_ANSWERED.value
            )
        ).all()
        assert {m.recipient_user_id for m in told} == {people.alice.id, people.bob.id}
        assert all("Alpha" not in m.body for m in told)  # nobody is told who asked
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.kind.like("clarification.%"))
        ).all()
        assert all(QUESTION not in str(e.payload) for e in events)  # hashes, not texts


def test_asking_and_answering_are_refused_to_the_wrong_people(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock)
    _, otto = other_officer(platform)
    cid = ask(client, tender, people).json()["id"]

    by_officer = ask(client, tender, people, who="Olivia")
    by_supplier = answer(client, tender, cid, as_(people, "Bob"))
    by_other = answer(client, tender, cid, auth(otto))
    unknown = answer(client, tender, "00000000-0000-4000-8000-000000000000", as_(people, "Olivia"))
    answer(client, tender, cid, as_(people, "Olivia"))
    twice = answer(client, tender, cid, as_(people, "Olivia"))

    assert by_officer.status_code == 403
    assert by_supplier.status_code == 403
    assert by_other.status_code == 403
    assert unknown.status_code == 404
    assert twice.status_code == 409
    assert "addendum" in twice.json()["what_to_do"]
    assert audit_kinds(platform, tender.id).count("clarification.answered") == 1


def test_questions_close_at_the_deadline_and_drafts_take_none(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock)
    draft_id = draft(client, people, clock)
    cid = ask(client, tender, people).json()["id"]
    empty = client.post(
        f"/api/tenders/{tender.id}/clarifications",
        headers=as_(people, "Alice"),
        json={"question": "  "},
    )
    to_draft = client.post(
        f"/api/tenders/{draft_id}/clarifications",
        headers=as_(people, "Alice"),
        json={"question": QUESTION},
    )
    clock.set(tender.deadline + timedelta(seconds=1))

    too_late = ask(client, tender, people)
    answered_late = answer(client, tender, cid, as_(people, "Olivia"))

    assert empty.status_code == 422
    assert to_draft.status_code == 404  # a supplier does not see drafts
    assert too_late.status_code == 409
    assert "closed for clarifications" in too_late.json()["what"]
    assert "deadline" in too_late.json()["why"]
    assert answered_late.status_code == 409
    assert audit_kinds(platform, tender.id).count("clarification.asked") == 1


@pytest.mark.parametrize("field", ["question", "answer"])
def test_what_a_clarification_says_is_bounded_and_stored_in_nfc(
    client: TestClient[Litestar],
    platform: Platform,
    people: People,
    clock: ManualClock,
    field: str,
) -> None:
    tender = published_tender(platform, people.officer, clock)
    cid = ask(client, tender, people).json()["id"]

    def send(words: str) -> Any:
        if field == "question":
            return client.post(
                f"/api/tenders/{tender.id}/clarifications",
                headers=as_(people, "Alice"),
                json={"question": words},
            )
        return client.post(
            f"/api/tenders/{tender.id}/clarifications/{cid}/answer",
            headers=as_(people, "Olivia"),
            json={"answer": words},
        )

    too_long = send("x" * (QUESTION_MAX + 1))
    bidi = send("Section \u202e3 noitces")
    control = send("Section\x1b[2J 3")
    composed = send("Cafe\u0301 footpaths,\r\nboth sides?")

    for refused in (too_long, bidi, control):
        assert refused.status_code == 422, refused.text
        assert refused.json()["details"]["field"] == field
    assert bidi.json()["details"]["characters"] == ["U+202E"]
    assert control.json()["details"]["characters"] == ["U+001B"]
    assert composed.status_code in {200, 201}, composed.text
    shown = {c[field] for c in seen_by(client, tender, as_(people, "Alice"))}
    assert "Caf\u00e9 footpaths,\nboth sides?" in shown  # NFC; a line end typed as CR LF
