"""Background jobs: the broker, the timed opening message, and delivering the outbox.

The broker is built from settings and passed in; nothing here relies on dramatiq's global
default broker (which silently falls back to a RabbitMQ on localhost).
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import dramatiq
import dramatiq.errors
import pika.exceptions  # type: ignore[import-untyped]  # pika ships no type hints
import redis.exceptions
from dramatiq.brokers.stub import StubBroker

OPENING_QUEUE = "opening"
NOTIFICATIONS_QUEUE = "notifications"
log = logging.getLogger(__name__)

MAX_DELAY = timedelta(minutes=10)
"""The longest any one message is delayed. A RabbitMQ worker holds a delayed message,
unacknowledged, until it is due, and RabbitMQ closes the channel of a consumer that holds one
for longer than its ``consumer_timeout`` (30 minutes by default): so an opening further out is
sent for this long, and a message that arrives before its tender is due sends itself again."""

BROKER_UNREACHABLE: tuple[type[Exception], ...] = (
    dramatiq.errors.BrokerConnectionError,  # what the RabbitMQ broker raises once it gives up
    pika.exceptions.AMQPConnectionError,
    redis.exceptions.ConnectionError,  # the Redis broker lets the client's errors through
    redis.exceptions.TimeoutError,
)
"""What sending a message raises when the broker cannot be reached."""


def make_broker(url: str, *, namespace: str) -> dramatiq.Broker:
    """StubBroker for an empty URL (embedded, in-process), else Redis or RabbitMQ by scheme."""
    if not url:
        return StubBroker()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(url=url, namespace=namespace)  # type: ignore[no-untyped-call]
    if url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=url)
    raise ValueError(
        f"TENDER_BROKER_URL={url!r} is not a redis:// or amqp:// URL; "
        "set one of those, or leave it empty for the in-process broker."
    )


def _milliseconds(delta: timedelta) -> int:
    return max(0, math.ceil(delta.total_seconds() * 1000))


def _capped(delay_ms: int) -> int:
    """``delay_ms``, but never more than :data:`MAX_DELAY` (read when called, so a test can
    shorten it)."""
    return min(delay_ms, _milliseconds(MAX_DELAY))


@dataclass
class Jobs:
    """The broker and the actors declared on it."""

    broker: dramatiq.Broker
    open_tender: dramatiq.Actor[[str], None]
    deliver_outbox: dramatiq.Actor[[], None]

    def schedule_opening(self, tender_id: uuid.UUID, *, deadline: datetime, now: datetime) -> None:
        """Send the opening message so that it arrives at ``deadline`` (or, for a deadline
        further out than :data:`MAX_DELAY`, after that long; it then sends itself again)."""
        self.open_tender.send_with_options(
            args=(str(tender_id),), delay=_capped(_milliseconds(deadline - now))
        )

    def request_opening(self, tender_id: uuid.UUID) -> None:
        """Ask for an opening now (the reconciler's way; harmless if one is under way)."""
        self.open_tender.send(str(tender_id))

    def request_delivery(self) -> None:
        """Ask for the outbox to be delivered now (after a commit that queued messages)."""
        self.deliver_outbox.send()

    def worker(self, *, threads: int = 2) -> dramatiq.Worker:
        """An in-process worker for the opening and notification queues (call ``start()`` and
        ``stop()``).

        On the in-process StubBroker the delay queue (``opening.DQ``, where timed openings
        wait) is consumed like a plain queue, with the plain queue's prefetch (twice the threads),
        and each delayed message holds a prefetch slot until its time comes: with four
        tenders waiting, a fifth opening would not be delivered at its deadline. So there
        the worker prefetches every message (one process holds them all anyway); on Redis or
        RabbitMQ the delay queue has its own, large prefetch and the plain queue keeps a
        small one, so that an opening's helper messages go to other workers.
        """
        worker = dramatiq.Worker(
            self.broker,
            queues={OPENING_QUEUE, NOTIFICATIONS_QUEUE},
            worker_threads=threads,
            worker_timeout=100,
        )
        if isinstance(self.broker, StubBroker):
            # Every pending message (dramatiq's own ceiling for a prefetch).
            worker.queue_prefetch = worker.delay_prefetch = 65535
        return worker


def declare_jobs(
    broker: dramatiq.Broker,
    open_tender: Callable[[uuid.UUID], timedelta | None],
    *,
    deliver_outbox: Callable[[], object],
) -> Jobs:
    """Declare the actors on ``broker``.

    ``open_tender`` does the work of one opening; it returns how long until the tender is due
    when asked too early (a deadline further out than :data:`MAX_DELAY`, or clocks of broker
    and server that differ a little), else None. ``deliver_outbox`` sends what is due in the
    outbox.
    """

    def open_tender_job(tender_id: str) -> None:
        remaining = open_tender(uuid.UUID(tender_id))
        if remaining is not None:
            log.info("opening of %s is early by %s; rescheduled", tender_id, remaining)
            actor.send_with_options(args=(tender_id,), delay=_capped(_milliseconds(remaining) + 50))

    actor: dramatiq.Actor[[str], None] = dramatiq.actor(
        actor_name="open_tender",
        queue_name=OPENING_QUEUE,
        broker=broker,
        # An opening is idempotent, so retrying is safe; the defaults (20 retries, backoff up to
        # seven days) would leave a tender unopened for far too long.
        max_retries=10,
        min_backoff=1_000,
        max_backoff=60_000,
        time_limit=60 * 60 * 1000,
    )(open_tender_job)

    def deliver_outbox_job() -> None:
        deliver_outbox()

    delivery: dramatiq.Actor[[], None] = dramatiq.actor(
        actor_name="deliver_outbox",
        queue_name=NOTIFICATIONS_QUEUE,
        broker=broker,
        # A message that fails stays in the outbox with its own backoff, and the reconciler
        # delivers what is due every round: a failed job need not be retried for long.
        max_retries=3,
        min_backoff=1_000,
        max_backoff=30_000,
    )(deliver_outbox_job)
    return Jobs(broker=broker, open_tender=actor, deliver_outbox=delivery)
