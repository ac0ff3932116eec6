"""`tender demo` runs the whole story on embedded parts and exits 0 only if all went as expected."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest


@pytest.mark.slow
def test_demo_runs_the_story_in_under_a_minute() -> None:
    started = time.monotonic()
    demo = subprocess.run(
        [sys.executable, "-m", "tender.cli", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - started
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "every outcome as expected" in demo.stdout
    assert "opened the tender" in demo.stdout
    assert "Audit chain: intact" in demo.stdout
    assert elapsed < 60, f"the demo took {elapsed:.1f} s"
