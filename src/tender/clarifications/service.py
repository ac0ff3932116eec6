"""Clarifications, in the caller's transaction (it never commits).

A supplier asks privately: the question is seen by its own organisation and the buying
officers. The officer's answer publishes question and answer to everyone who may see the
tender, never saying who asked. Questions are taken, and answered, until the deadline: after
it an answer could no longer shape any bid. Each step is an audit event that names the
clarification and the SHA-256 of its texts, not the texts (which may hint at who asked).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tender import text
from tender.accounts.models import User
from tender.audit import service as audit
from tender.clarifications.models import Clarification
from tender.clarifications.schemas import ClarificationOut
from tender.clock import Clock, for_people, format_time
from tender.documents.service import is_buyer, suppliers_of
from tender.errors import Conflict, Invalid, NotFound
from tender.i18n import gettext as _
from tender.i18n import gettext_noop as N_  # noqa: N812 (the name extractors look for)
from tender.notifications.messages import MessageKind
from tender.notifications.service import NotificationService
from tender.tenders.access import require_buyer, require_visible
from tender.tenders.models import Tender, TenderStatus
from tender.tenders.service import get_tender, status_word
from tender.verifier.kinds import EventKind

QUESTION_MAX = text.REASON_MAX


def _sha256(words: str) -> str:
    return hashlib.sha256(words.encode()).hexdigest()


def _require_open(tender: Tender, now: datetime, *, what: str) -> None:
    if tender.status is TenderStatus.PUBLISHED and now < tender.deadline:
        return
    raise Conflict(
        _("Tender {reference} is closed for clarifications.").format(reference=tender.reference),
        (
            _(
                "Its deadline ({deadline}) has passed; {what} only while a published tender's "
                "deadline is ahead, when it can still shape the bids."
            )
            if tender.status is TenderStatus.PUBLISHED
            else _(
                "It is {status}; {what} only while a published tender's deadline is ahead, when "
                "it can still shape the bids."
            )
        ).format(
            deadline=for_people(tender.deadline), what=what, status=status_word(tender.status)
        ),
        _("Nothing more can be asked or answered for this tender."),
        tender_id=tender.id,
        details={"status": tender.status.value, "deadline": format_time(tender.deadline)},
    )


def _texted(words: str, *, field: str, tender: Tender) -> str:
    cleaned = text.clean(words, field=field, max_length=QUESTION_MAX, long=True)
    if not cleaned:
        raise Invalid(
            _("The {field} is empty.").format(field=field),
            _("A clarification needs a {field}.").format(field=field),
            _("Write the {field} and send it again.").format(field=field),
            tender_id=tender.id,
        )
    return cleaned


@dataclass(frozen=True, kw_only=True)
class ClarificationService:
    session: Session
    clock: Clock

    def ask(self, *, supplier: User, tender_id: uuid.UUID, question: str) -> ClarificationOut:
        """Ask the buying organisation a question, privately."""
        tender = get_tender(self.session, tender_id)
        require_visible(self.session, supplier, tender)
        now = self.clock.now()
        _require_open(tender, now, what=_("questions are taken"))
        clarification = Clarification(
            tender_id=tender.id,
            asked_by=supplier.id,
            question=_texted(question, field=N_("question"), tender=tender),
            asked_at=now,
        )
        self.session.add(clarification)
        self.session.flush()
        audit.append(
            self.session,
            kind=EventKind.CLARIFICATION_ASKED,
            actor=supplier.actor,
            at=now,
            tender_id=tender.id,
            payload={
                "clarification_id": str(clarification.id),
                "question_sha256": _sha256(clarification.question),
            },
        )
        return ClarificationOut.of(clarification, yours=True)

    def answer(
        self, *, officer: User, tender_id: uuid.UUID, clarification_id: uuid.UUID, answer: str
    ) -> ClarificationOut:
        """Answer a question: from now on everyone who may see the tender reads both."""
        tender = get_tender(self.session, tender_id, for_update=True)
        require_buyer(officer, tender)
        clarification = self.session.get(Clarification, clarification_id)
        if clarification is None or clarification.tender_id != tender.id:
            raise NotFound(
                _("Tender {reference} has no clarification {clarification_id}.").format(
                    reference=tender.reference, clarification_id=clarification_id
                ),
                _("No question with that id was asked about this tender."),
                _("GET /api/tenders/{id}/clarifications lists its questions.").format(id=tender.id),
                tender_id=tender.id,
            )
        if clarification.answered_at is not None:
            raise Conflict(
                _("This question is already answered."),
                _(
                    "It was answered at {answered_at}, and the answer is "
                    "published to every supplier; a published answer is not changed."
                ).format(answered_at=for_people(clarification.answered_at)),
                _("To correct or add to it, publish an addendum."),
                tender_id=tender.id,
            )
        now = self.clock.now()
        _require_open(tender, now, what=_("questions are answered"))
        clarification.answer = _texted(answer, field=N_("answer"), tender=tender)
        clarification.answered_by = officer.id
        clarification.answered_at = now
        audit.append(
            self.session,
            kind=EventKind.CLARIFICATION_ANSWERED,
            actor=officer.actor,
            at=now,
            tender_id=tender.id,
            payload={
                "clarification_id": str(clarification.id),
                "question_sha256": _sha256(clarification.question),
                "answer_sha256": _sha256(clarification.answer),
            },
        )
        askers = select(Clarification.asked_by).where(Clarification.tender_id == tender.id)
        told = {u.id: u for u in suppliers_of(self.session, tender.id)}
        told.update(
            (u.id, u) for u in self.session.scalars(select(User).where(User.id.in_(askers)))
        )
        NotificationService(session=self.session, clock=self.clock).tell(
            told.values(),
            MessageKind.CLARIFICATION_ANSWERED,
            tender=tender,
            question=clarification.question,
            answer=clarification.answer,
        )
        return ClarificationOut.of(clarification, yours=False, asker=self._asker(clarification))

    def listing(self, *, viewer: User | None, tender_id: uuid.UUID) -> list[ClarificationOut]:
        """Answered questions for everyone who may see the tender (``viewer`` None: the
        public); the viewer's organisation's own unanswered ones; every question, with who
        asked, for the buying officers."""
        tender = get_tender(self.session, tender_id)
        require_visible(self.session, viewer, tender)
        buyer = is_buyer(viewer, tender)
        organisation = None if viewer is None else viewer.organisation_id
        colleagues = select(User.id).where(User.organisation_id == organisation)
        query = select(Clarification).where(Clarification.tender_id == tender.id)
        if not buyer:
            query = query.where(
                or_(Clarification.answered_at.is_not(None), Clarification.asked_by.in_(colleagues))
            )
        mine = set(self.session.scalars(colleagues))
        return [
            ClarificationOut.of(
                c,
                yours=c.asked_by in mine,
                asker=self._asker(c) if buyer else None,
            )
            for c in self.session.scalars(query.order_by(Clarification.asked_at))
        ]

    def _asker(self, clarification: Clarification) -> str | None:
        asker = self.session.get(User, clarification.asked_by)
        return None if asker is None else asker.organisation
