"""Exported audit logs made by hand: well-formed lines to check and to tamper with."""

from __future__ import annotations

from typing import Any

from tender.verifier.chain import canonical_bytes


def event(seq: int, **fields: Any) -> dict[str, Any]:
    """An event's chained fields, with Chinese text in its payload."""
    return {
        "seq": seq,
        "at": f"2026-11-27T10:00:{seq % 60:02d}.000000Z",
        "actor": "system",
        "tender_id": None,
        "kind": "user.created",
        "payload": {"n": seq, "text": "開標"},
        **fields,
    }


def exported_lines(count: int) -> list[bytes]:
    """The bodies of ``count`` events, as the lines of ``events.jsonl`` hold them (without
    their line feeds)."""
    return [canonical_bytes(event(seq)) for seq in range(1, count + 1)]


def jsonl(lines: list[bytes]) -> bytes:
    """``lines`` as a JSON-lines file."""
    return b"".join(line + b"\n" for line in lines)
