"""Appends to the stored chain: under load they stay gap-free; the command line checks them;
readers take each event from its body, and a column changed beside it is named."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from tender.audit import service as audit
from tender.audit.models import AuditEvent
from tender.clock import ManualClock
from tender.platform import Platform
from tender.verifier import merkle
from tender.verifier.chain import HASH_FIELDS, canonical_bytes
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


def _three_events(platform: Platform, clock: ManualClock) -> None:
    with platform.sessions.begin() as session:
        for i in range(3):
            audit.append(
                session,
                kind=EventKind.REQUEST_REFUSED,
                actor="system",
                at=clock.now(),
                payload={"i": i, "route": "開標"},
            )
            clock.advance(timedelta(seconds=1))


@pytest.mark.parametrize(
    ("column", "value", "named"),
    [
        ("payload", {"i": 42, "route": "開標"}, 'its payload column says {"i": 42'),
        ("kind", "bid.read", 'its kind column says "bid.read"'),
        ("actor", "user:someone", 'its actor column says "user:someone"'),
        ("hash", "ab" * 32, f"its hash column is {'ab' * 32}, but the bodies give"),
    ],
)
def test_a_column_changed_in_the_database_is_named_and_read_by_nobody(
    platform: Platform, clock: ManualClock, column: str, value: object, named: str
) -> None:
    _three_events(platform, clock)
    with platform.sessions.begin() as session:
        before = audit.to_json(session.get_one(AuditEvent, 2))
        session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values({column: value}))

    with platform.sessions.begin() as session:
        after = audit.to_json(session.get_one(AuditEvent, 2))
        result = audit.verify_stored_chain(session)

    assert {k: v for k, v in after.items() if k not in HASH_FIELDS} == {
        k: v for k, v in before.items() if k not in HASH_FIELDS
    }  # readers take the body
    assert not result.ok
    assert result.bad_seq == 2
    assert named in (result.problem or ""), result.problem
    assert "was changed after the event was written" in (result.problem or "")


def test_a_body_changed_in_the_database_is_named_by_its_hash(
    platform: Platform, clock: ManualClock
) -> None:
    _three_events(platform, clock)
    with platform.sessions.begin() as session:
        fields: dict[str, object] = dict(audit.to_json(session.get_one(AuditEvent, 2)))
        fields["payload"] = {"i": 42, "route": "開標"}
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.seq == 2)
            .values(body=canonical_bytes(fields), payload=fields["payload"])
        )

    with platform.sessions.begin() as session:
        result = audit.verify_stored_chain(session)

    assert not result.ok
    assert result.bad_seq == 2
    assert (result.problem or "").startswith("its hash column is ")


def test_a_body_not_in_canonical_form_is_named(platform: Platform, clock: ManualClock) -> None:
    """The same JSON written with other bytes: the platform's own check reads every body."""
    _three_events(platform, clock)
    with platform.sessions.begin() as session:
        event = session.get_one(AuditEvent, 3)
        spaced = json.dumps(json.loads(event.body), ensure_ascii=False, sort_keys=True).encode()
        prev = bytes.fromhex(event.prev_hash)
        event.body = spaced  # with every hash redone over the new bytes
        event.hash = hashlib.sha256(prev + spaced).hexdigest()
        event.leaf_hash = merkle.leaf_hash(spaced).hex()

    with platform.sessions.begin() as session:
        result = audit.verify_stored_chain(session)

    assert not result.ok
    assert result.bad_seq == 3
    assert "line 3 is not the canonical JSON of an event" in (result.problem or "")
    assert "not in RFC 8785 canonical form" in (result.problem or "")
