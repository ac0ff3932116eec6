"""Tender lifecycle: create, publish, look up. The caller owns the transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tender.accounts.models import Role, User
from tender.accounts.service import require_role
from tender.audit import service as audit
from tender.audit.chain import format_time
from tender.clock import Clock
from tender.errors import Conflict, Invalid, NotFound
from tender.storage.sealing import PlatformKey, TenderKey
from tender.tenders.models import Tender, TenderStatus
from tender.tenders.schemas import TenderCreate


def key_context(tender_id: uuid.UUID) -> bytes:
    """Binds a tender's wrapped private key to that tender, so it cannot be moved to another."""
    return b"tender-key:" + str(tender_id).encode()


def create_tender(
    session: Session, *, actor: User, data: TenderCreate, clock: Clock, platform_key: PlatformKey
) -> Tender:
    """Create a draft tender with a fresh key pair for sealing its bids."""
    require_role(actor, [Role.OFFICER], "create tenders")
    if data.deadline.tzinfo is None:
        raise Invalid(
            "The deadline has no time zone.",
            "Deadlines are exact instants; without a zone the same text means different times.",
            "Send it as ISO 8601 with a zone, for example 2026-12-01T12:00:00Z.",
        )
    if not data.reference.strip() or not data.title.strip():
        raise Invalid(
            "The tender has no reference or no title.",
            "Suppliers find and cite a tender by them.",
            "Fill in both and send it again.",
        )
    now = clock.now()
    tender_id = uuid.uuid4()
    key = TenderKey.generate()
    tender = Tender(
        id=tender_id,
        reference=data.reference.strip(),
        title=data.title.strip(),
        description=data.description,
        deadline=data.deadline,
        status=TenderStatus.DRAFT.value,
        created_by=actor.id,
        created_at=now,
        public_key=key.public_key_bytes,
        wrapped_private_key=key.wrap(platform_key, context=key_context(tender_id)),
    )
    session.add(tender)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(
            f"A tender with reference {data.reference!r} already exists.",
            "References identify tenders and must be unique.",
            "Choose another reference.",
        ) from None
    audit.append(
        session,
        kind="tender.created",
        actor=actor.actor,
        at=now,
        tender_id=tender.id,
        payload={
            "reference": tender.reference,
            "title": tender.title,
            "deadline": format_time(tender.deadline),
            "public_key": tender.public_key.hex(),
        },
    )
    return tender


def get_tender(session: Session, tender_id: uuid.UUID, *, for_update: bool = False) -> Tender:
    """The tender with ``tender_id``; ``for_update`` locks its row until the transaction ends."""
    query = select(Tender).where(Tender.id == tender_id)
    if for_update:
        query = query.with_for_update()
    tender = session.scalar(query)
    if tender is None:
        raise NotFound(
            f"There is no tender {tender_id}.",
            "No tender with that id exists on this platform.",
            "Check the id; GET /api/tenders lists the tenders.",
            details={"tender_id": str(tender_id)},
        )
    return tender


def list_tenders(session: Session) -> list[Tender]:
    return list(session.scalars(select(Tender).order_by(Tender.deadline)))


def publish_tender(session: Session, *, actor: User, tender_id: uuid.UUID, clock: Clock) -> Tender:
    """Open a draft tender for bids. The caller schedules the opening after commit."""
    require_role(actor, [Role.OFFICER], "publish tenders")
    tender = get_tender(session, tender_id, for_update=True)
    now = clock.now()
    if tender.status != TenderStatus.DRAFT:
        raise Conflict(
            f"Tender {tender.reference} is already {tender.status}.",
            "Only a draft tender can be published.",
            "Nothing to do; the tender is live.",
            tender_id=tender.id,
        )
    if tender.deadline <= now:
        raise Invalid(
            f"The deadline of tender {tender.reference} ({format_time(tender.deadline)}) "
            "has already passed.",
            f"It is now {format_time(now)}; suppliers would have no time to bid.",
            "Create the tender again with a deadline in the future.",
            tender_id=tender.id,
        )
    tender.status = TenderStatus.PUBLISHED.value
    tender.published_at = now
    audit.append(
        session,
        kind="tender.published",
        actor=actor.actor,
        at=now,
        tender_id=tender.id,
        payload={"deadline": format_time(tender.deadline)},
    )
    return tender


def tenders_due_for_opening(session: Session, *, now: datetime) -> list[uuid.UUID]:
    """Tenders past their deadline that are not opened yet (the reconciler's worklist)."""
    query = select(Tender.id).where(
        Tender.status.in_([TenderStatus.PUBLISHED.value, TenderStatus.OPENING.value]),
        Tender.deadline <= now,
    )
    return list(session.scalars(query))
