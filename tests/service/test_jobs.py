"""The timed opening with a real dramatiq Worker, on the in-process StubBroker and on Redis."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dramatiq
import pytest

from tender.clock import SystemClock
from tender.config import Settings
from tender.jobs import make_broker
from tender.platform import Platform, build_platform
from tender.signing.testing import TestPKI
from tender.storage.objectstore import S3Config
from tender.tenders import service as tenders
from tender.tenders.models import Tender, TenderStatus
from tender.tenders.schemas import TenderCreate
from tests.conftest import People


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


@pytest.fixture
def live(
    settings: Settings,
    s3_config: S3Config,
    test_pki: TestPKI,
    broker: dramatiq.Broker,
) -> Iterator[Platform]:
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
    yield platform
    worker.stop()
    platform.close()


def _publish(platform: Platform, people: People, seconds: float) -> Tender:
    with platform.sessions.begin() as session:
        tender = tenders.create_tender(
            session,
            actor=people.officer,
            data=TenderCreate(
                reference=f"J-{uuid.uuid4().hex[:6]}",
                title="Timed",
                deadline=datetime.now(UTC) + timedelta(seconds=seconds),
            ),
            clock=platform.clock,
            platform_key=platform.platform_key,
        )
        return tenders.publish_tender(
            session, actor=people.officer, tender_id=tender.id, clock=platform.clock
        )


def _wait_opened(platform: Platform, tender_id: uuid.UUID, timeout: float) -> Tender:
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        with platform.sessions.begin() as session:
            tender = tenders.get_tender(session, tender_id)
        if tender.status == TenderStatus.OPENED:
            return tender
        time.sleep(0.05)
    raise AssertionError(f"tender {tender_id} was not opened within {timeout} s")


@pytest.mark.slow
def test_timed_message_opens_the_tender_at_the_deadline(live: Platform) -> None:
    people = People(live)
    tender = _publish(live, people, seconds=1.5)
    live.jobs.schedule_opening(tender.id, deadline=tender.deadline, now=datetime.now(UTC))

    opened = _wait_opened(live, tender.id, timeout=20)

    assert opened.opening_started_at is not None
    delay = opened.opening_started_at - tender.deadline
    assert timedelta(0) <= delay < timedelta(seconds=3)


@pytest.mark.slow
def test_reconciler_opens_a_tender_whose_message_was_lost(live: Platform) -> None:
    people = People(live)
    tender = _publish(live, people, seconds=0.5)  # and no message is ever sent
    time.sleep(0.6)

    assert live.reconciler().run_once() == [tender.id]

    _wait_opened(live, tender.id, timeout=20)
    assert live.reconciler().run_once() == []
