"""An officer is refused in the language they read: Hong Kong Chinese when their browser asks
for it, English otherwise; the platform's own answers (no such route) too."""

from __future__ import annotations

import uuid

import pytest
from litestar.testing import TestClient

from tender.app import create_app
from tender.clock import ManualClock
from tender.platform import Platform
from tests.conftest import People
from tests.helpers import published_tender

on_sqlite = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
CHINESE = {"Accept-Language": "zh-HK, en;q=0.5"}


@on_sqlite
@pytest.mark.parametrize(
    ("language_headers", "what", "why", "todo"),
    [
        (CHINESE, "的狀態為已公布", "投標由已公布只可轉為", "只有擬稿可以公布。"),
        ({}, "is published", "From published a tender can become only", "Only a draft"),
        ({"Accept-Language": "fr"}, "is published", "From published", "Only a draft"),
    ],
)
def test_publishing_twice_is_refused_in_the_officers_language(
    platform: Platform,
    people: People,
    clock: ManualClock,
    language_headers: dict[str, str],
    what: str,
    why: str,
    todo: str,
) -> None:
    tender = published_tender(platform, people.officer, clock, hours=2)

    with TestClient(create_app(platform)) as client:
        answer = client.post(
            f"/api/tenders/{tender.id}/publish",
            headers={"Authorization": f"Bearer {people.tokens['Olivia']}", **language_headers},
        )

    assert answer.status_code == 409
    body = answer.json()
    assert body["error"] == "conflict"  # machine-read fields stay as they are
    assert body["details"]["status"] == "published"
    assert tender.reference in body["what"]
    assert what in body["what"]
    assert why in body["why"]
    assert todo in body["what_to_do"]


@on_sqlite
def test_an_unknown_tender_and_an_unknown_address_are_explained_in_chinese(
    platform: Platform, people: People
) -> None:
    officer = {"Authorization": f"Bearer {people.tokens['Olivia']}", **CHINESE}
    missing = uuid.uuid4()

    with TestClient(create_app(platform)) as client:
        no_tender = client.get(f"/api/tenders/{missing}", headers=officer)
        no_route = client.get("/api/no-such-thing", headers=officer)
        wrong_method = client.delete("/api/tenders", headers=officer)

    assert no_tender.status_code == 404
    assert no_tender.json()["what"] == f"沒有投標 {missing}。"
    assert "GET /api/tenders 列出您可查看的投標" in no_tender.json()["what_to_do"]
    assert no_route.status_code == 404
    assert no_route.json()["what"] == "此網址沒有內容。"
    assert no_route.json()["why"] == "沒有路由處理 GET /api/no-such-thing。"
    assert wrong_method.status_code == 405
    assert wrong_method.json()["what"] == "此地址不接受 DELETE。"
