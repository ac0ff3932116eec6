"""The timed opening with a real dramatiq Worker, on the in-process StubBroker and on Redis (and,
for openings far out, on RabbitMQ)."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import dramatiq
import pytest

from tender import jobs
from tender.clock import ManualClock, SystemClock
from tender.config import Settings
from tender.jobs import OPENING_QUEUE, make_broker
from tender.platform import Platform
from tender.signing.testing import TestPKI
from tender.storage.objectstore import S3Config
from tender.tenders.models import OpeningMethod, Tender, TenderStatus
from tender.tenders.schemas import TenderCreate
from tests.conftest import People, platform_of, require_server
from tests.helpers import published_tender, unit_of_work


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
    platform = platform_of(settings, s3_config, test_pki, broker=broker, clock=SystemClock())
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
                opening=OpeningMethod.AUTOMATIC,
            ),
        )
        return services.tenders.publish(actor=people.officer, tender_id=tender.id)


def _opened(live: Live, tender_id: uuid.UUID) -> Tender:
    """The tender once every opening message was worked off (broker, then worker)."""
    live.platform.jobs.broker.join(OPENING_QUEUE, timeout=60_000)
    live.worker.join()
    with unit_of_work(live.platform) as services:
        return services.tenders.get(tender_id, viewer=None)


@pytest.mark.slow
def test_timed_message_opens_the_tender_at_the_deadline(live: Live) -> None:
    tender = _publish(live.platform, People(live.platform), seconds=1.5)

    opened = _opened(live, tender.id)

    assert opened.status == TenderStatus.OPENED
    assert opened.opening_started_at is not None
    assert opened.opening_started_at >= tender.deadline


@pytest.mark.slow
def test_reconciler_opens_a_tender_whose_message_was_lost(live: Live) -> None:
    # The timed message is lost before any worker takes it: the worker fetches delayed messages
    # as soon as they are sent (and only flush_all empties the delay queue too).
    live.worker.pause()
    tender = _publish(live.platform, People(live.platform), seconds=0.5)
    live.platform.jobs.broker.flush_all()
    live.worker.resume()
    time.sleep(0.6)  # past the deadline, by the real clock
    reconciler = live.platform.reconciler()

    assert reconciler.run_once() == [tender.id]

    assert _opened(live, tender.id).status == TenderStatus.OPENED
    assert reconciler.run_once() == []


# -- openings far out: no message is held longer than jobs.MAX_DELAY ----------------------------

RABBITMQ_URL = os.environ.get("TENDER_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


@pytest.fixture(scope="module")
def rabbitmq_url() -> Iterator[str]:
    """RabbitMQ, in a virtual host of this module's own when ``rabbitmqctl`` can make one
    (queue names are shared by everyone on a virtual host, and other test runs may be using
    the default one); else the URL's own."""
    where = urlsplit(RABBITMQ_URL)
    require_server("RabbitMQ", where.hostname or "127.0.0.1", where.port or 5672)
    vhost = f"tender-test-{uuid.uuid4().hex[:12]}"
    user = where.username or "guest"
    made = (
        shutil.which("rabbitmqctl") is not None
        and where.hostname in ("127.0.0.1", "localhost")
        and _rabbitmqctl("add_vhost", vhost)
        and _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
    )
    if not made:
        yield RABBITMQ_URL
        return
    try:
        yield urlunsplit(where._replace(path="/" + vhost))
    finally:
        _rabbitmqctl("delete_vhost", vhost)


def _rabbitmqctl(*args: str) -> bool:
    done = subprocess.run(["rabbitmqctl", *args], capture_output=True, timeout=60, check=False)
    return done.returncode == 0


@pytest.fixture(
    params=["stub", pytest.param("redis", marks=pytest.mark.redis), "rabbitmq"],
)
def any_broker(request: pytest.FixtureRequest) -> Iterator[dramatiq.Broker]:
    """Each broker the platform runs on, RabbitMQ included."""
    if request.param == "stub":
        made = make_broker("", namespace="unused")
    elif request.param == "redis":
        made = make_broker(
            request.getfixturevalue("redis_url"), namespace=f"tender-test-{uuid.uuid4().hex[:12]}"
        )
    else:
        made = make_broker(request.getfixturevalue("rabbitmq_url"), namespace="unused")
    yield made
    if request.param != "stub":
        made.flush_all()
    made.close()


class Deliveries(dramatiq.Middleware):
    """What happened to the opening messages: the delay of each one sent, and whether one was
    worked off with the (manual) clock at or past a moment."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.delays: list[int] = []
        self.sent = threading.Condition()
        self.due: datetime | None = None
        self.worked_off_when_due = threading.Event()
        self._started: dict[str, datetime] = {}

    def before_enqueue(self, broker: dramatiq.Broker, message: Any, delay: int | None) -> None:
        if delay is not None:  # None: a delayed message that fell due, moved to its queue
            with self.sent:
                self.delays.append(delay)
                self.sent.notify_all()

    def wait_for_sends(self, count: int) -> None:
        with self.sent:
            assert self.sent.wait_for(lambda: len(self.delays) >= count, timeout=60)

    def before_process_message(self, broker: dramatiq.Broker, message: Any) -> None:
        self._started[message.message_id] = self.clock.now()

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        started = self._started.pop(message.message_id, None)
        if self.due is not None and started is not None and started >= self.due:
            self.worked_off_when_due.set()


@pytest.mark.slow
def test_a_far_deadline_is_reached_in_steps_no_longer_than_the_cap(
    settings: Settings,
    s3_config: S3Config,
    test_pki: TestPKI,
    any_broker: dramatiq.Broker,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A RabbitMQ worker holds a delayed message unacknowledged until it is due, and RabbitMQ
    drops a consumer that holds one past its consumer_timeout (30 minutes by default). So the
    opening of a tender due in two hours is sent for at most jobs.MAX_DELAY (shortened here),
    sends itself again each time it arrives early, and opens the tender at its deadline."""
    cap = timedelta(milliseconds=300)
    monkeypatch.setattr(jobs, "MAX_DELAY", cap)
    deliveries = Deliveries(clock)
    any_broker.add_middleware(deliveries)
    platform = platform_of(settings, s3_config, test_pki, broker=any_broker, clock=clock)
    worker = platform.jobs.worker()
    worker.start()
    try:
        tender = published_tender(platform, People(platform).officer, clock, hours=2)
        deliveries.wait_for_sends(3)  # sent at publishing, then early twice and sent again
        deliveries.due = tender.deadline
        clock.set(tender.deadline)
        assert deliveries.worked_off_when_due.wait(timeout=60)
    finally:
        worker.stop()
        platform.close()

    assert deliveries.delays[0] == 300  # two hours away, sent for the cap
    assert max(deliveries.delays) <= 300
    with platform.sessions.begin() as session:
        opened = session.get(Tender, tender.id)
        assert opened is not None
        assert opened.status == TenderStatus.OPENED
        assert opened.opening_started_at == tender.deadline
