"""With Redis (or RabbitMQ) configured, `tender up` serves the API only: openings are for the
`tender worker` processes, and `tender up` says so when it starts."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tender.config import Settings
from tender.demo import wait_for_status
from tender.runtime import free_port
from tests.e2e.conftest import settings_env, tender_up, wait_for_worker


@pytest.fixture
def database_url(postgresql_database_url: str) -> str:
    """Overrides the shared fixture: a deployment with a broker has PostgreSQL."""
    return postgresql_database_url


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.postgres
def test_tender_up_leaves_openings_to_tender_worker(e2e_settings: Settings, redis_url: str) -> None:
    settings = e2e_settings.with_overrides(
        broker_url=redis_url,
        broker_namespace=f"tender-e2e-{uuid.uuid4().hex[:12]}",
        port=free_port(),
    )
    with tender_up(settings, env={"PYTHONUNBUFFERED": "1"}) as server:
        said = (settings.data_dir.parent / "server.log").read_text()
        assert "TENDER_BROKER_URL is set: this process serves the API only" in said
        officer = {"Authorization": f"Bearer {server.tokens['officer']}"}
        with httpx.Client(base_url=server.base, timeout=60) as client:
            deadline = datetime.now(UTC) + timedelta(seconds=1)
            created = client.post(
                "/api/tenders",
                headers=officer,
                json={
                    "reference": "UP-1",
                    "title": "Roads",
                    "deadline": deadline.isoformat(),
                    "opening": "automatic",
                },
            )
            tender_id = created.json()["id"]
            assert client.post(f"/api/tenders/{tender_id}/publish", headers=officer).is_success
            # Well past the deadline (an in-process worker opens within a second of it):
            # nobody took the opening message, so the tender is closed, not opening.
            time.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds()) + 3)
            token = server.tokens["officer"]
            tender = client.get(f"/api/tenders/{tender_id}", headers=officer).json()
            assert tender["status"] == "closed"

            with (settings.data_dir.parent / "worker.log").open("w") as log:
                worker = subprocess.Popen(
                    [sys.executable, "-m", "tender.cli", "worker"],
                    env=settings_env(settings),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
                try:
                    wait_for_worker(settings)
                    opened = wait_for_status(client, tender_id, token, "opened", timeout=60)
                finally:
                    worker.terminate()
                    worker.wait(timeout=30)
    assert datetime.fromisoformat(opened["opening_started_at"]) >= deadline
