"""The embedded default's timed openings fire at their deadlines however many are pending.

On the in-process StubBroker the delay queue used to be read with a prefetch of four, and each
pending opening held a slot until its deadline: with four tenders waiting, a fifth, due sooner,
was not delivered until one of them came due (the reconciler caught such openings late).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tender.audit.models import AuditEvent
from tender.clock import SystemClock
from tender.config import Settings
from tender.jobs import OPENING_QUEUE, make_broker
from tender.platform import Platform
from tender.signing.testing import TestPKI
from tender.storage.objectstore import S3Config
from tender.tenders.models import OpeningMethod, Tender, TenderStatus
from tender.tenders.schemas import TenderCreate
from tests.conftest import People, platform_of
from tests.helpers import unit_of_work


@pytest.fixture
def embedded(settings: Settings, s3_config: S3Config, test_pki: TestPKI) -> Iterator[Platform]:
    """A platform on the embedded broker (StubBroker) and its in-process worker, as `tender up`
    runs them, with the clock given to it (the system's: dramatiq times messages by it), and
    no reconciler."""
    platform = platform_of(
        settings,
        s3_config,
        test_pki,
        broker=make_broker("", namespace="unused"),
        clock=SystemClock(),
    )
    yield platform
    platform.close()


def _publish(platform: Platform, people: People, deadline: datetime) -> Tender:
    with unit_of_work(platform) as services:
        tender = services.tenders.create(
            actor=people.officer,
            data=TenderCreate(
                reference=f"P-{uuid.uuid4().hex[:6]}",
                title="Pending",
                deadline=deadline,
                opening=OpeningMethod.AUTOMATIC,
            ),
        )
        return services.tenders.publish(actor=people.officer, tender_id=tender.id)


@pytest.mark.slow
def test_ten_pending_openings_each_fire_at_its_deadline(embedded: Platform) -> None:
    people = People(embedded)
    start = datetime.now(UTC)
    # Published first, so they would take every prefetch slot: six tenders due later...
    later = [_publish(embedded, people, start + timedelta(seconds=12 + i / 10)) for i in range(6)]
    # ...then four due sooner.
    sooner = [_publish(embedded, people, start + timedelta(seconds=6 + i / 10)) for i in range(4)]
    worker = embedded.jobs.worker()
    worker.start()
    try:
        embedded.jobs.broker.join(OPENING_QUEUE, timeout=60_000)
        worker.join()
    finally:
        worker.stop()

    with embedded.sessions.begin() as session:
        tenders = {t.id: t for t in session.scalars(select(Tender))}
        started = {
            event.tender_id: event.seq
            for event in session.scalars(
                select(AuditEvent).where(AuditEvent.kind == "opening.started")
            )
        }
        starts = session.scalars(
            select(AuditEvent.tender_id).where(AuditEvent.kind == "opening.started")
        ).all()
    assert sorted(map(str, starts)) == sorted(str(t.id) for t in later + sooner)  # once each
    for tender in later + sooner:
        opened = tenders[tender.id]
        assert opened.status == TenderStatus.OPENED
        assert opened.opening_started_at is not None
        assert opened.opening_started_at >= tender.deadline
    # Each came when its own deadline did: the four due sooner were not held behind the six
    # due six seconds later (no reconciler runs here to make up for a late delivery).
    assert max(started[t.id] for t in sooner) < min(started[t.id] for t in later)
    assert [started[t.id] for t in sooner] == sorted(started[t.id] for t in sooner)
