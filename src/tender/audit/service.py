"""Appending to and reading the audit trail. Appends join the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tender.audit.chain import (
    GENESIS_HASH,
    ChainVerification,
    chain_hash,
    format_time,
    verify_chain,
)
from tender.audit.models import AuditEvent

SYSTEM_ACTOR = "system"
# Any fixed 64-bit number: the PostgreSQL advisory lock that serialises appends.
_APPEND_LOCK_KEY = 0x7E4DE2A0D17


def append(
    session: Session,
    *,
    kind: str,
    actor: str,
    at: datetime,
    tender_id: uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in ``session``'s transaction; it commits or rolls back with the change.

    Appends are serialised: on PostgreSQL by a transaction-scoped advisory lock, on SQLite by the
    write lock every transaction takes at BEGIN IMMEDIATE.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK_KEY})
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    event = AuditEvent(
        seq=seq,
        at=at,
        actor=actor,
        tender_id=tender_id,
        kind=kind,
        payload=payload or {},
        prev_hash=prev_hash,
    )
    event.hash = chain_hash(prev_hash, to_json(event))
    session.add(event)
    session.flush()
    return event


def to_json(event: AuditEvent) -> dict[str, Any]:
    """The exported form of an event, the one the chain hash covers."""
    return {
        "seq": event.seq,
        "at": format_time(event.at),
        "actor": event.actor,
        "tender_id": str(event.tender_id) if event.tender_id else None,
        "kind": event.kind,
        "payload": event.payload,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def iter_events(
    session: Session, *, tender_id: uuid.UUID | None = None, batch: int = 500
) -> Iterator[AuditEvent]:
    """Events in sequence order, fetched in batches so the trail never sits in memory whole."""
    query = select(AuditEvent).order_by(AuditEvent.seq)
    if tender_id is not None:
        query = query.where(AuditEvent.tender_id == tender_id)
    yield from session.scalars(query.execution_options(yield_per=batch))


def verify_stored_chain(session: Session) -> ChainVerification:
    """Recompute the whole chain from the database."""
    return verify_chain(to_json(event) for event in iter_events(session))
