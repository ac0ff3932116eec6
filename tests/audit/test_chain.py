"""Appends to the stored chain: under load they stay gap-free; the command line checks them."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

from tender.audit import service as audit
from tender.clock import ManualClock
from tender.platform import Platform
from tender.verifier.kinds import EventKind


def test_concurrent_appends_are_serialised_without_gaps(
    platform: Platform, clock: ManualClock
) -> None:
    writers, per_writer = 8, 10
    failures: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(per_writer):
                with platform.sessions.begin() as session:
                    audit.append(
                        session,
                        kind=EventKind.REQUEST_REFUSED,
                        actor=f"writer:{n}",
                        at=clock.now(),
                        payload={"i": i},
                    )
        except BaseException as exc:  # collected and asserted below
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    with platform.sessions.begin() as session:
        result = audit.verify_stored_chain(session)
        head = audit.tree_head(session)
    assert result.ok
    assert result.events == writers * per_writer
    # The Merkle tree over the same leaves is consistent and gap-free too.
    assert head.size == writers * per_writer
    assert head.root.hex() == result.merkle_root


def test_cli_exports_and_verifies_the_trail(
    platform: Platform, clock: ManualClock, tmp_path: Path
) -> None:
    with platform.sessions.begin() as session:
        for _ in range(3):
            audit.append(
                session, kind=EventKind.REQUEST_REFUSED, actor="system", at=clock.now(), payload={}
            )
            clock.advance(timedelta(seconds=1))
    env = {"TENDER_DATABASE_URL": platform.settings.effective_database_url, "PATH": ""}
    export = tmp_path / "trail.jsonl"
    tender = [sys.executable, "-m", "tender.cli"]
    subprocess.run([*tender, "audit", "export", "--out", str(export)], env=env, check=True)
    ok = subprocess.run(
        [*tender, "audit", "verify", "--file", str(export)], env=env, capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK: 3 events" in ok.stdout

    lines = export.read_text().splitlines()
    second = json.loads(lines[1])
    second["payload"]["i"] = 42
    lines[1] = json.dumps(second)
    export.write_text("\n".join(lines) + "\n")
    bad = subprocess.run(
        [*tender, "audit", "verify", "--file", str(export)], env=env, capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert "FAILED at event 2" in bad.stdout
