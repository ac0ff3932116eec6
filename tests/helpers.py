"""Small steps many tests take: services in a transaction, a published tender, an upload."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import anyio
from pyhanko.sign.signers import Signer
from sqlalchemy import select
from sqlalchemy.orm import Session

from tender.accounts.models import Role, SigningCertificate, User
from tender.accounts.service import AccountService, CertificateService
from tender.audit.models import AuditEvent
from tender.auditors.service import TrailService
from tender.bids.schemas import Receipt
from tender.bids.service import BidService
from tender.clock import Clock, ManualClock
from tender.committee.models import TENDER_KEY
from tender.committee.service import CommitteeService, form_committee, member_context
from tender.documents.service import suppliers_of
from tender.opening.service import OpeningService
from tender.platform import Platform
from tender.signing import read_certificate
from tender.signing.signer import sign_detached
from tender.signing.testing import TestPKI, signed_pdf
from tender.storage.committee import HeldShare, MemberKey, decrypt_share
from tender.tenders.models import Envelopes, OpeningMethod, Tender
from tender.tenders.schemas import TenderCreate
from tender.tenders.service import TenderService
from tests.conftest import People


@dataclass(frozen=True)
class Services:
    """Every feature's service on one session, as a request's unit of work has them."""

    session: Session
    accounts: AccountService
    tenders: TenderService
    bids: BidService
    opening: OpeningService
    trail: TrailService


@dataclass(frozen=True)
class Member:
    """A committee member: their account, and the key pair whose private half their key file
    would hold."""

    user: User
    key: MemberKey


def committee_service(platform: Platform, session: Session) -> CommitteeService:
    return CommitteeService(
        session=session,
        clock=platform.clock,
        platform_key=platform.platform_key,
        jobs=platform.jobs,
    )


def committee_member(
    platform: Platform, name: str, organisation: str, role: Role = Role.OFFICER
) -> Member:
    """A new user of ``role`` with a registered committee key."""
    key = MemberKey.generate()
    with platform.sessions.begin() as session:
        user, _ = AccountService(session=session, clock=platform.clock).create_user(
            name=name, organisation=organisation, role=role
        )
        committee_service(platform, session).register_key(
            actor=user, public_key=key.public_key_bytes
        )
    return Member(user, key)


def three_members(platform: Platform) -> list[Member]:
    """Two officers of two organisations (the buyer, and an independent one) and an auditor,
    each with a committee key."""
    return [
        committee_member(platform, "Olga Opener", "Procuring Entity"),
        committee_member(platform, "Otto Observer", "Independent Commission"),
        committee_member(platform, "Audrey Auditor", "Audit Commission", Role.AUDITOR),
    ]


def committee_tender(
    platform: Platform,
    officer: User,
    clock: ManualClock,
    members: list[Member],
    *,
    quorum: int,
    hours: float = 2,
    ref: str = "C-1",
) -> Tender:
    """A published tender opened by ``members``' committee, ``quorum`` of them."""
    return _published(
        platform,
        officer,
        TenderCreate(
            reference=ref,
            title="Harbour dredging",
            deadline=clock.now() + timedelta(hours=hours),
            committee=tuple(member.user.id for member in members),
            quorum=quorum,
        ),
    )


def own_share(
    platform: Platform, member: Member, tender_id: uuid.UUID, key_name: str = TENDER_KEY
) -> HeldShare:
    """``member``'s share of the tender's key (``key_name``), fetched and decrypted as their
    key file would."""
    with platform.sessions.begin() as session:
        found = committee_service(platform, session).encrypted_share(
            member=member.user, tender_id=tender_id, key_name=key_name
        )
        encrypted = found.row.encrypted_share
    context = member_context(tender_id, key_name, member.user.id)
    return decrypt_share(encrypted, member.key, context=context)


def release_share(
    platform: Platform,
    member: Member,
    tender_id: uuid.UUID,
    share: HeldShare | None = None,
    key_name: str = TENDER_KEY,
) -> None:
    """``member`` releases their own share (or ``share``) of the tender's key (``key_name``)."""
    released = share or own_share(platform, member, tender_id, key_name)
    with platform.sessions.begin() as session:
        committee_service(platform, session).release(
            member=member.user, tender_id=tender_id, share=released.to_bytes(), key_name=key_name
        )


@contextmanager
def unit_of_work(platform: Platform) -> Iterator[Services]:
    """One transaction, committed at the end (rolled back if the block raises)."""
    with platform.sessions.begin() as session:
        clock = platform.clock
        yield Services(
            session=session,
            accounts=AccountService(session=session, clock=clock),
            tenders=TenderService(
                session=session,
                clock=clock,
                platform_key=platform.platform_key,
                jobs=platform.jobs,
                taking_part=suppliers_of,
                form_committee=form_committee,
            ),
            bids=BidService(session=session, clock=clock),
            opening=OpeningService(
                session=session,
                clock=clock,
                store=platform.store,
                bucket=platform.settings.bucket,
                platform_key=platform.platform_key,
            ),
            trail=TrailService(session=session),
        )


def published_tender(
    platform: Platform,
    officer: User,
    clock: ManualClock,
    *,
    hours: float = 2,
    ref: str = "T-1",
    supplier_sealed: bool = False,
) -> Tender:
    """A published tender opened automatically (the platform's key), where the committee is
    not what is tested."""
    return _published(
        platform,
        officer,
        TenderCreate(
            reference=ref,
            title="Road works",
            deadline=clock.now() + timedelta(hours=hours),
            opening=OpeningMethod.AUTOMATIC,
            supplier_sealed=supplier_sealed,
        ),
    )


def two_envelope_tender(
    platform: Platform,
    officer: User,
    clock: Clock,
    *,
    ref: str,
    members: list[Member] | None = None,
    seconds: float = 3600,
) -> Tender:
    """A published two-envelope tender, closing in ``seconds``: opened automatically, or by
    ``members``' committee (a quorum of 2)."""
    return _published(
        platform,
        officer,
        TenderCreate(
            reference=ref,
            title="Bridge repair",
            deadline=clock.now() + timedelta(seconds=seconds),
            envelopes=Envelopes.TWO,
            opening=OpeningMethod.AUTOMATIC if members is None else OpeningMethod.COMMITTEE,
            committee=() if members is None else tuple(m.user.id for m in members),
            quorum=None if members is None else 2,
        ),
    )


def _published(platform: Platform, officer: User, data: TenderCreate) -> Tender:
    with unit_of_work(platform) as services:
        tender = services.tenders.create(actor=officer, data=data)
        return services.tenders.publish(actor=officer, tender_id=tender.id)


async def chunks_of(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def upload(
    platform: Platform,
    supplier: User,
    tender_id: uuid.UUID,
    name: str,
    parts: Iterable[bytes],
    *,
    declared_sha256: str | None = None,
    envelope: str | None = None,
) -> Receipt:
    """Submit ``parts`` as one streamed document through the bid intake (for a
    supplier-sealed tender: sealed, with the plain file's ``declared_sha256``; in ``envelope``
    of a two-envelope tender)."""

    async def go() -> Receipt:
        return await platform.intake.submit(
            supplier=supplier,
            tender_id=tender_id,
            file_name=name,
            chunks=chunks_of(parts),
            declared_sha256=declared_sha256,
            envelope=envelope,
        )

    return anyio.run(go)


def audit_kinds(platform: Platform, tender_id: uuid.UUID | None = None) -> list[str]:
    query = select(AuditEvent.kind).order_by(AuditEvent.seq)
    if tender_id is not None:
        query = query.where(AuditEvent.tender_id == tender_id)
    with platform.sessions.begin() as session:
        return list(session.scalars(query))


def certificates(platform: Platform, session: Session) -> CertificateService:
    return CertificateService(
        session=session,
        clock=platform.clock,
        trust=platform.trust,
        platform_name=platform.settings.log_origin,
    )


def sign_text(text: str, signer: Signer) -> bytes:
    """A detached CAdES signature over ``text``, as a supplier's tool makes one."""
    signature = io.BytesIO()
    sign_detached(io.BytesIO(text.encode()), signature, signer)
    return signature.getvalue()


def register_signer(
    platform: Platform, supplier: User, pki: TestPKI, signer: str
) -> SigningCertificate:
    """Register ``signer``'s certificate from the test PKI for ``supplier``'s organisation,
    answering the challenge with a signature by that certificate's key."""
    with platform.sessions.begin() as session:
        challenge = certificates(platform, session).challenge(actor=supplier)
    with platform.sessions.begin() as session:
        return certificates(platform, session).register(
            actor=supplier,
            challenge_id=challenge.id,
            signature=sign_text(challenge.text, pki.signer(signer)),
        )


def registered_before_its_authority_was_dropped(
    platform: Platform, supplier: User, pki: TestPKI, signer: str
) -> None:
    """Record ``signer``'s certificate for ``supplier``'s organisation as if it had been
    registered while its authority was still accepted (it can no longer be registered): the
    opening must then find the chain untrusted, not the signer unregistered."""
    info = read_certificate(pki.certificate(signer).dump())
    with platform.sessions.begin() as session:
        session.add(
            SigningCertificate(
                organisation_id=supplier.organisation_id,
                sha256=info.sha256,
                subject=info.subject,
                issuer=info.issuer,
                serial=info.serial,
                not_before=info.not_before,
                not_after=info.not_after,
                der=info.der,
                registered_by=supplier.id,
                registered_at=platform.clock.now(),
            )
        )


def opened_with_one_valid_bid(
    platform: Platform, people: People, clock: ManualClock, pki: TestPKI
) -> Tender:
    """A tender whose one bid (Alice's, signed with her registered certificate) was opened
    one second after the deadline."""
    tender = published_tender(platform, people.officer, clock, hours=1)
    register_signer(platform, people.alice, pki, "supplier-a")
    upload(platform, people.alice, tender.id, "bid.pdf", [signed_pdf(pki, "supplier-a", "A")])
    clock.set(tender.deadline + timedelta(seconds=1))
    platform.opener.open_tender(tender.id)
    return tender
