"""Tender lifecycle: create, publish, look up. Works in the caller's transaction."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tender.accounts.models import User
from tender.audit import service as audit
from tender.clock import Clock, format_time
from tender.db import after_commit
from tender.errors import Conflict, Invalid
from tender.jobs import Jobs
from tender.storage.sealing import PlatformKey, TenderKey
from tender.tenders.access import no_such_tender, require_buyer, require_visible, visible_to
from tender.tenders.models import Tender, TenderStatus
from tender.tenders.schemas import TenderCreate
from tender.verifier.kinds import EventKind

log = logging.getLogger(__name__)


# Fingerprint first: how long files may follow their fingerprints after the deadline.
MIN_FILE_GRACE = timedelta(minutes=5)
MAX_FILE_GRACE = timedelta(days=7)


def key_context(tender_id: uuid.UUID) -> bytes:
    """Binds a tender's wrapped private key to that tender, so it cannot be moved to another."""
    return b"tender-key:" + str(tender_id).encode()


def get_tender(session: Session, tender_id: uuid.UUID, *, for_update: bool = False) -> Tender:
    """The tender with ``tender_id``; ``for_update`` locks its row until the transaction ends."""
    query = select(Tender).where(Tender.id == tender_id)
    if for_update:
        query = query.with_for_update()
    tender = session.scalar(query)
    if tender is None:
        raise no_such_tender(tender_id)
    return tender


def tenders_due_for_opening(session: Session, *, now: datetime) -> list[uuid.UUID]:
    """Tenders past the time their files are due that are not opened yet (the reconciler's
    worklist)."""
    query = select(Tender).where(
        Tender.status.in_([TenderStatus.PUBLISHED, TenderStatus.OPENING]),
        Tender.deadline <= now,
    )
    return [tender.id for tender in session.scalars(query) if tender.files_until <= now]


def deadline_fields(tender: Tender) -> dict[str, Any]:
    """What the log says of a tender's deadline (the log decides lateness; see
    verifier.ledger): the deadline, and for a fingerprint-first tender the files' grace."""
    fields: dict[str, Any] = {"deadline": format_time(tender.deadline)}
    if tender.file_grace_seconds is not None:
        fields["file_grace_seconds"] = tender.file_grace_seconds
    return fields


def schedule_opening(session: Session, jobs: Jobs, clock: Clock, tender: Tender) -> None:
    """Once ``session`` commits, send the opening message for when ``tender``'s files are all
    in (its deadline, or the end of the files' grace): on publishing, and again when an
    addendum extends the deadline (a message sent for an earlier deadline finds the tender not
    due, by the deadline in the log, and does nothing but send itself again).

    After commit: a message for an uncommitted tender would find nothing. If the send fails
    (the broker is down), the tender stays published and the answer is the usual one: the
    reconciler opens it after its deadline all the same.
    """
    tender_id, deadline = tender.id, tender.files_until

    def send() -> None:
        try:
            jobs.schedule_opening(tender_id, deadline=deadline, now=clock.now())
        except Exception:
            log.exception(
                "tender %s is published, but its opening message could not be sent; the "
                "reconciler opens it after its deadline (%s)",
                tender_id,
                format_time(deadline),
            )

    after_commit(session, send)


@dataclass(frozen=True, kw_only=True)
class TenderService:
    """Tenders, in the caller's transaction (it never commits)."""

    session: Session
    clock: Clock
    platform_key: PlatformKey
    jobs: Jobs

    def create(self, *, actor: User, data: TenderCreate) -> Tender:
        """Create a draft tender of ``actor``'s organisation with a fresh key pair for sealing
        its bids."""
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
        grace = data.file_grace_seconds
        if grace is not None and not MIN_FILE_GRACE <= timedelta(seconds=grace) <= MAX_FILE_GRACE:
            raise Invalid(
                f"A grace period of {grace} seconds for bid files cannot be used.",
                "Fingerprint first lets files follow their fingerprints within a grace period "
                f"of {MIN_FILE_GRACE.seconds // 60} minutes to {MAX_FILE_GRACE.days} days; "
                "the opening waits for it to end.",
                "Choose a grace period in that range (86400 is 24 hours), or leave it out to "
                "take files by the deadline.",
            )
        now = self.clock.now()
        tender_id = uuid.uuid4()
        key = TenderKey.generate()
        tender = Tender(
            id=tender_id,
            reference=data.reference.strip(),
            title=data.title.strip(),
            description=data.description,
            deadline=data.deadline,
            file_grace_seconds=grace,
            status=TenderStatus.DRAFT,
            created_by=actor.id,
            organisation_id=actor.organisation_id,
            created_at=now,
            public_key=key.public_key_bytes,
            wrapped_private_key=key.wrap(self.platform_key, context=key_context(tender_id)),
        )
        self.session.add(tender)
        try:
            with self.session.begin_nested():
                self.session.flush()
        except IntegrityError:
            raise Conflict(
                f"A tender with reference {data.reference!r} already exists.",
                "References identify tenders and must be unique.",
                "Choose another reference.",
            ) from None
        audit.append(
            self.session,
            kind=EventKind.TENDER_CREATED,
            actor=actor.actor,
            at=now,
            tender_id=tender.id,
            payload={
                "reference": tender.reference,
                "title": tender.title,
                "public_key": tender.public_key.hex(),
                **deadline_fields(tender),
            },
        )
        return tender

    def get(self, tender_id: uuid.UUID, *, viewer: User | None) -> Tender:
        """The tender, if ``viewer`` (None: the public) may see it."""
        tender = get_tender(self.session, tender_id)
        require_visible(self.session, viewer, tender)
        return tender

    def list(self, *, viewer: User | None) -> list[Tender]:
        """The tenders ``viewer`` (None: the public) may see."""
        query = select(Tender).where(visible_to(self.session, viewer)).order_by(Tender.deadline)
        return list(self.session.scalars(query))

    def publish(self, *, actor: User, tender_id: uuid.UUID) -> Tender:
        """Open a draft tender for bids; its opening is scheduled once this commits."""
        tender = get_tender(self.session, tender_id, for_update=True)
        require_buyer(actor, tender)
        now = self.clock.now()
        if tender.status != TenderStatus.DRAFT:
            raise Conflict(
                f"Tender {tender.reference} is already {tender.status.value}.",
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
        tender.status = TenderStatus.PUBLISHED
        tender.published_at = now
        audit.append(
            self.session,
            kind=EventKind.TENDER_PUBLISHED,
            actor=actor.actor,
            at=now,
            tender_id=tender.id,
            payload=deadline_fields(tender),
        )
        schedule_opening(self.session, self.jobs, self.clock, tender)
        return tender
