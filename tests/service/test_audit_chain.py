"""The hash chain: what it detects, and that appends under load stay gap-free."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tender.audit import service as audit
from tender.audit.chain import GENESIS_HASH, chain_hash, leaf_hash, verify_chain
from tender.clock import ManualClock
from tender.platform import Platform


def _events(count: int) -> list[dict[str, Any]]:
    events, prev = [], GENESIS_HASH
    for seq in range(1, count + 1):
        event: dict[str, Any] = {
            "seq": seq,
            "at": f"2026-11-27T10:00:{seq:02d}.000000Z",
            "actor": "system",
            "tender_id": None,
            "kind": "test.event",
            "payload": {"n": seq, "text": "開標"},
            "prev_hash": prev,
        }
        event["hash"] = prev = chain_hash(prev, event)
        event["leaf_hash"] = leaf_hash(event)
        events.append(event)
    return events


def test_intact_chain_verifies() -> None:
    result = verify_chain(_events(5))
    assert result.ok
    assert result.events == 5
    assert result.head == _events(5)[-1]["hash"]


@pytest.mark.parametrize(
    ("tamper", "bad_seq", "problem"),
    [
        (lambda e: e[2]["payload"].update(n=99), 3, "does not match its hash"),
        (lambda e: e.pop(2), 4, "expected sequence number 3"),
        (lambda e: e.insert(1, e.pop(3)), 4, "expected sequence number 2"),
        (lambda e: e[4].update(prev_hash="11" * 32), 5, "prev_hash"),
        (lambda e: e[1].update(leaf_hash="22" * 32), 2, "leaf_hash"),
    ],
    ids=["changed", "removed", "reordered", "relinked", "leaf-swapped"],
)
def test_tampering_is_detected(tamper: Any, bad_seq: int, problem: str) -> None:
    events = copy.deepcopy(_events(5))
    tamper(events)
    result = verify_chain(events)
    assert not result.ok
    assert problem in (result.problem or "")
    assert result.bad_seq == bad_seq


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
                        kind="test.concurrent",
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
        for i in range(3):
            audit.append(session, kind="test.cli", actor="system", at=clock.now(), payload={"i": i})
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
