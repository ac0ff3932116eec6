"""The two flows end-to-end tests run in: SQLite with the in-process broker and worker, and
PostgreSQL with Redis and a separate `tender worker` process. A test module takes them by
importing these fixtures, which override the shared ones."""

from __future__ import annotations

import uuid

import pytest

from tender.config import Settings

FLOWS = [
    pytest.param(("sqlite", "stub"), id="sqlite-stubbroker"),
    pytest.param(
        ("postgresql", "redis"),
        id="postgresql-redis",
        marks=[pytest.mark.postgres, pytest.mark.redis],
    ),
]


@pytest.fixture(params=FLOWS)
def database_url(request: pytest.FixtureRequest) -> str:
    """Overrides the shared fixture: each flow pairs one database with one broker."""
    kind, _ = request.param
    url: str = request.getfixturevalue(f"{kind}_database_url")
    return url


@pytest.fixture
def e2e_settings(e2e_settings: Settings, request: pytest.FixtureRequest) -> Settings:
    _, broker = request.node.callspec.params["database_url"]
    if broker == "stub":
        return e2e_settings
    return e2e_settings.with_overrides(
        broker_url=request.getfixturevalue("redis_url"),
        broker_namespace=f"tender-e2e-{uuid.uuid4().hex[:12]}",
    )
