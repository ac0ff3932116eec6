"""An addendum extends the deadline after the first opening message was scheduled: on
PostgreSQL and a real dramatiq Redis broker and worker, with an injected clock. The message
sent for the old deadline arrives when it falls due and opens nothing; a bid received between
the two deadlines is on time; the tender opens at the new deadline, and the offline verifier
passes the exported bundle."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import dramatiq
import pytest
from litestar.testing import TestClient
from sqlalchemy import select

from tender import jobs
from tender.app import create_app
from tender.audit.models import AuditEvent
from tender.clock import ManualClock
from tender.config import Settings
from tender.jobs import make_broker
from tender.platform import Platform
from tender.signing.testing import TestPKI, signed_pdf
from tender.storage.objectstore import S3Config
from tender.tenders.models import Tender, TenderStatus
from tender.verifier.bundle import verify_bundle
from tests.conftest import People, platform_of
from tests.helpers import published_tender, register_signer, upload

STEP = timedelta(milliseconds=200)  # the longest a message is delayed here (jobs.MAX_DELAY)


class Deliveries(dramatiq.Middleware):
    """Whether an opening message was worked off with the (manual) clock at or past ``due``."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.due = clock.now() + timedelta(days=365)
        self.started: dict[str, Any] = {}
        self.worked_off_when_due = threading.Event()

    def before_process_message(self, broker: dramatiq.Broker, message: Any) -> None:
        self.started[message.message_id] = self.clock.now()

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if self.started.pop(message.message_id) >= self.due:
            self.worked_off_when_due.set()

    def wait_until_due(self, due: Any) -> None:
        """Set the clock to ``due`` and wait until a message was worked off at it (a worker
        that never gets to one is stopped by pytest-timeout, not by a time limit here)."""
        self.worked_off_when_due.clear()
        self.due = due
        self.clock.set(due)
        self.worked_off_when_due.wait()


@pytest.fixture
def on_postgresql_and_redis(
    tmp_path: Path,
    postgresql_database_url: str,
    redis_url: str,
    s3_config: S3Config,
    platform_trust: Any,
    test_pki: TestPKI,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Platform, Deliveries, dramatiq.Worker]]:
    # Messages for a deadline hours away are sent for STEP at a time and send themselves again
    # while early: the manual clock, not the broker's, decides when the tender is due.
    monkeypatch.setattr(jobs, "MAX_DELAY", STEP)
    broker = make_broker(redis_url, namespace=f"tender-test-{uuid.uuid4().hex[:12]}")
    deliveries = Deliveries(clock)
    broker.add_middleware(deliveries)
    settings = Settings(
        data_dir=tmp_path / "var",
        database_url=postgresql_database_url,
        s3_endpoint=s3_config.endpoint,
        s3_access_key=s3_config.access_key,
        s3_secret_key=s3_config.secret_key,
        bucket=f"bids-{uuid.uuid4().hex[:12]}",
        chunk_size=4096,
    )
    platform = platform_of(settings, s3_config, test_pki, broker=broker, clock=clock)
    worker = platform.jobs.worker()
    worker.start()
    yield platform, deliveries, worker
    worker.stop()
    platform.close()
    broker.flush_all()
    broker.close()


def status_of(platform: Platform, tender_id: uuid.UUID) -> TenderStatus:
    with platform.sessions.begin() as session:
        tender = session.get(Tender, tender_id)
        assert tender is not None
        return tender.status


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
def test_the_tender_opens_at_the_extended_deadline_not_the_old_one(
    on_postgresql_and_redis: tuple[Platform, Deliveries, dramatiq.Worker],
    clock: ManualClock,
    test_pki: TestPKI,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    platform, deliveries, _ = on_postgresql_and_redis
    caplog.set_level(logging.INFO, logger="tender.jobs")
    people = People(platform)
    register_signer(platform, people.alice, test_pki, "supplier-a")
    tender = published_tender(platform, people.officer, clock, hours=2, ref="EXT-1")
    old, new = tender.deadline, tender.deadline + timedelta(hours=3)
    with TestClient(create_app(platform)) as client:
        amended = client.post(
            f"/api/tenders/{tender.id}/addenda",
            headers={"Authorization": f"Bearer {people.tokens['Olivia']}"},
            json={"text": "The deadline is extended by three hours.", "deadline": new.isoformat()},
        )
    assert amended.status_code == 201, amended.text

    deliveries.wait_until_due(old)  # the message sent for the old deadline comes, and goes
    at_old_deadline = status_of(platform, tender.id)
    clock.set(old + timedelta(hours=1))
    receipt = upload(
        platform,
        people.alice,
        tender.id,
        "offer.pdf",
        [signed_pdf(test_pki, "supplier-a", "HKD 1")],
    )
    deliveries.wait_until_due(new)
    # The opening, by whichever message came first at the new deadline (a tender that never
    # opens is stopped by pytest-timeout, not by a time limit here).
    while status_of(platform, tender.id) is not TenderStatus.OPENED:
        time.sleep(0.1)

    assert at_old_deadline is TenderStatus.PUBLISHED
    assert any("early by" in r.getMessage() for r in caplog.records)  # why nothing happened
    assert old < receipt.received_at < new
    assert status_of(platform, tender.id) is TenderStatus.OPENED
    with platform.sessions.begin() as session:
        opened = session.get(Tender, tender.id)
        assert opened is not None
        assert opened.opening_started_at is not None
        assert opened.opening_started_at >= new
        started = session.scalars(
            select(AuditEvent).where(
                AuditEvent.tender_id == tender.id, AuditEvent.kind == "opening.started"
            )
        ).all()
        assert len(started) == 1
    bundle = tmp_path / "bundle.zip"
    platform.exporter.export(tender_reference=tender.reference, out=bundle)
    checks = verify_bundle(bundle, platform.checkpointer.signer.verifier_key())
    assert {c.name: c.detail for c in checks if not c.ok} == {}
    assert any(c.name == f"bid {receipt.receipt_id} on time" and c.ok for c in checks)
