"""Withdrawing a bid over HTTP: before the deadline only, receipted, sealed in the log until
the opening, and never opened."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from tender.app import create_app
from tender.audit import service as audit
from tender.audit.models import AuditEvent
from tender.clock import ManualClock
from tender.platform import Platform
from tender.signing.testing import TestPKI, signed_pdf
from tender.verifier.ledger import TenderLedger
from tests.conftest import People
from tests.helpers import published_tender, register_signer, upload


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(platform)) as client:
        yield client


def test_a_withdrawn_file_is_receipted_sealed_and_not_opened_and_late_ones_are_refused(
    client: TestClient[Litestar],
    platform: Platform,
    people: People,
    clock: ManualClock,
    test_pki: TestPKI,
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    register_signer(platform, people.alice, test_pki, "supplier-a")
    kept = upload(
        platform, people.alice, tender.id, "bid.pdf", [signed_pdf(test_pki, "supplier-a", "A")]
    )
    dropped = upload(platform, people.alice, tender.id, "extra.pdf", [b"%PDF-1.7 extra"])
    alice = {"Authorization": f"Bearer {people.tokens['Alice']}"}
    url = f"/api/tenders/{tender.id}/withdrawal"

    nothing = client.post(url, json={"file_name": "never-sent.pdf"}, headers=alice)
    withdrawn = client.post(url, json={"file_name": "extra.pdf"}, headers=alice)
    with platform.sessions.begin() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.kind == "bid.withdrawn")).one()
        logged = audit.to_json(event)
    clock.set(tender.deadline + timedelta(seconds=1))
    late = client.post(url, json={}, headers=alice)
    platform.opener.open_tender(tender.id)
    with platform.sessions.begin() as session:
        ledger = TenderLedger.of(audit.tender_events(session, tender.id))

    assert nothing.status_code == 422
    assert withdrawn.status_code == 201, withdrawn.text
    receipt = withdrawn.json()
    assert receipt["withdrawn"] == [str(dropped.receipt_id)]
    assert receipt["signed_receipt"]  # signed with the next checkpoint's proof
    assert receipt["inclusion_proof"] is not None
    # Before the opening the log says only that something was withdrawn, not by whom.
    assert logged["actor"] == audit.SEALED_ACTOR
    assert "Alpha" not in str(logged["payload"])
    assert "extra.pdf" not in str(logged["payload"])
    assert late.status_code == 409
    assert "closed" in late.json()["what"]
    assert ledger.withdrawn == {str(dropped.receipt_id): event.seq}
    assert set(ledger.opened) == {str(kept.receipt_id)}  # the withdrawn file was not opened


def test_a_whole_bid_withdrawn_leaves_nothing_to_open(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    upload(platform, people.bob, tender.id, "a.pdf", [b"%PDF-1.7 a"])
    upload(platform, people.bob, tender.id, "b.pdf", [b"%PDF-1.7 b"])
    bob = {"Authorization": f"Bearer {people.tokens['Bob']}"}

    withdrawn = client.post(f"/api/tenders/{tender.id}/withdrawal", json={}, headers=bob)
    again = client.post(f"/api/tenders/{tender.id}/withdrawal", json={}, headers=bob)
    summary = client.get(
        f"/api/tenders/{tender.id}/bids",
        headers={"Authorization": f"Bearer {people.tokens['Olivia']}"},
    )
    clock.set(tender.deadline + timedelta(seconds=1))
    outcome = platform.opener.open_tender(tender.id)

    assert withdrawn.status_code == 201
    assert len(withdrawn.json()["withdrawn"]) == 2
    assert again.status_code == 422  # nothing left to withdraw
    assert summary.json()["documents_received"] == 0
    assert outcome.status == "opened"
    assert outcome.documents_opened_now == 0
