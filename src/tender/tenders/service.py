"""Tender lifecycle: create, edit a draft, publish, cancel, look up. Works in the
caller's transaction. Every change of state goes through :func:`move` and its table."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tender import text
from tender.accounts.models import Organisation, User
from tender.audit import service as audit
from tender.clock import Clock, for_people, format_time
from tender.config import DEFAULT_DEADLINE_HORIZON_DAYS
from tender.db import after_commit
from tender.errors import Conflict, Invalid
from tender.i18n import gettext as _
from tender.i18n import gettext_noop as N_  # noqa: N812 (the name extractors look for)
from tender.jobs import Jobs
from tender.notifications.messages import MessageKind
from tender.notifications.service import NotificationService, Recipient
from tender.storage.sealing import KeyWrapper, TenderKey
from tender.tenders.access import no_such_tender, require_buyer, require_visible, visible_to
from tender.tenders.models import NEXT, Envelopes, OpeningMethod, Tender, TenderStatus
from tender.tenders.schemas import TenderCreate, TenderEdit
from tender.verifier.committee import FINANCIAL_KEY, TENDER_KEY
from tender.verifier.kinds import EventKind
from tender.verifier.ledger import FINANCIAL, TECHNICAL

log = logging.getLogger(__name__)


# Fingerprint first: how long files may follow their fingerprints after the deadline.
MIN_FILE_GRACE = timedelta(minutes=5)
MAX_FILE_GRACE = timedelta(days=7)
# An opening committee: at least two members must release their shares (one alone would be a
# single key again), out of at most this many.
MIN_QUORUM = 2
MAX_COMMITTEE = 15


def key_context(tender_id: uuid.UUID, key_name: str = TENDER_KEY) -> bytes:
    """Binds a tender's wrapped private key to that tender and to which of its keys it is, so
    it cannot be moved to another tender, nor a financial key passed off as the tender key."""
    named = b"" if key_name == TENDER_KEY else key_name.encode() + b":"
    return b"tender-key:" + named + str(tender_id).encode()


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


def envelope_fields(tender: Tender) -> dict[str, Any]:
    """What ``tender.created`` says of a two-envelope tender (nothing for a single one, whose
    events stay as they were): that it has two, and the public key of the financial ones."""
    if tender.financial_public_key is None:
        return {}
    return {
        "envelopes": tender.envelopes.value,
        "financial_public_key": tender.financial_public_key.hex(),
    }


def _in_order(states: frozenset[TenderStatus]) -> list[TenderStatus]:
    """``states`` in the order a tender goes through them."""
    return [state for state in TenderStatus if state in states]


def status_word(status: TenderStatus) -> str:
    """The name of ``status`` in the reader's language."""
    return {
        TenderStatus.DRAFT: _("draft"),
        TenderStatus.PUBLISHED: _("published"),
        TenderStatus.CLOSED: _("closed"),
        TenderStatus.OPENING: _("opening"),
        TenderStatus.OPENED: _("opened"),
        TenderStatus.AWARDED: _("awarded"),
        TenderStatus.CANCELLED: _("cancelled"),
    }[status]


def possible_from(status: TenderStatus) -> str:
    """What the table of transitions lets a tender in ``status`` become, in words."""
    after = _in_order(NEXT[status])
    if not after:
        return _("A {status} tender is final: it changes no more.").format(
            status=status_word(status)
        )
    return _("From {status} a tender can become only: {after}.").format(
        status=status_word(status), after=", ".join(status_word(s) for s in after)
    )


def move(tender: Tender, to: TenderStatus, *, now: datetime, todo: str) -> None:
    """The one way a tender changes state: refused (409, with what is possible and ``todo``)
    unless the table of transitions (``tenders.models.NEXT``) allows it from the state the
    tender is in at ``now``."""
    current = tender.status_at(now)
    if to not in NEXT[current]:
        raise Conflict(
            _("Tender {reference} is {current}; it cannot become {to}.").format(
                reference=tender.reference, current=status_word(current), to=status_word(to)
            ),
            possible_from(current),
            todo,
            tender_id=tender.id,
            details={
                "status": current.value,
                "possible": [s.value for s in _in_order(NEXT[current])],
            },
        )
    tender.status = to


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


@runtime_checkable  # the app checks what it is given against it
class TakingPart(Protocol):
    """The suppliers taking part in a tender so far: ``tender.documents.service.suppliers_of``,
    given to this floor, which bids and documents sit above."""

    def __call__(self, session: Session, tender_id: uuid.UUID, /) -> Sequence[Recipient]: ...


@runtime_checkable  # the app checks what it is given against it
class FormsCommittee(Protocol):
    """Shares a committee tender's new key out among its members and keeps nothing of it whole:
    ``tender.committee.service.form_committee``, given to this floor, which the committee sits
    above. Refuses members who cannot hold a share."""

    def __call__(
        self,
        session: Session,
        tender: Tender,
        key: TenderKey,
        /,
        *,
        actor: User,
        members: Sequence[uuid.UUID],
        now: datetime,
        key_name: str = ...,
    ) -> None: ...


@dataclass(frozen=True, kw_only=True)
class TenderService:
    """Tenders, in the caller's transaction (it never commits)."""

    session: Session
    clock: Clock
    platform_key: KeyWrapper
    jobs: Jobs
    taking_part: TakingPart  # who is told of a cancellation
    form_committee: FormsCommittee  # shares a committee tender's key out
    # How far ahead a deadline may be (TENDER_DEADLINE_HORIZON_DAYS).
    deadline_horizon: timedelta = timedelta(days=DEFAULT_DEADLINE_HORIZON_DAYS)

    def create(self, *, actor: User, data: TenderCreate) -> Tender:
        """Create a draft tender of ``actor``'s organisation with a fresh key pair for sealing
        its bids: its private half wrapped by the platform key (automatic opening), or shared
        out among the committee and kept nowhere whole (committee opening). A two-envelope
        tender has a second key pair, for the financial envelopes, kept the same way."""
        data = self._checked(data)
        self._check_opening(data)
        grace = data.file_grace_seconds
        now = self.clock.now()
        tender_id = uuid.uuid4()
        key = TenderKey.generate()
        financial = TenderKey.generate() if data.envelopes is Envelopes.TWO else None
        automatic = data.opening is OpeningMethod.AUTOMATIC

        def wrapped(this: TenderKey | None, key_name: str) -> bytes | None:
            if this is None or not automatic:
                return None
            return this.wrap(self.platform_key, context=key_context(tender_id, key_name))

        tender = Tender(
            id=tender_id,
            reference=data.reference,
            reference_key=text.reference_key(data.reference),
            title=data.title,
            description=data.description,
            deadline=data.deadline,
            file_grace_seconds=grace,
            status=TenderStatus.DRAFT,
            created_by=actor.id,
            organisation_id=actor.organisation_id,
            created_at=now,
            public_key=key.public_key_bytes,
            wrapped_private_key=wrapped(key, TENDER_KEY),
            envelopes=data.envelopes,
            financial_public_key=None if financial is None else financial.public_key_bytes,
            wrapped_financial_key=wrapped(financial, FINANCIAL_KEY),
            opening=data.opening,
            quorum=data.quorum,
            supplier_sealed=data.supplier_sealed,
        )
        self.session.add(tender)
        self._flush_unique(tender)
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
                "opening": tender.opening.value,
                **({"supplier_sealed": True} if tender.supplier_sealed else {}),
                **deadline_fields(tender),
                **envelope_fields(tender),
            },
        )
        if not automatic:
            for this, key_name in ((key, TENDER_KEY), (financial, FINANCIAL_KEY)):
                if this is not None:
                    self.form_committee(
                        self.session,
                        tender,
                        this,
                        actor=actor,
                        members=data.committee,
                        now=now,
                        key_name=key_name,
                    )
        return tender

    def get(self, tender_id: uuid.UUID, *, viewer: User | None) -> Tender:
        """The tender, if ``viewer`` (None: the public) may see it."""
        tender = get_tender(self.session, tender_id)
        require_visible(self.session, viewer, tender)
        return tender

    def sealing_key(self, tender_id: uuid.UUID, envelope: str | None) -> tuple[Tender, bytes]:
        """The public tender and the key files in ``envelope`` (None or "technical": the tender
        key; "financial": a two-envelope tender's financial key) are sealed to."""
        tender = self.get(tender_id, viewer=None)
        if envelope in (None, TECHNICAL):
            return tender, tender.public_key
        if envelope == FINANCIAL and tender.financial_public_key is not None:
            return tender, tender.financial_public_key
        raise Invalid(
            _("Tender {reference} has no {envelope!r} envelope.").format(
                reference=tender.reference, envelope=envelope
            ),
            _(
                "A two-envelope tender seals technical and financial files to two keys; a "
                "single-envelope tender has one key, for every file."
            ),
            _(
                'Ask without an envelope, or with "technical" (or "financial" for a two-envelope '
                "tender)."
            ),
        )

    def list(self, *, viewer: User | None) -> list[Tender]:
        """The tenders ``viewer`` (None: the public) may see."""
        query = select(Tender).where(visible_to(self.session, viewer)).order_by(Tender.deadline)
        return list(self.session.scalars(query))

    def search(self, words: str, *, offset: int, limit: int) -> tuple[Sequence[Tender], int]:
        """A page of the tenders the public may see whose reference, title or description
        holds every one of ``words`` (case-folded; all of them when there are none), the
        latest deadline first, and how many match in all."""
        matches = and_(
            visible_to(self.session, None),
            *(
                or_(
                    Tender.reference.icontains(word, autoescape=True),
                    Tender.title.icontains(word, autoescape=True),
                    Tender.description.icontains(word, autoescape=True),
                )
                for word in words.split()
            ),
        )
        total = self.session.scalar(select(func.count()).select_from(Tender).where(matches))
        page = self.session.scalars(
            select(Tender)
            .where(matches)
            .order_by(Tender.deadline.desc(), Tender.reference)
            .offset(offset)
            .limit(limit)
        )
        return page.all(), total or 0

    def buyer(self, tender: Tender) -> Organisation:
        """The organisation that runs ``tender``."""
        return self.session.get_one(Organisation, tender.organisation_id)

    def publish(self, *, actor: User, tender_id: uuid.UUID) -> Tender:
        """Open a draft tender for bids; its opening is scheduled once this commits."""
        tender = get_tender(self.session, tender_id, for_update=True)
        require_buyer(actor, tender)
        now = self.clock.now()
        if tender.status == TenderStatus.DRAFT:
            self._check_deadline(tender.deadline, now, tender_id=tender.id)
        move(tender, TenderStatus.PUBLISHED, now=now, todo=_("Only a draft can be published."))
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

    def edit(self, *, actor: User, tender_id: uuid.UUID, data: TenderEdit) -> Tender:
        """Change what a draft says (only the fields given); a published tender changes only
        by addenda."""
        tender = get_tender(self.session, tender_id, for_update=True)
        require_buyer(actor, tender)
        if tender.status != TenderStatus.DRAFT:
            raise Conflict(
                _("Tender {reference} is {status}, so it cannot be edited.").format(
                    reference=tender.reference,
                    status=status_word(tender.status_at(self.clock.now())),
                ),
                _(
                    "Only a draft is edited in place; once published, suppliers rely on what it "
                    "said, so every change is published as an addendum that they can see."
                ),
                _("Publish an addendum instead: POST /api/tenders/{id}/addenda.").format(
                    id=tender.id
                ),
                tender_id=tender.id,
            )
        wanted = data.given()
        merged = self._checked(
            TenderCreate(
                reference=wanted.get("reference", tender.reference),
                title=wanted.get("title", tender.title),
                description=wanted.get("description", tender.description),
                deadline=wanted.get("deadline", tender.deadline),
                file_grace_seconds=wanted.get("file_grace_seconds", tender.file_grace_seconds),
                opening=tender.opening,
                quorum=tender.quorum,
                envelopes=tender.envelopes,
            ),
            tender_id=tender.id,
        )
        before = {name: getattr(tender, name) for name in wanted}
        for name in wanted:
            setattr(tender, name, getattr(merged, name))
        tender.reference_key = text.reference_key(tender.reference)
        self._flush_unique(tender)
        changed = sorted(name for name in wanted if getattr(tender, name) != before[name])
        audit.append(
            self.session,
            kind=EventKind.TENDER_EDITED,
            actor=actor.actor,
            at=self.clock.now(),
            tender_id=tender.id,
            payload={
                "changed": changed,
                "reference": tender.reference,
                "title": tender.title,
                **deadline_fields(tender),
            },
        )
        return tender

    def cancel(self, *, actor: User, tender_id: uuid.UUID, reason: str) -> Tender:
        """Call the tender off, with a reason, at any point before the award (not while the
        opening is running). Its bids are never opened: they stay sealed and locked for the
        retention period, and the opening, if it comes, does nothing."""
        reason = text.required(
            reason, field=N_("reason for the cancellation"), max_length=text.REASON_MAX, long=True
        )
        tender = get_tender(self.session, tender_id, for_update=True)
        require_buyer(actor, tender)
        now = self.clock.now()
        was = tender.status_at(now)
        move(
            tender,
            TenderStatus.CANCELLED,
            now=now,
            todo=_(
                "A tender being opened can be cancelled once the opening has finished; an "
                "awarded or cancelled one cannot be."
            ),
        )
        tender.cancelled_at = now
        tender.cancellation_reason = reason
        audit.append(
            self.session,
            kind=EventKind.TENDER_CANCELLED,
            actor=actor.actor,
            at=now,
            tender_id=tender.id,
            payload={"reason": reason, "was": was.value},
        )
        NotificationService(session=self.session, clock=self.clock).tell(
            self.taking_part(self.session, tender.id),
            MessageKind.TENDER_CANCELLED,
            tender=tender,
            reason=reason,
        )
        return tender

    def _checked(self, data: TenderCreate, *, tender_id: uuid.UUID | None = None) -> TenderCreate:
        """``data`` within the bounds (text cleaned, deadline and grace in range), or refused."""
        grace = data.file_grace_seconds
        if grace is not None and not MIN_FILE_GRACE <= timedelta(seconds=grace) <= MAX_FILE_GRACE:
            raise Invalid(
                _("A grace period of {grace} seconds for bid files cannot be used.").format(
                    grace=grace
                ),
                _(
                    "Fingerprint first lets files follow their fingerprints within a grace period "
                    "of {minutes} minutes to {days} days; "
                    "the opening waits for it to end."
                ).format(minutes=MIN_FILE_GRACE.seconds // 60, days=MAX_FILE_GRACE.days),
                _(
                    "Choose a grace period in that range (86400 is 24 hours), or leave it out to "
                    "take files by the deadline."
                ),
                tender_id=tender_id,
            )
        self._check_deadline(data.deadline, self.clock.now(), tender_id=tender_id)
        return replace(
            data,
            reference=text.required(
                data.reference, field=N_("reference"), max_length=text.REFERENCE_MAX
            ),
            title=text.required(data.title, field=N_("title"), max_length=text.TITLE_MAX),
            description=text.clean(
                data.description,
                field=N_("description"),
                max_length=text.DESCRIPTION_MAX,
                long=True,
            ),
        )

    def _check_opening(self, data: TenderCreate) -> None:
        """Refuse an opening committee of the wrong size or quorum, and members or a quorum for
        a tender opened automatically."""
        members, quorum = len(data.committee), data.quorum
        if data.opening is OpeningMethod.AUTOMATIC:
            if members or quorum is not None:
                raise Invalid(
                    _("A tender opened automatically has no opening committee."),
                    _(
                        "With automatic opening the platform opens the bids with a key it holds; "
                        "committee members and a quorum are for committee opening."
                    ),
                    _('Leave out "committee" and "quorum", or ask for "opening": "committee".'),
                )
            return
        if (
            len(set(data.committee)) != members
            or quorum is None
            or not (MIN_QUORUM <= quorum <= members <= MAX_COMMITTEE)
        ):
            raise Invalid(
                _(
                    "An opening committee of {committee} different members with a "
                    "quorum of {quorum} cannot be used."
                ).format(committee=len(set(data.committee)), quorum=quorum),
                _(
                    "New tenders are opened by a committee (the default): its key is split among "
                    "{min_quorum} to {max_committee} members, and a quorum of at least "
                    "{min_quorum} of them, no more than there are members, must release their "
                    "shares after the deadline for the bids to open."
                ).format(min_quorum=MIN_QUORUM, max_committee=MAX_COMMITTEE),
                _(
                    'Name the members ("committee": their user ids; GET /api/committee/keys lists '
                    'who has a committee key) and the "quorum"; or, accepting that the platform '
                    'then holds the key, ask for "opening": "automatic".'
                ),
                details={"members": members, "quorum": quorum},
            )

    def _check_deadline(
        self, deadline: datetime, now: datetime, *, tender_id: uuid.UUID | None
    ) -> None:
        """Refuse a deadline without a time zone, past, or beyond the horizon."""
        if deadline.tzinfo is None:
            raise Invalid(
                _("The deadline has no time zone."),
                _(
                    "Deadlines are exact instants; without a zone the same text means different "
                    "times."
                ),
                _("Send it as ISO 8601 with a zone, for example 2026-12-01T12:00:00Z."),
                tender_id=tender_id,
            )
        if deadline <= now:
            raise Invalid(
                _("The deadline ({deadline}) has already passed.").format(
                    deadline=for_people(deadline)
                ),
                _("It is now {now}; suppliers would have no time to bid.").format(
                    now=for_people(now)
                ),
                (
                    _("Set a deadline in the future and send it again.")
                    if tender_id is None
                    else _(
                        "Set a deadline in the future (PATCH /api/tenders/{tender_id}) and send "
                        "it again."
                    ).format(tender_id=tender_id)
                ),
                tender_id=tender_id,
            )
        if deadline - now > self.deadline_horizon:
            raise Invalid(
                _("The deadline ({deadline}) is too far ahead.").format(
                    deadline=deadline.isoformat()
                ),
                _(
                    "Deadlines may be at most {days} days from now "
                    "({now}): bids are locked in storage until the deadline and "
                    "years after it."
                ).format(days=self.deadline_horizon.days, now=for_people(now)),
                _("Choose a nearer deadline; it can be extended by an addendum later."),
                tender_id=tender_id,
                details={"horizon_days": self.deadline_horizon.days},
            )

    def _flush_unique(self, tender: Tender) -> None:
        """Write ``tender`` now, refusing a reference another tender has (in any case)."""
        try:
            with self.session.begin_nested():
                self.session.flush()
        except IntegrityError:
            raise Conflict(
                _("A tender with reference {reference!r} already exists.").format(
                    reference=tender.reference
                ),
                _(
                    "References identify tenders and must be unique (compared without regard to "
                    "upper and lower case)."
                ),
                _("Choose another reference."),
            ) from None
