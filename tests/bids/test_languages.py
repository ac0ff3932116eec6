"""A supplier is refused in the language they read: their saved choice, else their browser's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from litestar.testing import TestClient

from tender.app import create_app
from tender.clock import ManualClock
from tender.platform import Platform
from tests.conftest import People
from tests.helpers import published_tender

on_sqlite = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@on_sqlite
@pytest.mark.parametrize(
    ("language_headers", "closed", "todo"),
    [
        ({"Accept-Language": "zh-HK, en;q=0.5"}, "已於", "採購部門"),
        ({"Accept-Language": "fr, en;q=0.8, zh-HK;q=0.5"}, "closed at", "procuring entity"),
        ({"Accept-Language": "en", "Cookie": "lang=zh-HK"}, "已於", "採購部門"),
        ({}, "closed at", "procuring entity"),
    ],
)
def test_a_late_upload_is_refused_in_the_readers_language(
    platform: Platform,
    people: People,
    clock: ManualClock,
    language_headers: dict[str, str],
    closed: str,
    todo: str,
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=1)
    clock.set(tender.deadline + timedelta(seconds=1))

    with TestClient(create_app(platform)) as client:
        answer = client.put(
            f"/api/tenders/{tender.id}/bids/late.pdf",
            content=b"%PDF-1.7 a late bid",
            headers={"Authorization": f"Bearer {people.tokens['Alice']}", **language_headers},
        )

    assert answer.status_code == 409
    body = answer.json()
    assert body["error"] == "tender_closed"
    assert closed in body["what"]
    assert tender.reference in body["what"]
    assert todo in body["what_to_do"]
