"""The hash chain, independent of the database: canonical bytes, hashing and verification.

An event's canonical bytes are its fields ``seq, at, actor, tender_id, kind, payload`` in the
JSON Canonicalization Scheme (RFC 8785: sorted keys, no insignificant white space, UTF-8,
ECMAScript number form), with times as ISO 8601 UTC strings with microseconds and a ``Z``.
Its hash is ``SHA-256(prev_hash_bytes || canonical_bytes)``; the first event's ``prev_hash``
is 32 zero bytes. Changing, removing, inserting or reordering any event changes every hash
after it. (A Merkle tree with signed checkpoints builds on these same bytes.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import rfc8785

from tender.verifier import merkle

GENESIS_HASH = "00" * 32
CHAINED_FIELDS = ("seq", "at", "actor", "tender_id", "kind", "payload")


def canonical_bytes(event: Mapping[str, Any]) -> bytes:
    """The bytes of ``event`` (a dict with the chained fields, JSON-ready) that are hashed."""
    return rfc8785.dumps({name: event[name] for name in CHAINED_FIELDS})


def chain_hash(prev_hash: str, event: Mapping[str, Any]) -> str:
    """The hash of ``event`` following an event whose hash is ``prev_hash`` (hex)."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical_bytes(event)).hexdigest()


def leaf_hash(event: Mapping[str, Any]) -> str:
    """The RFC 9162 leaf hash of ``event`` (hex): SHA-256(0x00 || canonical bytes)."""
    return merkle.leaf_hash(canonical_bytes(event)).hex()


@dataclass(frozen=True)
class ChainVerification:
    """What ``verify_chain`` found. ``ok`` is true only if every event checks out.

    ``merkle_root`` is the RFC 9162 root over the events verified (hex), to compare with a
    signed checkpoint of the same size.
    """

    ok: bool
    events: int
    head: str
    merkle_root: str
    problem: str | None = None
    bad_seq: int | None = None

    def describe(self) -> str:
        if self.ok:
            return (
                f"OK: {self.events} events, chain intact, head {self.head}, "
                f"Merkle root {self.merkle_root}"
            )
        return f"FAILED at event {self.bad_seq}: {self.problem}"


def verify_chain(events: Iterable[Mapping[str, Any]]) -> ChainVerification:
    """Check exported events (dicts with the chained fields, ``prev_hash``, ``hash`` and
    ``leaf_hash``), recomputing every hash; events must come in sequence order from 1."""
    prev = GENESIS_HASH
    tree = merkle.MerkleAccumulator()

    def failed(problem: str, seq: object) -> ChainVerification:
        bad = seq if isinstance(seq, int) else None
        return ChainVerification(False, tree.size, prev, tree.root().hex(), problem, bad)

    for event in events:
        seq = event.get("seq")
        if seq != tree.size + 1:
            return failed(f"expected sequence number {tree.size + 1}, found {seq}", seq)
        if event.get("prev_hash") != prev:
            return failed("its prev_hash is not the hash of the event before", seq)
        body = canonical_bytes(event)
        expected = hashlib.sha256(bytes.fromhex(prev) + body).hexdigest()
        if event.get("hash") != expected:
            return failed("its content does not match its hash (it was changed)", seq)
        leaf = merkle.leaf_hash(body)
        if event.get("leaf_hash") != leaf.hex():
            return failed("its leaf_hash is not the RFC 9162 hash of its content", seq)
        prev = expected
        tree.append(leaf)
    return ChainVerification(True, tree.size, prev, tree.root().hex())
