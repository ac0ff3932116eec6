"""Who is told what around the deadline: a reminder before it to the suppliers who started a
bid (sent something, or downloaded the tender's documents), and the news of the opening after
it to the suppliers who bid.

Each supplier gets a message of their own; none says who else bid.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from tender.accounts.models import User
from tender.bids.models import BidDocument, BidFingerprint
from tender.clock import Clock
from tender.documents.service import suppliers_of
from tender.notifications.messages import MessageKind
from tender.notifications.models import OutboxMessage
from tender.notifications.service import NotificationService
from tender.tenders.models import Tender, TenderStatus


def bidders(session: Session, tender_id: uuid.UUID) -> Sequence[User]:
    """The suppliers who sent anything for ``tender_id``: a file, or a file's fingerprint."""
    started = union(
        select(BidDocument.supplier_id).where(BidDocument.tender_id == tender_id),
        select(BidFingerprint.supplier_id).where(BidFingerprint.tender_id == tender_id),
    ).subquery()
    return session.scalars(select(User).where(User.id.in_(select(started.c[0])))).all()


def remind_of_deadlines(session: Session, *, clock: Clock, ahead: timedelta) -> list[OutboxMessage]:
    """Queue a reminder for each supplier who started a bid for a tender whose deadline is
    less than ``ahead`` away, once per deadline: a reminder queued since the deadline came
    within ``ahead`` counts, so a deadline extended by an addendum is reminded of again."""
    now = clock.now()
    due = session.scalars(
        select(Tender).where(
            Tender.status == TenderStatus.PUBLISHED,
            Tender.deadline > now,
            Tender.deadline <= now + ahead,
        )
    ).all()
    notifications = NotificationService(session=session, clock=clock)
    queued: list[OutboxMessage] = []
    for tender in due:
        reminded = set(
            session.scalars(
                select(OutboxMessage.recipient_user_id).where(
                    OutboxMessage.kind == MessageKind.DEADLINE_APPROACHING.value,
                    OutboxMessage.tender_id == tender.id,
                    OutboxMessage.created_at >= tender.deadline - ahead,
                )
            )
        )
        queued += notifications.tell(
            [user for user in suppliers_of(session, tender.id) if user.id not in reminded],
            MessageKind.DEADLINE_APPROACHING,
            tender=tender,
        )
    return queued


def tell_of_opening(session: Session, *, clock: Clock, tender: Tender) -> list[OutboxMessage]:
    """Queue the news that ``tender`` was opened for each supplier who bid."""
    assert tender.opened_at is not None  # told once it is opened
    return NotificationService(session=session, clock=clock).tell(
        bidders(session, tender.id),
        MessageKind.TENDER_OPENED,
        tender=tender,
        opened_at=tender.opened_at,
    )
