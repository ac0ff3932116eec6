"""Tender lifecycle on both databases: what officers can do, and what is refused and audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dramatiq
import pytest

from tender.clock import ManualClock
from tender.errors import Conflict, Invalid
from tender.platform import Platform
from tender.tenders.models import OpeningMethod, TenderStatus
from tender.tenders.schemas import TenderCreate
from tests.conftest import People
from tests.helpers import audit_kinds, published_tender, unit_of_work


def test_officer_creates_and_publishes_a_tender(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=3)

    assert tender.status == TenderStatus.PUBLISHED
    assert tender.published_at == clock.now()
    assert tender.deadline == clock.now() + timedelta(hours=3)
    assert tender.deadline.tzinfo is not None
    assert audit_kinds(platform, tender.id) == ["tender.created", "tender.published"]


def test_the_opening_is_scheduled_only_once_publishing_commits(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    broker: dramatiq.Broker = platform.jobs.broker
    queue = broker.queues  # the StubBroker's queues, by name
    published_tender(platform, people.officer, clock, ref="SENT")
    sent = sum(q.qsize() for q in queue.values())
    with pytest.raises(RuntimeError, match="failed after publishing"):
        _publish_then_fail(platform, people, clock)

    assert sent == 1
    assert sum(q.qsize() for q in queue.values()) == 1  # nothing sent for the rolled-back one
    assert audit_kinds(platform).count("tender.published") == 1


def _publish_then_fail(platform: Platform, people: People, clock: ManualClock) -> None:
    """Publish in a unit of work that then fails, so it rolls back."""
    with unit_of_work(platform) as services:
        tender = services.tenders.create(
            actor=people.officer,
            data=TenderCreate(
                reference="ROLLED-BACK",
                title="X",
                deadline=clock.now() + timedelta(hours=1),
                opening=OpeningMethod.AUTOMATIC,
            ),
        )
        services.tenders.publish(actor=people.officer, tender_id=tender.id)
        raise RuntimeError("the request failed after publishing")


def test_duplicate_reference_is_refused(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    published_tender(platform, people.officer, clock, ref="DUP-1")
    with pytest.raises(Conflict, match="DUP-1"):
        published_tender(platform, people.officer, clock, ref="DUP-1")


def test_deadline_in_the_past_cannot_be_published(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    with pytest.raises(Invalid, match="already passed"):
        published_tender(platform, people.officer, clock, hours=-1)


def test_naive_deadline_is_refused(platform: Platform, people: People) -> None:
    with unit_of_work(platform) as services, pytest.raises(Invalid, match="time zone"):
        services.tenders.create(
            actor=people.officer,
            data=TenderCreate(reference="N", title="N", deadline=datetime(2027, 1, 1)),  # noqa: DTZ001
        )


def test_deadline_round_trips_as_utc(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock)
    with unit_of_work(platform) as services:
        stored = services.tenders.get(tender.id, viewer=people.officer)
    assert stored.deadline == tender.deadline
    assert stored.deadline.utcoffset() == timedelta(0)
    assert stored.deadline.tzinfo == UTC
