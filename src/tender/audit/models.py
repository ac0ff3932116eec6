"""The audit trail: one row per state change or refusal, hash-chained in sequence order and
the leaves of an RFC 9162 Merkle tree."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from tender.db import Base, UTCDateTime


class AuditEvent(Base):
    __tablename__ = "audit_events"

    # Assigned by the appender under a lock (not autoincrement), so the chain has no gaps.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(80))
    tender_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    kind: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # RFC 9162 leaf hash of the same canonical bytes: event seq is leaf seq - 1 of the tree.
    leaf_hash: Mapped[str] = mapped_column(String(64))


class CheckpointRecord(Base):
    """A signed tree head: the C2SP signed note, its RFC 3161 token, and its locked copy."""

    __tablename__ = "checkpoints"

    size: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    root: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(Text)
    timestamp_token: Mapped[bytes] = mapped_column(LargeBinary)
    object_key: Mapped[str] = mapped_column(String(300))
    object_version: Mapped[str] = mapped_column(String(200))
