"""Small steps several service tests take: a published tender, an upload, the audit kinds."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import timedelta

import anyio
from sqlalchemy import select

from tender.accounts.models import User
from tender.accounts.service import register_certificate
from tender.audit.models import AuditEvent
from tender.bids.schemas import Receipt
from tender.clock import ManualClock
from tender.platform import Platform
from tender.signing.testing import TestPKI, signed_pdf
from tender.tenders import service as tenders
from tender.tenders.models import Tender
from tender.tenders.schemas import TenderCreate
from tests.conftest import People


def published_tender(
    platform: Platform, officer: User, clock: ManualClock, *, hours: float = 2, ref: str = "T-1"
) -> Tender:
    with platform.sessions.begin() as session:
        tender = tenders.create_tender(
            session,
            actor=officer,
            data=TenderCreate(
                reference=ref, title="Road works", deadline=clock.now() + timedelta(hours=hours)
            ),
            clock=clock,
            platform_key=platform.platform_key,
        )
        return tenders.publish_tender(session, actor=officer, tender_id=tender.id, clock=clock)


async def _chunks(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def upload(
    platform: Platform, supplier: User, tender_id: uuid.UUID, name: str, parts: Iterable[bytes]
) -> Receipt:
    """Submit ``parts`` as one streamed document through the bid service."""

    async def go() -> Receipt:
        return await platform.bids.submit(
            supplier=supplier, tender_id=tender_id, file_name=name, chunks=_chunks(parts)
        )

    return anyio.run(go)


def audit_kinds(platform: Platform, tender_id: uuid.UUID | None = None) -> list[str]:
    query = select(AuditEvent.kind).order_by(AuditEvent.seq)
    if tender_id is not None:
        query = query.where(AuditEvent.tender_id == tender_id)
    with platform.sessions.begin() as session:
        return list(session.scalars(query))


def register_signer(platform: Platform, supplier: User, pki: TestPKI, signer: str) -> None:
    """Register ``signer``'s certificate from the test PKI for ``supplier``'s organisation."""
    with platform.sessions.begin() as session:
        register_certificate(
            session, actor=supplier, data=pki.certificate(signer).dump(), clock=platform.clock
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
    platform.opening.open_tender(tender.id)
    return tender
