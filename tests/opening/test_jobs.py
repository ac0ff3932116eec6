"""The timed opening with a real dramatiq Worker, on the in-process StubBroker and on Redis."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dramatiq
import pytest

from tender.clock import SystemClock
from tender.config import Settings
from tender.jobs import OPENING_QUEUE, make_broker
from tender.platform import Platform, build_platform
from tender.signing.testing import TestPKI
from tender.storage.objectstore import S3Config
from tender.tenders.models import Tender, TenderStatus
from tender.tenders.schemas import TenderCreate
from tests.conftest import People
from tests.helpers import unit_of_work


@pytest.fixture(params=["stub", pytest.param("redis", marks=pytest.mark.redis)])
def broker(request: pytest.FixtureRequest) -> Iterator[dramatiq.Broker]:
    if request.param == "stub":
        made = make_broker("", namespace="unused")
    else:
        url = request.getfixturevalue("redis_url")
        # A namespace of its own: CI reuses one Redis across runs.
        made = make_broker(url, namespace=f"tender-test-{uuid.uuid4().hex[:12]}")
    yield made
    if request.param == "redis":
        made.flush_all()
    made.close()


@dataclass(frozen=True)
class Live:
    platform: Platform
    worker: dramatiq.Worker


@pytest.fixture
def live(
    settings: Settings,
    s3_config: S3Config,
    test_pki: TestPKI,
    broker: dramatiq.Broker,
) -> Iterator[Live]:
    """A platform on the real clock, with a worker consuming the opening queue."""
    settings.data_dir.mkdir(parents=True)
    platform = build_platform(
        settings,
        s3=s3_config,
        trust=test_pki.trust_store(),
        timestamper=test_pki.timestamper(),
        timestamp_trust=test_pki.trust_store(),
        seal=test_pki.signer("platform"),
        broker=broker,
        clock=SystemClock(),
    )
    worker = platform.jobs.worker()
    worker.start()
    yield Live(platform, worker)
    worker.stop()
    platform.close()


def _publish(platform: Platform, people: People, seconds: float) -> Tender:
    """A tender closing in ``seconds``; publishing schedules its opening once it commits."""
    with unit_of_work(platform) as services:
        tender = services.tenders.create(
            actor=people.officer,
            data=TenderCreate(
                reference=f"J-{uuid.uuid4().hex[:6]}",
                title="Timed",
                deadline=datetime.now(UTC) + timedelta(seconds=seconds),
            ),
        )
        return services.tenders.publish(actor=people.officer, tender_id=tender.id)


def _opened(live: Live, tender_id: uuid.UUID) -> Tender:
    """The tender once every opening message was worked off (broker, then worker)."""
    live.platform.jobs.broker.join(OPENING_QUEUE, timeout=60_000)
    live.worker.join()
    with unit_of_work(live.platform) as services:
        return services.tenders.get(tender_id)


@pytest.mark.slow
def test_timed_message_opens_the_tender_at_the_deadline(live: Live) -> None:
    tender = _publish(live.platform, People(live.platform), seconds=1.5)

    opened = _opened(live, tender.id)

    assert opened.status == TenderStatus.OPENED
    assert opened.opening_started_at is not None
    assert opened.opening_started_at >= tender.deadline


@pytest.mark.slow
def test_reconciler_opens_a_tender_whose_message_was_lost(live: Live) -> None:
    tender = _publish(live.platform, People(live.platform), seconds=0.5)
    live.platform.jobs.broker.flush(OPENING_QUEUE)  # the timed message is lost
    time.sleep(0.6)  # past the deadline, by the real clock
    reconciler = live.platform.reconciler()

    assert reconciler.run_once() == [tender.id]

    assert _opened(live, tender.id).status == TenderStatus.OPENED
    assert reconciler.run_once() == []
