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
from datetime import UTC, datetime
from typing import Any

import rfc8785

GENESIS_HASH = "00" * 32
CHAINED_FIELDS = ("seq", "at", "actor", "tender_id", "kind", "payload")


def format_time(moment: datetime) -> str:
    """The one text form of a time in the trail: ``2026-11-27T13:40:19.123456Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(event: Mapping[str, Any]) -> bytes:
    """The bytes of ``event`` (a dict with the chained fields, JSON-ready) that are hashed."""
    return rfc8785.dumps({name: event[name] for name in CHAINED_FIELDS})


def chain_hash(prev_hash: str, event: Mapping[str, Any]) -> str:
    """The hash of ``event`` following an event whose hash is ``prev_hash`` (hex)."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical_bytes(event)).hexdigest()


@dataclass(frozen=True)
class ChainVerification:
    """What ``verify_chain`` found. ``ok`` is true only if every event checks out."""

    ok: bool
    events: int
    head: str
    problem: str | None = None
    bad_seq: int | None = None

    def describe(self) -> str:
        if self.ok:
            return f"OK: {self.events} events, chain intact, head {self.head}"
        return f"FAILED at event {self.bad_seq}: {self.problem}"


def verify_chain(events: Iterable[Mapping[str, Any]]) -> ChainVerification:
    """Check exported events (dicts with the chained fields plus ``prev_hash`` and ``hash``).

    Events must come in sequence order starting at 1.
    """
    prev = GENESIS_HASH
    count = 0
    for event in events:
        count += 1
        seq = event.get("seq")
        if seq != count:
            return ChainVerification(
                False, count - 1, prev, f"expected sequence number {count}, found {seq}", seq
            )
        if event.get("prev_hash") != prev:
            return ChainVerification(
                False, count - 1, prev, "its prev_hash is not the hash of the event before", seq
            )
        expected = chain_hash(prev, event)
        if event.get("hash") != expected:
            return ChainVerification(
                False, count - 1, prev, "its content does not match its hash (it was changed)", seq
            )
        prev = expected
    return ChainVerification(True, count, prev)
