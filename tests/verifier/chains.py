"""Exported audit events made by hand: a well-formed chain to check and to tamper with."""

from __future__ import annotations

from typing import Any

from tender.verifier.chain import GENESIS_HASH, chain_hash, leaf_hash


def exported_chain(count: int) -> list[dict[str, Any]]:
    """``count`` chained events as ``events.jsonl`` holds them, with Chinese text in each."""
    events, prev = [], GENESIS_HASH
    for seq in range(1, count + 1):
        event: dict[str, Any] = {
            "seq": seq,
            "at": f"2026-11-27T10:00:{seq:02d}.000000Z",
            "actor": "system",
            "tender_id": None,
            "kind": "user.created",
            "payload": {"n": seq, "text": "開標"},
            "prev_hash": prev,
        }
        event["hash"] = prev = chain_hash(prev, event)
        event["leaf_hash"] = leaf_hash(event)
        events.append(event)
    return events
