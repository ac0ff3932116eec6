"""The financial opening as a job: a real dramatiq Worker on the in-process broker opens a
two-envelope tender's technical envelopes at the deadline, and its qualified bids' financial
envelopes once the officer asks, with nobody calling the opening by hand."""

from __future__ import annotations

from collections.abc import Iterator

import dramatiq
import pytest

from tender.clock import SystemClock
from tender.config import Settings
from tender.jobs import OPENING_QUEUE, make_broker
from tender.platform import Platform
from tender.qualification.models import FinancialOpening
from tender.qualification.service import QualificationService
from tender.signing.testing import TestPKI
from tender.storage.objectstore import S3Config
from tender.tenders.models import TenderStatus
from tender.tenders.service import get_tender
from tests.conftest import People, platform_of
from tests.helpers import two_envelope_tender, upload


@pytest.fixture
def live(settings: Settings, s3_config: S3Config, test_pki: TestPKI) -> Iterator[Platform]:
    """A platform on the real clock, with a worker consuming the opening queue."""
    platform = platform_of(
        settings, s3_config, test_pki, broker=make_broker("", namespace="-"), clock=SystemClock()
    )
    worker = platform.jobs.worker()
    worker.start()
    yield platform
    worker.stop()
    platform.close()


def _worked_off(platform: Platform) -> None:
    broker = platform.jobs.broker
    assert isinstance(broker, dramatiq.brokers.stub.StubBroker)
    broker.join(OPENING_QUEUE, timeout=60_000)


@pytest.mark.slow
def test_the_worker_opens_technical_envelopes_at_the_deadline_and_prices_once_asked(
    live: Platform,
) -> None:
    people = People(live)
    tender = two_envelope_tender(live, people.officer, live.clock, ref="TE-J", seconds=10)
    for supplier in (people.alice, people.bob):
        upload(live, supplier, tender.id, "method.txt", [b"how we build it"])
        upload(live, supplier, tender.id, "prices.txt", [b"HK$ 1"], envelope="financial")
    _worked_off(live)
    with live.sessions.begin() as session:
        qualification = QualificationService(session=session, clock=live.clock, jobs=live.jobs)
        for supplier, qualified in ((people.alice, True), (people.bob, False)):
            qualification.record(
                actor=people.officer,
                tender_id=tender.id,
                supplier_id=supplier.id,
                qualified=qualified,
                reason="As the evaluation report says.",
            )
        qualification.request_financial_opening(actor=people.officer, tender_id=tender.id)
    _worked_off(live)

    with live.sessions.begin() as session:
        assert get_tender(session, tender.id).status is TenderStatus.OPENED
        opening = session.get(FinancialOpening, tender.id)
        assert opening is not None
        assert opening.finished_at is not None
