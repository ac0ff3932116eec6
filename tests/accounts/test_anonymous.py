"""Nobody writes into the permanent log without signing in, and nobody crowds others out."""

from __future__ import annotations

import dataclasses
import logging
import uuid

import pytest
from litestar.testing import TestClient
from sqlalchemy import select

from tender.app import create_app
from tender.audit.models import AuditEvent
from tender.platform import Platform
from tests.conftest import People
from tests.helpers import audit_kinds


def test_refusals_to_callers_not_signed_in_stay_out_of_the_permanent_log(
    platform: Platform, people: People, caplog: pytest.LogCaptureFixture
) -> None:
    before = audit_kinds(platform)
    caplog.set_level(logging.WARNING, logger="tender.web")
    with TestClient(create_app(platform)) as client:
        long_path = f"/api/tenders/{uuid.uuid4()}/bids/" + "x" * 60_000
        answers = [client.put(long_path, content=b"bid") for _ in range(30)]
        answers += [client.get("/api/tenders", headers={"Authorization": "Bearer guess"})]

    assert {answer.status_code for answer in answers} == {401}
    assert answers[0].json()["what_to_do"]  # still explained to the caller
    assert audit_kinds(platform) == before  # not one event
    logged = [r for r in caplog.records if r.name == "tender.web"]
    assert 1 <= len(logged) <= 10  # the operational log is rate-limited per client
    assert all(len(r.getMessage()) < 1_000 for r in logged)  # and its paths are cut short


def test_a_signed_in_caller_s_refusal_keeps_only_the_start_of_a_long_path(
    platform: Platform, people: People
) -> None:
    with TestClient(create_app(platform)) as client:
        refused = client.put(
            f"/api/tenders/{uuid.uuid4()}/bids/" + "x" * 60_000,
            content=b"an officer's bid",
            headers={"Authorization": f"Bearer {people.tokens['Olivia']}"},
        )
    assert refused.status_code == 403
    with platform.sessions.begin() as session:
        payload = session.scalars(
            select(AuditEvent.payload).order_by(AuditEvent.seq.desc()).limit(1)
        ).one()
    assert len(payload["path"]) <= 201
    assert payload["path"].endswith("…")


def test_one_client_cannot_crowd_out_the_others(platform: Platform, people: People) -> None:
    limited = dataclasses.replace(
        platform, settings=platform.settings.with_overrides(rate_limit_per_minute=5)
    )
    alice = people.tokens["Alice"]
    with TestClient(create_app(limited)) as client:
        answers = [
            client.get("/api/tenders", headers={"Authorization": f"Bearer {alice}"})
            for _ in range(7)
        ]

    assert [a.status_code for a in answers] == [200] * 5 + [429] * 2
    assert "Too many requests" in answers[-1].json()["message"]
    assert "retry-after" in answers[-1].headers
