"""Tender lifecycle on both databases: what officers can do, and what is refused and audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tender.clock import ManualClock
from tender.errors import Conflict, Forbidden, Invalid
from tender.platform import Platform
from tender.tenders import service as tenders
from tender.tenders.models import TenderStatus
from tender.tenders.schemas import TenderCreate
from tests.conftest import People
from tests.service.helpers import audit_kinds, published_tender


def test_officer_creates_and_publishes_a_tender(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=3)

    assert tender.status == TenderStatus.PUBLISHED
    assert tender.published_at == clock.now()
    assert tender.deadline == clock.now() + timedelta(hours=3)
    assert tender.deadline.tzinfo is not None
    assert audit_kinds(platform, tender.id) == ["tender.created", "tender.published"]


def test_supplier_cannot_create_a_tender(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    with platform.sessions.begin() as session, pytest.raises(Forbidden) as refused:
        tenders.create_tender(
            session,
            actor=people.alice,
            data=TenderCreate(reference="X", title="X", deadline=clock.now() + timedelta(days=1)),
            clock=clock,
            platform_key=platform.platform_key,
        )
    assert "role 'supplier'" in refused.value.message
    assert "'officer'" in refused.value.message


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


def test_naive_deadline_is_refused(platform: Platform, people: People, clock: ManualClock) -> None:
    with platform.sessions.begin() as session, pytest.raises(Invalid, match="time zone"):
        tenders.create_tender(
            session,
            actor=people.officer,
            data=TenderCreate(reference="N", title="N", deadline=datetime(2027, 1, 1)),  # noqa: DTZ001
            clock=clock,
            platform_key=platform.platform_key,
        )


def test_deadline_round_trips_as_utc(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock)
    with platform.sessions.begin() as session:
        stored = tenders.get_tender(session, tender.id)
    assert stored.deadline == tender.deadline
    assert stored.deadline.utcoffset() == timedelta(0)
    assert stored.deadline.tzinfo == UTC
