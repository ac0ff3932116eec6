"""Addenda: the changes a buying officer publishes to a tender before its deadline.

An addendum has a text, may publish documents uploaded since the tender was published, and may
extend the deadline. It is a ``tender.amended`` event; one that extends the deadline carries
the new one the way ``tender.published`` does, and the log's latest deadline is the one in
force (:mod:`tender.verifier.ledger`): the opening, the ledger's on-time rule and the offline
verifiers read it there. The extension re-schedules the timed opening; a message sent for the
old deadline finds the tender not yet due and does nothing.

A deadline is only ever extended: shortening it would turn away bids suppliers planned to
send in time, and a deadline that has passed is settled (bids were refused by it).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tender import text
from tender.accounts.models import User
from tender.audit import service as audit
from tender.clock import Clock, for_people, format_time
from tender.documents.models import Addendum, TenderDocument
from tender.documents.schemas import AddendumIn, AddendumOut
from tender.documents.service import current_version, require_before_deadline, suppliers_of
from tender.errors import Conflict, Invalid
from tender.i18n import gettext as _
from tender.i18n import gettext_noop as N_  # noqa: N812 (the name extractors look for)
from tender.jobs import Jobs
from tender.notifications.messages import MessageKind
from tender.notifications.service import NotificationService
from tender.tenders.access import require_buyer, require_visible
from tender.tenders.models import Tender, TenderStatus
from tender.tenders.service import deadline_fields, get_tender, schedule_opening
from tender.verifier.kinds import EventKind


@dataclass(frozen=True, kw_only=True)
class AddendumService:
    """Addenda, in the caller's transaction (it never commits)."""

    session: Session
    clock: Clock
    jobs: Jobs
    # How far ahead a deadline may be (TENDER_DEADLINE_HORIZON_DAYS), extended ones too.
    deadline_horizon: timedelta

    def publish(self, *, actor: User, tender_id: uuid.UUID, data: AddendumIn) -> AddendumOut:
        """Publish an addendum to a published tender before its deadline."""
        tender = get_tender(self.session, tender_id, for_update=True)
        require_buyer(actor, tender)
        now = self.clock.now()
        if tender.status is TenderStatus.DRAFT:
            raise Conflict(
                _("Tender {reference} is a draft.").format(reference=tender.reference),
                _("Addenda publish changes to a published tender; a draft is simply edited."),
                _(
                    "Edit the draft (PATCH /api/tenders/{id}) and upload its documents "
                    "(PUT /api/tenders/{id}/documents/NAME)."
                ).format(id=tender.id),
                tender_id=tender.id,
            )
        require_before_deadline(tender, now, to=_("be amended"))
        body = text.clean(
            data.text, field=N_("addendum text"), max_length=text.DESCRIPTION_MAX, long=True
        )
        if not body:
            raise Invalid(
                _("The addendum has no text."),
                _("Suppliers read in it what changed and why."),
                _("Say what the addendum changes, and send it again."),
                tender_id=tender.id,
            )
        documents = [self._waiting(tender, name) for name in dict.fromkeys(data.documents)]
        previous = None
        if data.deadline is not None:
            self._check_extension(tender, data.deadline, now)
            previous, tender.deadline = tender.deadline, data.deadline
        number = 1 + (
            self.session.scalar(
                select(func.max(Addendum.number)).where(Addendum.tender_id == tender.id)
            )
            or 0
        )
        for document in documents:
            replaced = current_version(self.session, tender.id, document.name, published=True)
            if replaced is not None:
                replaced.superseded_at = now
            document.addendum = number
        event = audit.append(
            self.session,
            kind=EventKind.TENDER_AMENDED,
            actor=actor.actor,
            at=now,
            tender_id=tender.id,
            payload={
                "addendum": number,
                "text_sha256": hashlib.sha256(body.encode()).hexdigest(),
                "documents": [
                    {"document_id": str(d.id), "name": d.name, "sha256": d.sha256, "size": d.size}
                    for d in documents
                ],
                **(
                    {}
                    if previous is None
                    else {"previous_deadline": format_time(previous), **deadline_fields(tender)}
                ),
            },
        )
        addendum = Addendum(
            tender_id=tender.id,
            number=number,
            text=body,
            previous_deadline=previous,
            deadline=tender.deadline if previous is not None else None,
            published_by=actor.id,
            published_at=now,
            audit_seq=event.seq,
        )
        self.session.add(addendum)
        self.session.flush()
        if previous is not None:
            schedule_opening(self.session, self.jobs, self.clock, tender)
        NotificationService(session=self.session, clock=self.clock).tell(
            suppliers_of(self.session, tender.id),
            MessageKind.ADDENDUM_PUBLISHED,
            tender=tender,
            addendum=f"No. {number}",
            summary="\n".join(
                [body, *(f"Document {d.name} (SHA-256 {d.sha256})" for d in documents)]
            ),
        )
        return AddendumOut.of(addendum, documents)

    def listing(self, *, viewer: User | None, tender_id: uuid.UUID) -> list[AddendumOut]:
        """The addenda of a tender, in order, with the documents each published (``viewer``
        None: the public)."""
        tender = get_tender(self.session, tender_id)
        require_visible(self.session, viewer, tender)
        addenda = self.session.scalars(
            select(Addendum).where(Addendum.tender_id == tender.id).order_by(Addendum.number)
        )
        documents = list(
            self.session.scalars(
                select(TenderDocument)
                .where(TenderDocument.tender_id == tender.id, TenderDocument.addendum > 0)
                .order_by(TenderDocument.name)
            )
        )
        return [
            AddendumOut.of(a, [d for d in documents if d.addendum == a.number]) for a in addenda
        ]

    def _waiting(self, tender: Tender, name: str) -> TenderDocument:
        document = current_version(self.session, tender.id, name, published=False)
        if document is None:
            raise Invalid(
                _("No document {name!r} is waiting to be published with an addendum.").format(
                    name=name
                ),
                _(
                    "An addendum publishes documents uploaded after the tender was published, "
                    "and not yet published by another addendum."
                ),
                _(
                    "Upload it first (PUT /api/tenders/{id}/documents/NAME), then "
                    "publish the addendum naming it."
                ).format(id=tender.id),
                tender_id=tender.id,
                details={"document": name},
            )
        return document

    def _check_extension(self, tender: Tender, deadline: datetime, now: datetime) -> None:
        """Refuse a new deadline unless it extends the current one (which has not passed:
        checked before), within the horizon."""
        if deadline.tzinfo is None:
            raise Invalid(
                _("The new deadline has no time zone."),
                _(
                    "Deadlines are exact instants; without a zone the same text means different "
                    "times."
                ),
                _("Send it as ISO 8601 with a zone, for example 2026-12-01T12:00:00Z."),
                tender_id=tender.id,
            )
        if deadline <= tender.deadline:
            raise Invalid(
                _(
                    "The new deadline ({deadline}) is not later than the current one "
                    "({current_deadline})."
                ).format(
                    deadline=for_people(deadline), current_deadline=for_people(tender.deadline)
                ),
                _(
                    "An addendum may only extend a deadline: suppliers plan to submit by the one "
                    "published, and shortening it could turn their bids away."
                ),
                _("Give a later deadline, or leave the deadline out to keep it."),
                tender_id=tender.id,
                details={
                    "deadline": format_time(tender.deadline),
                    "requested": format_time(deadline),
                    "now": format_time(now),
                },
            )
        if deadline - now > self.deadline_horizon:
            raise Invalid(
                _("The new deadline ({deadline}) is too far ahead.").format(
                    deadline=for_people(deadline)
                ),
                _(
                    "Deadlines may be at most {days} days from now "
                    "({now}): bids are locked in storage until the deadline and "
                    "years after it."
                ).format(days=self.deadline_horizon.days, now=for_people(now)),
                _("Choose a nearer deadline; it can be extended again by a later addendum."),
                tender_id=tender.id,
                details={"horizon_days": self.deadline_horizon.days},
            )
