"""`tender demo` runs the whole story on embedded parts and exits 0 only if all went as expected."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.slow
def test_demo_runs_the_whole_story_and_every_outcome_is_as_expected() -> None:
    # How long it takes is a figure for the README, not a test: a loaded machine is slower.
    demo = subprocess.run(
        [sys.executable, "-m", "tender.cli", "demo"],
        capture_output=True,
        text=True,
        timeout=600,  # a hang guard only
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "every outcome as expected" in demo.stdout
    assert "UNEXPECTED" not in demo.stdout
    for told in (
        "registered its public key",
        "an opening committee of Olivia Officer, Peter Officer and Aaron Auditor",
        "tried to release a share before the deadline: HTTP 409",
        "After the deadline the tender is closed: 0 of 3 members have released",
        "Olivia Officer released their share: 2 of 3 members",
        "the key was released by Aaron Auditor, Olivia Officer",
        "downloaded specification.pdf",
        "addendum 1",
        "uploaded bid.pdf again",
        "withdrew its bid",
        "opened the tender",
        ": superseded at",
        ": withdrawn at",
        "awarded the tender",
        "reads the outcome",
        "Audit chain: intact",
        "the audit bundle verifies offline",
    ):
        assert told in demo.stdout
