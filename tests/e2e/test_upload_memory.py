"""A big upload keeps the server's memory flat: it is streamed and sealed chunk by chunk.

The server is a real `tender up` process (uvicorn); Litestar's TestClient would buffer the body.
The bound: peak RSS during the upload may exceed the RSS measured just before it by at most
100 MiB. The size defaults to 1 GiB; TENDER_TEST_UPLOAD_MIB sets another.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import psutil
import pytest

from tender.config import Settings
from tender.runtime import free_port
from tests.e2e.conftest import tender_up

UPLOAD_MIB = int(os.environ.get("TENDER_TEST_UPLOAD_MIB", "1024"))
BOUND_MIB = 100
PIECE = 1024 * 1024


@pytest.fixture
def database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url


@pytest.fixture
def server(e2e_settings: Settings) -> Iterator[tuple[str, psutil.Process, dict[str, str]]]:
    with tender_up(e2e_settings.with_overrides(port=free_port())) as running:
        yield running.base, psutil.Process(running.process.pid), running.tokens


def _body(total: int) -> Iterator[bytes]:
    piece = bytes(range(256)) * (PIECE // 256)
    for _ in range(total // PIECE):
        yield piece


@pytest.mark.slow
def test_one_gib_upload_grows_server_memory_by_less_than_100_mib(
    server: tuple[str, psutil.Process, dict[str, str]],
) -> None:
    base, process, tokens = server
    officer = {"Authorization": f"Bearer {tokens['officer']}"}
    supplier = {"Authorization": f"Bearer {tokens['supplier']}"}
    with httpx.Client(base_url=base, timeout=600) as client:
        tender = client.post(
            "/api/tenders",
            headers=officer,
            json={
                "reference": "MEM-1",
                "title": "Memory",
                "deadline": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
                "opening": "automatic",
            },
        ).json()
        client.post(f"/api/tenders/{tender['id']}/publish", headers=officer)
        url = f"/api/tenders/{tender['id']}/bids/"
        # Warm up: the first request loads code and fills caches; that is not per-byte growth.
        assert (
            client.put(url + "warm.bin", headers=supplier, content=b"w" * PIECE).status_code == 201
        )
        baseline = process.memory_info().rss
        peak = baseline
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.wait(0.05):
                peak = max(peak, process.memory_info().rss)

        sampler = threading.Thread(target=sample)
        sampler.start()
        total = UPLOAD_MIB * PIECE
        started = time.monotonic()
        answer = client.put(url + "big.bin", headers=supplier, content=_body(total))
        elapsed = time.monotonic() - started
        done.set()
        sampler.join()

    assert answer.status_code == 201, answer.text
    expected = hashlib.sha256()
    for piece in _body(total):
        expected.update(piece)
    assert answer.json()["sha256"] == expected.hexdigest()
    assert answer.json()["size"] == total
    growth_mib = (peak - baseline) / PIECE
    print(
        f"\nuploaded {UPLOAD_MIB} MiB in {elapsed:.1f} s; server RSS {baseline / PIECE:.0f} MiB "
        f"before, peak growth {growth_mib:.1f} MiB (bound {BOUND_MIB} MiB)"
    )
    assert growth_mib < BOUND_MIB
