"""Shapes of the audit API."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from tender.audit.models import CheckpointRecord
from tender.audit.service import TreeHead
from tender.verifier.checks import Check, summarise


@dataclass(frozen=True)
class TreeHeadOut:
    size: int
    root: str  # hex

    @classmethod
    def of(cls, head: TreeHead) -> TreeHeadOut:
        return cls(size=head.size, root=head.root.hex())


@dataclass(frozen=True)
class CheckpointOut:
    """A signed checkpoint: the C2SP signed note, its RFC 3161 token and its locked copy."""

    size: int
    root: str
    issued_at: datetime
    reason: str
    note: str
    timestamp_token: str  # base64
    object_key: str
    object_version: str

    @classmethod
    def of(cls, record: CheckpointRecord) -> CheckpointOut:
        return cls(
            size=record.size,
            root=record.root,
            issued_at=record.issued_at,
            reason=record.reason,
            note=record.note,
            timestamp_token=base64.b64encode(record.timestamp_token).decode("ascii"),
            object_key=record.object_key,
            object_version=record.object_version,
        )


@dataclass(frozen=True)
class TrailVerificationOut:
    """The stored log checked against every Object-Locked checkpoint copy."""

    ok: bool
    failed: int
    first_cause: Check | None
    summary: list[Check]

    @classmethod
    def of(cls, checks: list[Check]) -> TrailVerificationOut:
        summary = summarise(checks)
        return cls(summary.holds, summary.failed, summary.first_cause, summary.lines)
