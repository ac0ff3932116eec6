"""Committee opening: members' keys, a tender's committee formed, shares released after the
deadline, and the one way a tender's key is unlocked (every unwrap audited, none before the
deadline in the log). Works in the caller's transaction; it never commits.

What is decided is what the audit log says, never a table: the deadline in force, the
committee and the commitment to each member's share (``committee.formed``), and which
releases count (``committee.share_released``), read through the same ledger the offline
verifier reads.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tender.accounts.models import Role, User
from tender.audit import service as audit
from tender.audit.models import AuditEvent
from tender.clock import Clock, for_people
from tender.committee.models import FINANCIAL_KEY, TENDER_KEY, CommitteeKey, CommitteeShare
from tender.db import after_commit
from tender.errors import Conflict, Forbidden, Invalid
from tender.i18n import gettext as _
from tender.jobs import Jobs
from tender.notifications.messages import MessageKind
from tender.notifications.models import OutboxMessage
from tender.notifications.service import NotificationService
from tender.storage.committee import (
    HeldShare,
    ShareError,
    combine_shares,
    encrypt_share,
    member_public_key,
    public_key_fingerprint,
    share_context,
    split_secret,
)
from tender.storage.sealing import KeyWrapper, SealError, TenderKey
from tender.tenders.access import oversees, require_visible
from tender.tenders.models import OpeningMethod, Tender, TenderStatus
from tender.tenders.service import get_tender, key_context
from tender.verifier.kinds import EventKind
from tender.verifier.ledger import LoggedCommittee, TenderLedger, parse_time

log = logging.getLogger(__name__)

MEMBER_ROLES = frozenset({Role.OFFICER, Role.AUDITOR})
"""Who may sit on an opening committee: officers of any organisation, and auditors (an
independent observer). Not suppliers, who bid; not administrators, who run the platform."""
_RELEASED_SHARE_AAD = b"tender committee released share v1\x00"


def member_context(tender_id: uuid.UUID, key_name: str, member_id: uuid.UUID) -> bytes:
    """What a member's share of a tender's key is bound to (see ``share_context``)."""
    return share_context(tender_id=str(tender_id), key_name=key_name, member_id=str(member_id))


def tender_ledger(session: Session, tender: Tender) -> TenderLedger:
    """What the log says of ``tender``."""
    return TenderLedger.of(audit.tender_events(session, tender.id))


def form_committee(
    session: Session,
    tender: Tender,
    key: TenderKey,
    /,
    *,
    actor: User,
    members: Sequence[uuid.UUID],
    now: datetime,
    key_name: str = TENDER_KEY,
) -> None:
    """Split ``key`` (the tender's key named ``key_name``) among ``members``
    (``tender.quorum`` of them open it), each share encrypted to the member's current
    committee key, and log the committee with a commitment to each share
    (``committee.formed``). Nothing of the key is kept whole.

    The members' keys are the ones the log says they registered. Refused (422) for someone who
    is not an officer or auditor, or has no committee key.
    """
    assert tender.quorum is not None  # TenderService checked the committee's size
    users = {user.id: user for user in session.scalars(select(User).where(User.id.in_(members)))}
    keys = {
        row.user_id: row
        for row in session.scalars(
            select(CommitteeKey).where(
                CommitteeKey.user_id.in_(members), CommitteeKey.replaced_at.is_(None)
            )
        )
    }
    unknown = [str(member) for member in members if member not in users]
    if unknown:
        raise Invalid(
            _("There is no user {unknown}.").format(unknown=", ".join(unknown)),
            _("Committee members are named by their user ids."),
            _(
                "GET /api/committee/keys lists the people who can sit on a committee, with their "
                "ids."
            ),
            details={"unknown": unknown},
        )
    unfit = [users[member] for member in members if users[member].role not in MEMBER_ROLES]
    keyless = [users[m] for m in members if m not in keys and users[m].role in MEMBER_ROLES]
    if unfit or keyless:
        raise Invalid(
            _("These people cannot sit on the opening committee: {people}.").format(
                people="; ".join(
                    [
                        _("{name} ({organisation}) is a {role}").format(
                            name=user.name, organisation=user.organisation, role=user.role.value
                        )
                        for user in unfit
                    ]
                    + [
                        _("{name} ({organisation}) has no committee key").format(
                            name=user.name, organisation=user.organisation
                        )
                        for user in keyless
                    ]
                )
            ),
            _(
                "A member is an officer, of any organisation, or an auditor, and holds a share of "
                "the tender's key encrypted to a committee key they registered; suppliers bid and "
                "administrators run the platform, so neither may hold one."
            ),
            _(
                "Choose other members (GET /api/committee/keys lists who can sit), or ask those "
                "without a key to run `tender committee key create` and `tender committee key "
                "register` first."
            ),
            details={"members": [str(user.id) for user in [*unfit, *keyless]]},
        )
    for member in members:
        _check_registered(session, users[member], keys[member])
    secret = key.private_bytes()
    shares = split_secret(secret, quorum=tender.quorum, shares=len(members))
    # The split is checked before the key is let go: a quorum of the shares gives it back.
    assert combine_shares(shares[: tender.quorum]) == secret
    listed: list[dict[str, Any]] = []
    for member, share in zip(members, shares, strict=True):
        context = member_context(tender.id, key_name, member)
        commitment = share.commitment(context)
        session.add(
            CommitteeShare(
                tender_id=tender.id,
                key_name=key_name,
                member_id=member,
                share_index=share.index,
                member_key_id=keys[member].id,
                encrypted_share=encrypt_share(share, keys[member].public_key, context=context),
                commitment=commitment,
            )
        )
        listed.append(
            {
                "member_id": str(member),
                "name": users[member].name,
                "organisation": users[member].organisation,
                "index": share.index,
                "member_key": keys[member].fingerprint,
                "share_commitment": commitment,
            }
        )
    audit.append(
        session,
        kind=EventKind.COMMITTEE_FORMED,
        actor=actor.actor,
        at=now,
        tender_id=tender.id,
        payload={
            "key": key_name,
            "quorum": tender.quorum,
            "public_key": key.public_key_bytes.hex(),
            "members": listed,
        },
    )


def _check_registered(session: Session, user: User, key: CommitteeKey) -> None:
    """Refuse a key row that is not the key the log says ``user`` registered (the database was
    changed: shares encrypted to it could be someone else's to open)."""
    event = session.get(AuditEvent, key.audit_seq)
    payload = audit.to_json(event)["payload"] if event is not None else {}
    logged = (
        event is not None and audit.to_json(event)["kind"] == EventKind.COMMITTEE_KEY_REGISTERED
    )
    if (
        logged
        and payload.get("user_id") == str(user.id)
        and payload.get("fingerprint") == key.fingerprint == public_key_fingerprint(key.public_key)
    ):
        return
    raise Conflict(
        _(
            "The committee key on record for {name} is not the one the audit log says they "
            "registered."
        ).format(name=user.name),
        _("A share encrypted to it might be someone else's to open, so no share is dealt to it."),
        _(
            "Ask {name} to register their key again (`tender committee key register`), and "
            "tell the platform's auditors: the database was changed outside the platform."
        ).format(name=user.name),
        details={"member_id": str(user.id), "key_fingerprint": key.fingerprint},
    )


def quorum_waiting(session: Session, tender_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Of ``tender_ids``, the committee tenders that have not yet started opening and whose
    committee has fewer releases than the quorum (the reconciler leaves them alone)."""
    waiting = set()
    for tender in session.scalars(
        select(Tender).where(
            Tender.id.in_(tender_ids),
            Tender.opening == OpeningMethod.COMMITTEE,
            Tender.status == TenderStatus.PUBLISHED,
        )
    ):
        released = len(releases_of(session, tender.id))
        if tender.quorum is None or released < tender.quorum:
            waiting.add(tender.id)
    return waiting


def releases_of(
    session: Session, tender_id: uuid.UUID, key_name: str = TENDER_KEY
) -> list[tuple[CommitteeShare, User]]:
    """The members who released their share of the tender's key, in the order they did."""
    return [
        (share, user)
        for share, user in session.execute(
            select(CommitteeShare, User)
            .join(User, User.id == CommitteeShare.member_id)
            .where(
                CommitteeShare.tender_id == tender_id,
                CommitteeShare.key_name == key_name,
                CommitteeShare.released_at.is_not(None),
            )
            .order_by(CommitteeShare.released_at)
        )
    ]


def remind_committees(
    session: Session, *, clock: Clock, tenders: Sequence[Tender] | None = None
) -> list[OutboxMessage]:
    """Tell each member who has not released their share of a committee tender whose files
    are due (and whose quorum is not in) that the opening waits for them; once per tender.
    ``tenders``: these only (the opening, at the deadline); else every such tender."""
    now = clock.now()
    if tenders is None:
        tenders = session.scalars(
            select(Tender).where(
                Tender.opening == OpeningMethod.COMMITTEE,
                Tender.status == TenderStatus.PUBLISHED,
                Tender.deadline <= now,
            )
        ).all()
    queued: list[OutboxMessage] = []
    for tender in tenders:
        if tender.files_until > now or tender.quorum is None:
            continue
        members = session.execute(
            select(CommitteeShare, User)
            .join(User, User.id == CommitteeShare.member_id)
            .where(CommitteeShare.tender_id == tender.id, CommitteeShare.key_name == TENDER_KEY)
        ).all()
        released = sum(1 for share, _ in members if share.released_at is not None)
        if released >= tender.quorum:
            continue
        # The timed opening and the reconciler may both get here at once: the tender's row,
        # locked, lets one of them tell and the other find it told.
        session.execute(select(Tender.id).where(Tender.id == tender.id).with_for_update())
        told = set(
            session.scalars(
                select(OutboxMessage.recipient_user_id).where(
                    OutboxMessage.kind == MessageKind.COMMITTEE_RELEASE_DUE.value,
                    OutboxMessage.tender_id == tender.id,
                )
            )
        )
        queued += NotificationService(session=session, clock=clock).tell(
            [user for share, user in members if share.released_at is None and user.id not in told],
            MessageKind.COMMITTEE_RELEASE_DUE,
            tender=tender,
            quorum=tender.quorum,
            members=len(members),
            released=released,
        )
    return queued


def unlock_tender_key(
    session: Session,
    tender: Tender,
    *,
    platform_key: KeyWrapper,
    clock: Clock,
    actor: str,
    purpose: str,
    key_name: str = TENDER_KEY,
) -> TenderKey:
    """The tender's private key, for ``purpose`` (the opening, an evaluator's read): the one
    way it is ever unwrapped or put together, and each time a ``tender.key_unwrapped`` event.

    Refused (409, ``tender.key_refused`` once the caller audits it) before the deadline the log
    records, whatever the tenders table says; for a committee tender (as the log says it is)
    also until a quorum of members has released shares that match their commitments, which
    are then combined and checked against the tender's public key in the log. A two-envelope
    tender's financial key (``key_name`` FINANCIAL_KEY) is also refused until the log records
    that the financial opening was requested.
    """
    ledger = tender_ledger(session, tender)
    now = clock.now()
    due = ledger.files_until
    if key_name == FINANCIAL_KEY and ledger.financial_requested is None:
        raise Conflict(
            _("The financial key of tender {reference} cannot be used yet.").format(
                reference=tender.reference
            ),
            _(
                "Financial envelopes are opened only after the officer has recorded a verdict on "
                "every bid's technical envelope and asked for the financial opening, and the audit "
                "log records no such request: nobody, the platform included, unwraps it before."
            ),
            _(
                "Record the qualification verdicts, then ask for the financial opening "
                "(`tender open-financial --tender {reference}`)."
            ).format(reference=tender.reference),
            tender_id=tender.id,
            details={"key": key_name, "purpose": purpose},
            audit_kind=EventKind.TENDER_KEY_REFUSED,
        )
    if due is None or now < parse_time(due):
        raise Conflict(
            _("The key of tender {reference} cannot be used yet.").format(
                reference=tender.reference
            ),
            _(
                "It is now {now}, and the deadline the audit log records is "
                "{logged_deadline}: nobody, the platform included, unwraps a tender's key before "
                "it (whatever the tenders table says)."
            ).format(now=for_people(now), logged_deadline=due or _("missing")),
            _("Wait for the deadline; the opening then runs by itself."),
            tender_id=tender.id,
            details={"key": key_name, "purpose": purpose, "deadline_in_log": due},
            audit_kind=EventKind.TENDER_KEY_REFUSED,
        )
    if ledger.opening_method == OpeningMethod.COMMITTEE:
        committee = ledger.committees.get(key_name)
        if committee is None:
            raise _refused(tender, key_name, purpose, _("the log holds no committee for this key"))
        key = _combined(session, tender, ledger, committee, platform_key, purpose)
        how: dict[str, Any] = {
            "released_by": [
                release.member_id for release in ledger.released(key_name)[: committee.quorum]
            ]
        }
    else:
        wrapped = (
            tender.wrapped_financial_key
            if key_name == FINANCIAL_KEY
            else tender.wrapped_private_key
        )
        if wrapped is None:
            raise _refused(tender, key_name, purpose, _("no wrapped key is stored for it"))
        try:
            key = TenderKey.unwrap(wrapped, platform_key, context=key_context(tender.id, key_name))
        except SealError as exc:
            raise _refused(tender, key_name, purpose, str(exc)) from None
        how = {"platform_key": platform_key.fingerprint}
    if key.public_key_bytes.hex() != ledger.public_key_of(key_name):
        raise _refused(
            tender,
            key_name,
            purpose,
            _("the key found does not belong to the public key the log gives for the tender"),
        )
    audit.append(
        session,
        kind=EventKind.TENDER_KEY_UNWRAPPED,
        actor=actor,
        at=now,
        tender_id=tender.id,
        payload={
            "key": key_name,
            "purpose": purpose,
            "opening": ledger.opening_method,
            **how,
        },
    )
    return key


def _refused(tender: Tender, key_name: str, purpose: str, why: str) -> Conflict:
    return Conflict(
        _("The key of tender {reference} cannot be put together: {why}.").format(
            reference=tender.reference, why=why
        ),
        _(
            "What the platform stores for this tender disagrees with the audit log, or is "
            "damaged; it is not used."
        ),
        _(
            "Tell the platform's auditors; restore the tables from a backup that agrees with "
            "the log."
        ),
        tender_id=tender.id,
        details={"key": key_name, "purpose": purpose, "problem": why},
        audit_kind=EventKind.TENDER_KEY_REFUSED,
    )


def _combined(
    session: Session,
    tender: Tender,
    ledger: TenderLedger,
    committee: LoggedCommittee,
    platform_key: KeyWrapper,
    purpose: str,
) -> TenderKey:
    """The key the first quorum of valid releases in the log give."""
    counted = ledger.released(committee.key)
    if len(counted) < committee.quorum:
        raise Conflict(
            _("The opening committee of tender {reference} has not released enough shares.").format(
                reference=tender.reference
            ),
            _(
                "{counted} of its {members} members have released a share; "
                "{quorum} are needed to put the key together."
            ).format(counted=len(counted), members=len(committee.members), quorum=committee.quorum),
            _(
                "Wait for the members to release their shares (GET /api/tenders/"
                "{id}/committee says who has not)."
            ).format(id=tender.id),
            tender_id=tender.id,
            details={"key": committee.key, "purpose": purpose, "released": len(counted)},
            audit_kind=EventKind.TENDER_KEY_REFUSED,
        )
    rows = {
        str(share.member_id): share
        for share in session.scalars(
            select(CommitteeShare).where(
                CommitteeShare.tender_id == tender.id, CommitteeShare.key_name == committee.key
            )
        )
    }
    shares = []
    for release in counted[: committee.quorum]:
        row = rows.get(release.member_id)
        member = committee.members[release.member_id]
        context = member_context(tender.id, committee.key, uuid.UUID(release.member_id))
        try:
            if row is None or row.released_share is None:
                raise ShareError("it is not stored")
            share = HeldShare.from_bytes(
                platform_key.unwrap_secret(row.released_share, _RELEASED_SHARE_AAD + context)
            )
        except (SealError, ShareError) as exc:
            raise _refused(
                tender,
                committee.key,
                purpose,
                _("{name}'s released share: {problem}").format(name=member.name, problem=exc),
            ) from None
        if share.commitment(context) != member.share_commitment:
            raise _refused(
                tender,
                committee.key,
                purpose,
                _("the stored share of {name} is not the one they released").format(
                    name=member.name
                ),
            )
        shares.append(share)
    try:
        return TenderKey.from_private_bytes(combine_shares(shares))
    except (SealError, ShareError) as exc:
        raise _refused(tender, committee.key, purpose, str(exc)) from None


@dataclass(frozen=True)
class EncryptedShare:
    """A member's share of a tender's key, as only their key file opens it."""

    tender: Tender
    row: CommitteeShare


@dataclass(frozen=True, kw_only=True)
class CommitteeService:
    """Committee keys and shares, in the caller's transaction (it never commits)."""

    session: Session
    clock: Clock
    platform_key: KeyWrapper
    jobs: Jobs

    def register_key(self, *, actor: User, public_key: bytes) -> CommitteeKey:
        """Make ``public_key`` ``actor``'s committee key: shares of tenders created from now on
        are encrypted to it (those dealt before stay with the key they were dealt to)."""
        try:
            member_public_key(public_key)
        except ShareError as exc:
            raise Invalid(
                _("This is not a committee public key."),
                _("It cannot be read: {problem}.").format(problem=exc),
                _(
                    "Register the key that `tender committee key create` made, with `tender "
                    "committee key register`."
                ),
            ) from None
        now = self.clock.now()
        fingerprint = public_key_fingerprint(public_key)
        self.session.execute(
            update(CommitteeKey)
            .where(CommitteeKey.user_id == actor.id, CommitteeKey.replaced_at.is_(None))
            .values(replaced_at=now)
        )
        event = audit.append(
            self.session,
            kind=EventKind.COMMITTEE_KEY_REGISTERED,
            actor=actor.actor,
            at=now,
            payload={
                "user_id": str(actor.id),
                "name": actor.name,
                "organisation": actor.organisation,
                "fingerprint": fingerprint,
            },
        )
        key = CommitteeKey(
            user_id=actor.id,
            public_key=public_key,
            fingerprint=fingerprint,
            registered_at=now,
            audit_seq=event.seq,
        )
        self.session.add(key)
        self.session.flush()
        return key

    def current_keys(self) -> list[tuple[CommitteeKey, User]]:
        """Everyone who can sit on a committee now, with their key."""
        return [
            (key, user)
            for key, user in self.session.execute(
                select(CommitteeKey, User)
                .join(User, User.id == CommitteeKey.user_id)
                .where(CommitteeKey.replaced_at.is_(None), User.role.in_(MEMBER_ROLES))
                .order_by(User.name)
            )
        ]

    def seats(self, *, member: User) -> list[tuple[Tender, CommitteeShare]]:
        """The tenders whose key ``member`` holds a share of (each key's share), soonest
        deadline first: what their committee pages list."""
        return [
            (tender, share)
            for tender, share in self.session.execute(
                select(Tender, CommitteeShare)
                .join(CommitteeShare, CommitteeShare.tender_id == Tender.id)
                .where(CommitteeShare.member_id == member.id)
                .order_by(Tender.deadline, Tender.reference, CommitteeShare.key_name)
            )
        ]

    def committee(
        self, *, viewer: User, tender_id: uuid.UUID
    ) -> tuple[Tender, list[tuple[CommitteeShare, User]]]:
        """The tender and its committee's shares with their members, for the tender's overseers
        and the members themselves."""
        tender = get_tender(self.session, tender_id)
        require_visible(self.session, viewer, tender)
        members = [
            (share, user)
            for share, user in self.session.execute(
                select(CommitteeShare, User)
                .join(User, User.id == CommitteeShare.member_id)
                .where(CommitteeShare.tender_id == tender.id)
                .order_by(CommitteeShare.key_name, CommitteeShare.share_index)
            )
        ]
        if not oversees(self.session, viewer, tender) and viewer.id not in {
            user.id for _, user in members
        }:
            raise Forbidden(
                _("You cannot read the opening committee of tender {reference}.").format(
                    reference=tender.reference
                ),
                _(
                    "Who holds shares of a tender's key, and who has released them, is for the "
                    "officers who run the tender, its auditors and the committee's members."
                ),
                _("Ask the organisation that runs the tender."),
                tender_id=tender.id,
            )
        return tender, members

    def encrypted_share(
        self, *, member: User, tender_id: uuid.UUID, key_name: str = TENDER_KEY
    ) -> EncryptedShare:
        """``member``'s encrypted share of the tender's key: only after the deadline in the
        log (before it, refused and audited), and not for a cancelled tender."""
        tender, row = self._share_row(member, tender_id, key_name)
        self._refuse_if_not_due(tender, member, key_name, action=_("fetch"), ledger=None)
        return EncryptedShare(tender, row)

    def release(
        self, *, member: User, tender_id: uuid.UUID, share: bytes, key_name: str = TENDER_KEY
    ) -> Tender:
        """Take ``member``'s released share of the tender's key, after the deadline in the log.

        Refused, audited (``committee.share_refused``) and the member named, if it is early or
        is not the share dealt to them (its commitment in the log). The released share is kept
        wrapped by the platform key; once the quorum is in, the opening is asked for.
        """
        tender, row = self._share_row(member, tender_id, key_name, for_update=True)
        ledger = tender_ledger(self.session, tender)
        self._refuse_if_not_due(tender, member, key_name, action=_("release"), ledger=ledger)
        if row.released_at is not None:
            raise Conflict(
                _(
                    "You already released your share of tender {reference}'s key, at {released_at}."
                ).format(reference=tender.reference, released_at=for_people(row.released_at)),
                _("Each member releases their share once."),
                _(
                    "Nothing more is needed from you; GET /api/tenders/{id}/committee shows "
                    "who else has released."
                ).format(id=tender.id),
                tender_id=tender.id,
            )
        committee = ledger.committees.get(key_name)
        logged = None if committee is None else committee.members.get(str(member.id))
        context = member_context(tender.id, key_name, member.id)
        try:
            held: HeldShare | None = HeldShare.from_bytes(share)
        except ShareError:
            held = None
        released = None if held is None else held.commitment(context)
        if logged is None or held is None or released != logged.share_commitment:
            raise Invalid(
                _(
                    "The share {name} ({organisation}) released for tender "
                    "{reference} is not the share dealt to them."
                ).format(
                    name=member.name, organisation=member.organisation, reference=tender.reference
                ),
                (
                    _(
                        "Each share is checked against the commitment to it that the audit log "
                        "recorded when the tender was created; this one is not a share at all. "
                        "It is not kept, and the refusal is recorded with your name."
                    )
                    if held is None
                    else _(
                        "Each share is checked against the commitment to it that the audit log "
                        "recorded when the tender was created; this one does not match it. It "
                        "is not kept, and the refusal is recorded with your name."
                    )
                ),
                _(
                    "Release the share your own committee key file decrypts: `tender committee "
                    "release --tender {reference} --key-file YOUR.key`. If you did, tell "
                    "the platform's auditors."
                ).format(reference=tender.reference),
                tender_id=tender.id,
                details={
                    "key": key_name,
                    "member_id": str(member.id),
                    "member": member.name,
                    "organisation": member.organisation,
                    "expected_share_commitment": None
                    if logged is None
                    else logged.share_commitment,
                    "released_share_commitment": released,
                },
                audit_kind=EventKind.COMMITTEE_SHARE_REFUSED,
            )
        assert held is not None
        assert committee is not None
        now = self.clock.now()
        row.released_at = now
        row.released_share = self.platform_key.wrap_secret(
            held.to_bytes(), _RELEASED_SHARE_AAD + context
        )
        audit.append(
            self.session,
            kind=EventKind.COMMITTEE_SHARE_RELEASED,
            actor=member.actor,
            at=now,
            tender_id=tender.id,
            payload={
                "key": key_name,
                "member_id": str(member.id),
                "member": member.name,
                "index": held.index,
                "share_commitment": released,
            },
        )
        if len(ledger.released(key_name)) + 1 >= committee.quorum:
            tender_id = tender.id
            # After commit: the opening must find the release recorded. If the broker is down,
            # the reconciler asks for it at its next round.
            after_commit(self.session, lambda: self.jobs.request_opening(tender_id))
        return tender

    def _share_row(
        self, member: User, tender_id: uuid.UUID, key_name: str, *, for_update: bool = False
    ) -> tuple[Tender, CommitteeShare]:
        tender = get_tender(self.session, tender_id, for_update=for_update)
        require_visible(self.session, member, tender)
        row = self.session.get(CommitteeShare, (tender.id, key_name, member.id))
        if row is None:
            raise Forbidden(
                _("You hold no share of tender {reference}'s {key_name!r} key.").format(
                    reference=tender.reference, key_name=key_name
                ),
                _(
                    "Shares are dealt to the members of a tender's opening committee when the "
                    "tender is created."
                )
                if tender.opening is OpeningMethod.COMMITTEE
                else _(
                    "Shares are dealt to the members of a tender's opening committee when the "
                    "tender is created; this tender is opened automatically, with no committee."
                ),
                _("GET /api/tenders/{id}/committee shows who is on its committee.").format(
                    id=tender.id
                ),
                tender_id=tender.id,
            )
        return tender, row

    def _refuse_if_not_due(
        self,
        tender: Tender,
        member: User,
        key_name: str,
        *,
        action: str,
        ledger: TenderLedger | None,
    ) -> None:
        """Refuse (audited as ``committee.share_refused``) before the deadline in the log, and
        for a cancelled tender, whose bids are never opened."""
        if ledger is None:
            ledger = tender_ledger(self.session, tender)
        due, now = ledger.files_until, self.clock.now()
        details = {"action": action, "key": key_name, "member_id": str(member.id)}
        if tender.status is TenderStatus.CANCELLED:
            raise Conflict(
                _("Tender {reference} was cancelled: its key is never put together.").format(
                    reference=tender.reference
                ),
                _("A cancelled tender's bids stay sealed for good."),
                _("Keep your key file; nothing is needed from you for this tender."),
                tender_id=tender.id,
                details=details,
                audit_kind=EventKind.COMMITTEE_SHARE_REFUSED,
            )
        if (
            key_name == FINANCIAL_KEY
            and due is not None
            and now >= parse_time(due)
            and ledger.financial_requested is None
        ):
            raise Conflict(
                _(
                    "It is too early to {action} a share of tender {reference}'s financial key."
                ).format(action=action, reference=tender.reference),
                _(
                    "Financial envelopes are opened only once the officer has recorded a verdict "
                    "on every bid's technical envelope and asked for the financial opening, and "
                    "the audit log records no such request yet. This attempt is recorded."
                ),
                _(
                    "Wait for the message that the financial opening was requested, then run "
                    "`tender committee release --tender {reference} --key financial "
                    "--key-file YOUR.key`."
                ).format(reference=tender.reference),
                tender_id=tender.id,
                details=details,
                audit_kind=EventKind.COMMITTEE_SHARE_REFUSED,
            )
        if due is None or now < parse_time(due):
            raise Conflict(
                _("It is too early to {action} a share of tender {reference}'s key.").format(
                    action=action, reference=tender.reference
                ),
                _(
                    "It is now {now}; shares are released only after the deadline "
                    "the audit log records ({logged_deadline}), so that nobody can open the bids "
                    "before it. This attempt is recorded."
                ).format(now=for_people(now), logged_deadline=due or _("missing")),
                _(
                    "Release your share after the deadline: `tender committee release --tender "
                    "{reference} --key-file YOUR.key`."
                ).format(reference=tender.reference),
                tender_id=tender.id,
                details={**details, "deadline_in_log": due},
                audit_kind=EventKind.COMMITTEE_SHARE_REFUSED,
            )
