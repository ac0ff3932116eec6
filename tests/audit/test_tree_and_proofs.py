"""The audit log as an RFC 9162 Merkle tree: tree heads and proofs any verifier accepts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tender.audit import service as audit
from tender.clock import ManualClock
from tender.errors import Invalid
from tender.platform import Platform
from tender.verifier import merkle
from tender.verifier.kinds import EventKind


def _append(platform: Platform, clock: ManualClock, count: int) -> None:
    with platform.sessions.begin() as session:
        for i in range(count):
            audit.append(
                session,
                kind=EventKind.REQUEST_REFUSED,
                actor="system",
                at=clock.now(),
                payload={"i": i},
            )
            clock.advance(timedelta(seconds=1))


def test_tree_head_matches_the_root_recomputed_from_the_exported_events(
    platform: Platform, clock: ManualClock
) -> None:
    _append(platform, clock, 13)
    with platform.sessions.begin() as session:
        head = audit.tree_head(session)
        verified = audit.verify_stored_chain(session)
        earlier = audit.tree_head(session, 5)
    assert head.size == 13
    assert verified.ok
    assert head.root.hex() == verified.merkle_root
    assert earlier.size == 5
    assert earlier.root != head.root


def test_every_inclusion_and_consistency_proof_verifies(
    platform: Platform, clock: ManualClock
) -> None:
    _append(platform, clock, 11)
    with platform.sessions.begin() as session:
        for size in range(1, 12):
            for seq in range(1, size + 1):
                proof = audit.inclusion(session, seq=seq, size=size)
                merkle.verify_inclusion(
                    bytes.fromhex(proof.leaf_hash),
                    proof.leaf_index,
                    size,
                    [bytes.fromhex(p) for p in proof.proof],
                    bytes.fromhex(proof.root),
                )
            for old in range(1, size + 1):
                step = audit.consistency(session, old_size=old, new_size=size)
                merkle.verify_consistency(
                    old,
                    size,
                    bytes.fromhex(step.old_root),
                    bytes.fromhex(step.new_root),
                    [bytes.fromhex(p) for p in step.proof],
                )
                assert step.old_root == audit.tree_head(session, old).root.hex()


def test_proofs_outside_the_log_are_refused(platform: Platform, clock: ManualClock) -> None:
    _append(platform, clock, 3)
    with platform.sessions.begin() as session:
        with pytest.raises(Invalid, match="not in a tree of 3"):
            audit.inclusion(session, seq=4)
        with pytest.raises(Invalid, match="has 3 events, not 9"):
            audit.tree_head(session, 9)
        with pytest.raises(Invalid, match="No consistency proof from 3 to 2"):
            audit.consistency(session, old_size=3, new_size=2)
