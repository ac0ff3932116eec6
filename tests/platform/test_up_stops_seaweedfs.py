"""``tender up`` stops its SeaweedFS child on SIGTERM (as systemd, Docker and CI send it), not
only on Ctrl-C: a ``weed`` left behind would keep the object store's ports and data folder."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tender.runtime import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def tender_up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    """A ``tender up`` process on the embedded defaults in ``tmp_path``, its port and log."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENDER_")}
    env.update(TENDER_DATA_DIR=str(tmp_path / "var"), TENDER_PORT=str(port))
    log_path = tmp_path / "up.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tender.cli", "up"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process, port, log_path
    finally:
        # Whatever the test found, leave no process behind.
        descendants: list[psutil.Process] = []
        with contextlib.suppress(psutil.NoSuchProcess):
            descendants = psutil.Process(process.pid).children(recursive=True)
        process.kill()
        process.wait()
        for leftover in descendants:
            with contextlib.suppress(psutil.NoSuchProcess):
                leftover.kill()


def weed_children(process: subprocess.Popen[bytes]) -> list[psutil.Process]:
    return [
        child
        for child in psutil.Process(process.pid).children(recursive=True)
        if child.name() == "weed"
    ]


def wait_for(
    condition_met: Callable[[], object], process: subprocess.Popen[bytes], log: Path
) -> None:
    give_up = time.monotonic() + 120
    while not condition_met():
        if process.poll() is not None or time.monotonic() > give_up:
            raise AssertionError(f"tender up did not get there; its log:\n{log.read_text()}")
        time.sleep(0.1)


def answers_health(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
    except httpx.TransportError:
        return False


def stop_with_sigterm(process: subprocess.Popen[bytes]) -> tuple[int, list[psutil.Process]]:
    """Send SIGTERM; the exit code and the descendants (captured before) still alive after."""
    descendants = psutil.Process(process.pid).children(recursive=True)
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=60)
    _, alive = psutil.wait_procs(descendants, timeout=30)
    return code, alive


def test_sigterm_while_serving_stops_seaweedfs(
    tender_up: tuple[subprocess.Popen[bytes], int, Path],
) -> None:
    process, port, log = tender_up
    wait_for(lambda: answers_health(port), process, log)
    assert weed_children(process), "tender up serves without a SeaweedFS child"

    code, alive = stop_with_sigterm(process)

    assert alive == [], log.read_text()
    assert code == 0, log.read_text()


def test_sigterm_while_starting_stops_seaweedfs(
    tender_up: tuple[subprocess.Popen[bytes], int, Path],
) -> None:
    process, port, log = tender_up
    wait_for(lambda: weed_children(process), process, log)  # SeaweedFS started, maybe not up

    code, alive = stop_with_sigterm(process)

    assert alive == [], log.read_text()
    assert code == 0, log.read_text()
    assert not answers_health(port)
