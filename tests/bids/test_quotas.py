"""Quotas per supplier and tender, over HTTP: refused up front when the length is declared,
else when the body ends, before anything is stored and locked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tender.app import create_app
from tender.bids.models import BidDocument
from tender.clock import ManualClock
from tender.config import Settings
from tender.platform import Platform
from tests.conftest import People
from tests.helpers import audit_kinds, published_tender


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(max_files_per_bid=2, max_bytes_per_bid=100)


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(platform)) as client:
        yield client


def _stream(body: bytes) -> Iterator[bytes]:
    """A body sent without a Content-Length (chunked)."""
    yield body


def test_files_and_bytes_over_the_quota_are_refused_before_they_are_stored(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock)
    alice = {"Authorization": f"Bearer {people.tokens['Alice']}"}
    url = f"/api/tenders/{tender.id}/bids"

    first = client.put(f"{url}/a.pdf", content=b"a" * 40, headers=alice)
    second = client.put(f"{url}/b.pdf", content=b"b" * 40, headers=alice)
    third = client.put(f"{url}/c.pdf", content=b"c", headers=alice)
    replaced = client.put(f"{url}/a.pdf", content=b"A" * 50, headers=alice)  # 90 bytes in all
    declared = client.put(f"{url}/b.pdf", content=b"B" * 70, headers=alice)
    streamed = client.put(f"{url}/b.pdf", content=_stream(b"B" * 70), headers=alice)
    bob = client.put(
        f"{url}/c.pdf",
        content=b"c" * 90,
        headers={"Authorization": f"Bearer {people.tokens['Bob']}"},
    )

    assert [first.status_code, second.status_code, replaced.status_code] == [201, 201, 201]
    assert third.status_code == 409
    assert third.json()["details"] == {"files": 2, "max_files": 2}
    assert declared.status_code == 413
    assert declared.json()["details"] == {"bytes": 120, "max_bytes": 100}
    assert streamed.status_code == 413
    assert bob.status_code == 201  # the quota is each supplier's own
    with platform.sessions.begin() as session:
        stored = session.query(BidDocument).filter_by(tender_id=tender.id).count()
    assert stored == 4  # a, b, a again and Bob's: nothing refused was stored
    assert audit_kinds(platform, tender.id).count("bid.refused") == 3
