"""The audit trail: one row per state change or refusal, hash-chained in sequence order and
the leaves of an RFC 9162 Merkle tree."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, LargeBinary, SmallInteger, String, Text, Uuid
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
    # The exact bytes the chain and leaf hashes cover (RFC 8785 JSON of the chained fields):
    # exported as they are, so a verifier hashes them without re-encoding anything.
    body: Mapped[bytes] = mapped_column(LargeBinary)


class MerkleNode(Base):
    """The root of one perfect subtree of the log's Merkle tree: leaves
    [index * 2**level, (index + 1) * 2**level). Level 0 holds the leaf hashes. Written as the
    log grows, so a tree head or a proof reads O(log n) nodes instead of every leaf."""

    __tablename__ = "merkle_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


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
