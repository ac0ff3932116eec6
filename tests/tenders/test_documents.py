"""Tender documents and addenda over HTTP, on both databases and real storage: what the buying
officers publish, what suppliers read (and that each read is on record), how an addendum
extends the deadline, and every refusal."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from tender.accounts.models import Role, User
from tender.accounts.service import AccountService
from tender.app import create_app
from tender.audit.models import AuditEvent
from tender.bids.intake import MAX_FILE_NAME
from tender.clock import ManualClock, format_time
from tender.notifications.messages import MessageKind
from tender.notifications.models import OutboxMessage
from tender.platform import Platform
from tender.signing.testing import TestPKI, signed_pdf
from tender.tenders.models import Tender, TenderStatus
from tender.text import DESCRIPTION_MAX
from tender.verifier.bundle import verify_bundle
from tender.verifier.receipt import verify_receipt
from tests.conftest import People
from tests.helpers import audit_kinds, published_tender, register_signer, unit_of_work, upload

SPEC = b"%PDF-1.7 specification: 3 km of road, resurfaced\n" * 200
SPEC_V2 = b"%PDF-1.7 specification: 4 km of road, resurfaced\n" * 200


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(platform)) as client:
        yield client


def other_officer(platform: Platform) -> tuple[User, str]:
    """An officer of another buying organisation, with a token."""
    with platform.sessions.begin() as session:
        return AccountService(session=session, clock=platform.clock).create_user(
            name="Otto", organisation="Other Department", role=Role.OFFICER
        )


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def as_(people: People, name: str) -> dict[str, str]:
    return auth(people.tokens[name])


def draft(client: TestClient[Litestar], people: People, clock: ManualClock) -> str:
    answer = client.post(
        "/api/tenders",
        headers=as_(people, "Olivia"),
        json={
            "reference": "RD-7",
            "title": "Road resurfacing",
            "deadline": (clock.now() + timedelta(hours=2)).isoformat(),
            "opening": "automatic",
        },
    )
    assert answer.status_code == 201, answer.text
    tender_id: str = answer.json()["id"]
    return tender_id


def put_document(
    client: TestClient[Litestar], tender_id: object, name: str, content: bytes, token: str
) -> Any:
    return client.put(
        f"/api/tenders/{tender_id}/documents/{name}", headers=auth(token), content=content
    )


def amend(client: TestClient[Litestar], tender: Tender, people: People, **fields: Any) -> Any:
    return client.post(
        f"/api/tenders/{tender.id}/addenda",
        headers=as_(people, "Olivia"),
        json={"text": "Section 3 changes.", **fields},
    )


def test_documents_of_a_draft_are_read_by_suppliers_once_published_and_each_read_is_on_record(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    tender_id = draft(client, people, clock)
    officer = people.tokens["Olivia"]
    first = put_document(client, tender_id, "spec.pdf", SPEC, officer)
    unseen = client.get(f"/api/tenders/{tender_id}/documents", headers=as_(people, "Alice"))
    replaced = put_document(client, tender_id, "spec.pdf", SPEC_V2, officer)
    put_document(client, tender_id, "price-schedule.xlsx", b"item,qty,rate\n", officer)
    client.post(f"/api/tenders/{tender_id}/publish", headers=as_(people, "Olivia"))

    listed = client.get(f"/api/tenders/{tender_id}/documents", headers=as_(people, "Alice"))
    read = client.get(f"/api/tenders/{tender_id}/documents/spec.pdf", headers=as_(people, "Alice"))
    client.get(f"/api/tenders/{tender_id}/documents/spec.pdf", headers=as_(people, "Bob"))
    downloads = client.get(
        f"/api/tenders/{tender_id}/documents/downloads", headers=as_(people, "Olivia")
    )

    assert first.status_code == 201
    assert first.json()["sha256"] == hashlib.sha256(SPEC).hexdigest()
    assert first.json()["addendum"] == 0
    assert unseen.status_code == 404  # a draft is nobody's business but its organisation's
    assert replaced.status_code == 201
    # The version replaced while a draft was never published: suppliers do not see it.
    assert [(d["name"], d["sha256"], d["size"], d["addendum"]) for d in listed.json()] == [
        ("price-schedule.xlsx", hashlib.sha256(b"item,qty,rate\n").hexdigest(), 14, 0),
        ("spec.pdf", hashlib.sha256(SPEC_V2).hexdigest(), len(SPEC_V2), 0),
    ]
    assert read.status_code == 200
    assert read.content == SPEC_V2
    assert read.headers["x-content-sha256"] == hashlib.sha256(SPEC_V2).hexdigest()
    assert downloads.status_code == 200
    assert [(d["user_name"], d["organisation"], d["document"], d["sha256"])
            for d in downloads.json()] == [
        ("Alice", "Alpha Ltd", "spec.pdf", hashlib.sha256(SPEC_V2).hexdigest()),
        ("Bob", "Beta Ltd", "spec.pdf", hashlib.sha256(SPEC_V2).hexdigest()),
    ]  # fmt: skip
    assert audit_kinds(platform, uuid.UUID(tender_id)).count("tender.document_added") == 3


def test_who_downloaded_is_for_the_buying_officers_only(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock)
    _, otto = other_officer(platform)
    path = f"/api/tenders/{tender.id}/documents/downloads"

    assert client.get(path, headers=as_(people, "Alice")).status_code == 403
    assert client.get(path, headers=auth(otto)).status_code == 403
    assert client.get(path, headers=as_(people, "Olivia")).json() == []


def test_uploads_are_refused_to_others_and_after_the_deadline(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock)
    _, otto = other_officer(platform)

    by_supplier = put_document(client, tender.id, "spec.pdf", SPEC, people.tokens["Alice"])
    by_other_organisation = put_document(client, tender.id, "spec.pdf", SPEC, otto)
    empty = put_document(client, tender.id, "spec.pdf", b"", people.tokens["Olivia"])
    reserved = put_document(client, tender.id, "downloads", SPEC, people.tokens["Olivia"])
    clock.set(tender.deadline)
    too_late = put_document(client, tender.id, "spec.pdf", SPEC, people.tokens["Olivia"])

    assert by_supplier.status_code == 403
    assert by_other_organisation.status_code == 403
    assert "another organisation" in by_other_organisation.json()["why"]
    assert empty.status_code == 422
    assert reserved.status_code == 405  # the path of the downloads' list: not a document
    assert too_late.status_code == 409
    assert "deadline" in too_late.json()["why"]
    assert audit_kinds(platform, tender.id).count("request.refused") == 4
    assert "tender.document_added" not in audit_kinds(platform, tender.id)


def test_a_missing_document_is_not_found(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock)

    missing = client.get(f"/api/tenders/{tender.id}/documents/spec.pdf", headers=as_(people, "Bob"))

    assert missing.status_code == 404
    assert "spec.pdf" in missing.json()["what"]


def test_an_addendum_publishes_new_versions_and_keeps_the_old_ones_readable(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    tender_id = draft(client, people, clock)
    officer = people.tokens["Olivia"]
    put_document(client, tender_id, "spec.pdf", SPEC, officer)
    client.post(f"/api/tenders/{tender_id}/publish", headers=as_(people, "Olivia"))
    with unit_of_work(platform) as services:
        tender = services.tenders.get(uuid.UUID(tender_id), viewer=people.officer)
    put_document(client, tender_id, "spec.pdf", SPEC_V2, officer)
    documents = f"/api/tenders/{tender_id}/documents"
    waiting_for_supplier = client.get(documents, headers=as_(people, "Alice")).json()
    waiting_for_officer = client.get(documents, headers=as_(people, "Olivia")).json()

    published = amend(client, tender, people, documents=["spec.pdf"])
    current = client.get(f"{documents}/spec.pdf", headers=as_(people, "Alice"))
    original = client.get(f"{documents}/spec.pdf?addendum=0", headers=as_(people, "Alice"))
    addenda = client.get(f"/api/tenders/{tender_id}/addenda", headers=as_(people, "Bob")).json()

    assert [d["addendum"] for d in waiting_for_supplier] == [0]
    assert sorted(str(d["addendum"]) for d in waiting_for_officer) == ["0", "None"]
    assert published.status_code == 201, published.text
    assert published.json()["number"] == 1
    assert current.content == SPEC_V2
    assert original.content == SPEC
    assert [(a["number"], a["text"], [d["sha256"] for d in a["documents"]]) for a in addenda] == [
        (1, "Section 3 changes.", [hashlib.sha256(SPEC_V2).hexdigest()])
    ]
    listed = client.get(documents, headers=as_(people, "Alice")).json()
    assert [(d["addendum"], d["superseded"]) for d in listed] == [(0, True), (1, False)]


def test_an_addendum_extends_the_deadline_and_reschedules_the_opening(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=2)
    queues = platform.jobs.broker.queues  # the StubBroker's
    scheduled = sum(q.qsize() for q in queues.values())
    later = tender.deadline + timedelta(days=3)

    answer = amend(client, tender, people, deadline=later.isoformat())
    rescheduled = sum(q.qsize() for q in queues.values())
    shown = client.get(f"/api/tenders/{tender.id}", headers=as_(people, "Alice")).json()
    clock.set(tender.deadline + timedelta(hours=1))  # after the old deadline, before the new
    receipt = upload(platform, people.alice, tender.id, "offer.pdf", [b"%PDF-1.7 our offer"])

    assert answer.status_code == 201, answer.text
    assert answer.json()["previous_deadline"].startswith(tender.deadline.date().isoformat())
    assert datetime.fromisoformat(shown["deadline"]) == later
    assert rescheduled == scheduled + 1
    assert receipt.received_at < later
    with platform.sessions.begin() as session:
        event = session.query(AuditEvent).filter_by(kind="tender.amended").one()
        assert event.payload["deadline"] == format_time(later)
        assert event.payload["previous_deadline"] == format_time(tender.deadline)


def test_the_tender_opens_at_the_extended_deadline_not_the_old_one(
    client: TestClient[Litestar],
    platform: Platform,
    people: People,
    clock: ManualClock,
    test_pki: TestPKI,
    tmp_path: Path,
) -> None:
    register_signer(platform, people.alice, test_pki, "supplier-a")
    tender = published_tender(platform, people.officer, clock, hours=2)
    later = tender.deadline + timedelta(hours=5)
    amend(client, tender, people, deadline=later.isoformat())
    clock.set(tender.deadline)  # the first message arrives

    early = platform.opener.open_tender(tender.id)
    status_then = status_of(platform, tender.id)
    clock.set(tender.deadline + timedelta(hours=1))
    offer = signed_pdf(test_pki, "supplier-a", "HKD 1")
    receipt = upload(platform, people.alice, tender.id, "offer.pdf", [offer])
    clock.set(later)
    opened = platform.opener.open_tender(tender.id)

    assert early.not_due_for == later - tender.deadline  # it asks again at the new deadline
    assert not early.halted
    assert status_then is TenderStatus.PUBLISHED
    assert opened.status == TenderStatus.OPENED
    assert opened.documents_opened_now == 1
    assert receipt.deadline == later
    bundle = tmp_path / "bundle.zip"
    platform.exporter.export(tender_reference=tender.reference, out=bundle)
    checks = verify_bundle(bundle, platform.checkpointer.signer.verifier_key())
    assert {c.name: c.detail for c in checks if not c.ok} == {}
    vkey, anchors = platform.checkpointer.signer.verifier_key(), test_pki.trust_store()
    assert receipt.signed_receipt is not None
    assert [c.name for c in verify_receipt(receipt.signed_receipt, vkey, tsa_trust=anchors)
            if not c.ok] == []  # fmt: skip


def status_of(platform: Platform, tender_id: uuid.UUID) -> TenderStatus:
    with unit_of_work(platform) as services:
        return services.tenders.get(tender_id, viewer=None).status


@pytest.mark.parametrize(
    ("change", "status", "said"),
    [
        ({"hours": -1}, 422, "not later than the current one"),
        ({"hours": 0}, 422, "not later than the current one"),
        ({"hours": 24 * 365 * 3}, 422, "too far ahead"),
        ({"naive": True}, 422, "no time zone"),
        ({"text": " "}, 422, "no text"),
        ({"documents": ["nothing.pdf"]}, 422, "nothing.pdf"),
    ],
)
def test_an_addendum_that_would_shorten_the_deadline_or_says_nothing_is_refused(
    client: TestClient[Litestar],
    platform: Platform,
    people: People,
    clock: ManualClock,
    change: dict[str, Any],
    status: int,
    said: str,
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=2)
    fields: dict[str, Any] = {}
    if "hours" in change:
        fields["deadline"] = (tender.deadline + timedelta(hours=change["hours"])).isoformat()
    if change.get("naive"):
        fields["deadline"] = "2027-01-01T12:00:00"
    if "text" in change:
        fields["text"] = change["text"]
    if "documents" in change:
        fields["documents"] = change["documents"]

    answer = amend(client, tender, people, **fields)

    assert answer.status_code == status, answer.text
    assert said in answer.json()["message"]
    assert "tender.amended" not in audit_kinds(platform, tender.id)
    with unit_of_work(platform) as services:
        assert services.tenders.get(tender.id, viewer=None).deadline == tender.deadline


def test_an_addendum_is_refused_after_the_deadline_for_a_draft_and_to_others(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=2)
    draft_id = draft(client, people, clock)
    _, otto = other_officer(platform)
    body = {"text": "Extended.", "deadline": (tender.deadline + timedelta(days=1)).isoformat()}

    by_supplier = client.post(
        f"/api/tenders/{tender.id}/addenda", headers=as_(people, "Alice"), json=body
    )
    by_other = client.post(f"/api/tenders/{tender.id}/addenda", headers=auth(otto), json=body)
    to_draft = client.post(
        f"/api/tenders/{draft_id}/addenda", headers=as_(people, "Olivia"), json=body
    )
    clock.set(tender.deadline + timedelta(seconds=1))
    too_late = client.post(
        f"/api/tenders/{tender.id}/addenda", headers=as_(people, "Olivia"), json=body
    )

    assert by_supplier.status_code == 403
    assert by_other.status_code == 403
    assert to_draft.status_code == 409
    assert "draft" in to_draft.json()["what"]
    assert too_late.status_code == 409
    assert "has passed" in too_late.json()["why"]
    assert "tender.amended" not in audit_kinds(platform)


def test_suppliers_taking_part_are_told_of_an_addendum(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=2)
    upload(platform, people.alice, tender.id, "offer.pdf", [b"%PDF-1.7 our offer"])
    later = tender.deadline + timedelta(days=1)

    amend(client, tender, people, deadline=later.isoformat())

    with platform.sessions.begin() as session:
        told = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == MessageKind.ADDENDUM_PUBLISHED.value)
        ).all()
        assert [m.recipient_user_id for m in told] == [people.alice.id]  # Bob takes no part
        assert "Section 3 changes." in told[0].body
        assert f"{later:%Y-%m-%d %H:%M:%S} UTC" in told[0].body


@pytest.mark.parametrize("field", ["addendum text", "file name"])
def test_addenda_texts_and_document_names_are_bounded_and_stored_in_nfc(
    client: TestClient[Litestar],
    platform: Platform,
    people: People,
    clock: ManualClock,
    field: str,
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=2)

    def send(words: str) -> Any:
        if field == "addendum text":
            return amend(client, tender, people, text=words)
        # Percent-encoded, as a browser sends a name it cannot put in a URL as it is.
        return put_document(client, tender.id, quote(words), SPEC, people.tokens["Olivia"])

    too_long = send("x" * (DESCRIPTION_MAX if field == "addendum text" else MAX_FILE_NAME) + "x")
    bidi = send("Section 3\u202efdp.exe")
    control = send("Section\x07 3.pdf")
    composed = send("Cafe\u0301 3.pdf")

    for refused in (too_long, bidi, control):
        assert refused.status_code == 422, refused.text
        assert refused.json()["details"]["field"] == field
    assert bidi.json()["details"]["characters"] == ["U+202E"]
    assert control.json()["details"]["characters"] == ["U+0007"]
    assert composed.status_code == 201, composed.text
    key = "text" if field == "addendum text" else "name"
    assert composed.json()[key] == "Caf\u00e9 3.pdf"  # stored in NFC
