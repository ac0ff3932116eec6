"""Who is told what, on the whole platform: receipts to their supplier only, the opening to
the suppliers who bid, reminders before the deadline; and delivery right after the commit."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tender.accounts.models import User
from tender.awards.schemas import AwardCreate
from tender.awards.service import AwardService
from tender.cli import main
from tender.clock import ManualClock
from tender.jobs import NOTIFICATIONS_QUEUE
from tender.notifications.messages import MessageKind
from tender.notifications.models import OutboxMessage
from tender.platform import Platform
from tender.signing.testing import TestPKI, signed_pdf
from tests.conftest import People
from tests.helpers import published_tender, register_signer, unit_of_work, upload


def outbox(platform: Platform, kind: MessageKind) -> list[OutboxMessage]:
    with platform.sessions.begin() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind.value)))


def with_email(platform: Platform, user: User, address: str) -> User:
    """``user``, as the platform reads them once they have an email address."""
    with platform.sessions.begin() as session:
        session.execute(update(User).where(User.id == user.id).values(email=address))
        reread = session.get(User, user.id, populate_existing=True)
        assert reread is not None
        return reread


def test_a_receipt_is_told_to_the_supplier_who_sent_the_file_and_nobody_else(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    alice = with_email(platform, people.alice, "alice@alpha.example")
    bob = with_email(platform, people.bob, "bob@beta.example")
    tender = published_tender(platform, people.officer, clock, hours=1)

    receipt = upload(platform, alice, tender.id, "offer.pdf", [b"%PDF-1.7 alpha"])

    [told] = outbox(platform, MessageKind.RECEIPT_ISSUED)
    assert told.recipient_user_id == people.alice.id
    assert told.to_address == "alice@alpha.example"
    assert str(receipt.receipt_id) in told.body
    assert receipt.sha256 in told.body
    assert "offer.pdf" in told.subject

    upload(platform, bob, tender.id, "bob.pdf", [b"%PDF-1.7 beta"])
    messages = outbox(platform, MessageKind.RECEIPT_ISSUED)
    by_recipient = {m.recipient_user_id: m for m in messages}
    assert set(by_recipient) == {people.alice.id, people.bob.id}
    # Neither message says anything of the other supplier's bid.
    alice_s, bob_s = by_recipient[people.alice.id], by_recipient[people.bob.id]
    assert "bob" not in (alice_s.subject + alice_s.body).lower()
    assert "Beta" not in alice_s.body
    assert "offer.pdf" not in bob_s.body
    assert "Alpha" not in bob_s.body

    delivered = platform.courier.deliver_pending()
    assert set(delivered.sent) == {alice_s.id, bob_s.id}
    folder = platform.settings.effective_outbox_dir
    assert "alice@alpha.example" in (folder / f"{alice_s.id}.eml").read_text()
    assert "alice@alpha.example" not in (folder / f"{bob_s.id}.eml").read_text()


def test_a_user_without_an_email_address_is_kept_in_the_outbox_and_not_sent(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    upload(platform, people.alice, tender.id, "offer.pdf", [b"%PDF-1.7 alpha"])

    [told] = outbox(platform, MessageKind.RECEIPT_ISSUED)
    assert told.to_address == ""
    assert platform.courier.deliver_pending().sent == []


def test_the_suppliers_who_bid_are_told_of_the_opening(
    platform: Platform, people: People, clock: ManualClock, test_pki: TestPKI
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    register_signer(platform, people.alice, test_pki, "supplier-a")
    upload(platform, people.alice, tender.id, "bid.pdf", [signed_pdf(test_pki, "supplier-a", "A")])
    assert outbox(platform, MessageKind.TENDER_OPENED) == []

    clock.set(tender.deadline + timedelta(seconds=1))
    platform.opener.open_tender(tender.id)

    [told] = outbox(platform, MessageKind.TENDER_OPENED)
    assert told.recipient_user_id == people.alice.id  # Bob sent nothing: not told
    assert told.tender_id == tender.id
    assert "opening record" in told.body
    # Opening again (a message delivered twice) tells nobody again.
    platform.opener.open_tender(tender.id)
    assert len(outbox(platform, MessageKind.TENDER_OPENED)) == 1


def test_a_supplier_who_started_a_bid_is_reminded_once_before_the_deadline(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=30)
    upload(platform, people.alice, tender.id, "part-1.pdf", [b"%PDF-1.7 alpha"])

    assert platform.remind_of_deadlines() == 0  # 30 hours ahead: not yet (24 by default)
    clock.advance(timedelta(hours=7))
    assert platform.remind_of_deadlines() == 1
    assert platform.remind_of_deadlines() == 0  # once

    [reminder] = outbox(platform, MessageKind.DEADLINE_APPROACHING)
    assert reminder.recipient_user_id == people.alice.id
    assert reminder.tender_id == tender.id


def test_a_committed_message_is_delivered_by_the_worker_without_waiting_for_a_round(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    alice = with_email(platform, people.alice, "alice@alpha.example")
    tender = published_tender(platform, people.officer, clock, hours=1)
    worker = platform.jobs.worker()
    worker.start()
    try:
        upload(platform, alice, tender.id, "offer.pdf", [b"%PDF-1.7 alpha"])
        # (Not worker.join(): the tender's opening waits in the delay queue until its
        # deadline.)
        platform.jobs.broker.join(NOTIFICATIONS_QUEUE, timeout=60_000)
    finally:
        worker.stop()

    [told] = outbox(platform, MessageKind.RECEIPT_ISSUED)
    assert told.sent_at is not None
    assert (platform.settings.effective_outbox_dir / f"{told.id}.eml").is_file()


def test_tender_outbox_lists_the_messages_and_shows_one(
    platform: Platform,
    people: People,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    alice = with_email(platform, people.alice, "alice@alpha.example")
    tender = published_tender(platform, people.officer, clock, hours=1)
    upload(platform, alice, tender.id, "offer.pdf", [b"%PDF-1.7 alpha"])
    platform.courier.deliver_pending()
    [told] = outbox(platform, MessageKind.RECEIPT_ISSUED)
    monkeypatch.setenv("TENDER_DATA_DIR", str(platform.settings.data_dir))
    monkeypatch.setenv("TENDER_DATABASE_URL", platform.settings.effective_database_url)

    assert main(["outbox"]) == 0
    listed = capsys.readouterr().out
    assert str(told.id) in listed
    assert "sent" in listed
    assert "alice@alpha.example" in listed
    assert "receipt_issued" in listed

    assert main(["outbox", "--show", str(told.id)]) == 0
    shown = capsys.readouterr().out
    assert told.subject in shown
    assert "What to do next" in shown

    assert main(["outbox", "--show", str(uuid.uuid4())]) == 1


def test_the_suppliers_taking_part_are_told_of_a_cancellation_with_its_reason(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    upload(platform, people.alice, tender.id, "offer.pdf", [b"%PDF-1.7 alpha"])

    with unit_of_work(platform) as services:
        services.tenders.cancel(
            actor=people.officer, tender_id=tender.id, reason="The budget was withdrawn"
        )

    [told] = outbox(platform, MessageKind.TENDER_CANCELLED)
    assert told.recipient_user_id == people.alice.id  # Bob took no part: not told
    assert told.tender_id == tender.id
    assert "The budget was withdrawn" in told.body
    assert "What to do next" in told.body


def test_the_suppliers_who_bid_are_told_of_the_award(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    upload(platform, people.alice, tender.id, "offer.pdf", [b"%PDF-1.7 alpha"])
    upload(platform, people.bob, tender.id, "offer.pdf", [b"%PDF-1.7 beta"])
    clock.set(tender.deadline + timedelta(seconds=1))
    platform.opener.open_tender(tender.id)

    with unit_of_work(platform) as services:
        AwardService(session=services.session, clock=clock).award(
            actor=people.officer,
            tender_id=tender.id,
            data=AwardCreate(
                winners=["Beta Ltd"], value="880000", currency="HKD", reasons="Lowest price"
            ),
        )

    told = outbox(platform, MessageKind.TENDER_AWARDED)
    assert {m.recipient_user_id for m in told} == {people.alice.id, people.bob.id}
    assert all("Beta Ltd" in m.body and "HKD 880000" in m.body for m in told)
