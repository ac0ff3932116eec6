"""Request and response shapes of the tenders API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tender.tenders.models import Tender, TenderStatus


@dataclass(frozen=True)
class TenderCreate:
    """A new tender. ``deadline`` must carry a time zone (it is stored in UTC)."""

    reference: str
    title: str
    deadline: datetime
    description: str = ""
    # Fingerprint first: suppliers register each file's SHA-256 by the deadline and may upload
    # the file up to this many seconds after it. None (the default): files by the deadline.
    file_grace_seconds: int | None = None


@dataclass(frozen=True)
class TenderEdit:
    """Changes to a draft: only the fields sent are changed."""

    reference: str | None = None
    title: str | None = None
    description: str | None = None
    deadline: datetime | None = None
    file_grace_seconds: int | None = None
    # file_grace_seconds None means "unchanged"; this turns fingerprint first off.
    files_by_deadline: bool = False

    def given(self) -> dict[str, Any]:
        """The fields to change, by name."""
        changes = {
            name: value
            for name in ("reference", "title", "description", "deadline", "file_grace_seconds")
            if (value := getattr(self, name)) is not None
        }
        if self.files_by_deadline:
            changes["file_grace_seconds"] = None
        return changes


@dataclass(frozen=True)
class Cancellation:
    """Why the tender is called off (suppliers read it)."""

    reason: str


@dataclass(frozen=True)
class TenderOut:
    id: uuid.UUID
    reference: str
    title: str
    description: str
    deadline: datetime
    file_grace_seconds: int | None
    status: TenderStatus
    created_at: datetime
    published_at: datetime | None
    opening_started_at: datetime | None
    opened_at: datetime | None
    awarded_at: datetime | None
    cancelled_at: datetime | None
    cancellation_reason: str | None

    @classmethod
    def of(cls, tender: Tender, *, now: datetime) -> TenderOut:
        """``tender`` as seen at ``now`` (a published tender past its deadline is closed)."""
        return cls(
            id=tender.id,
            reference=tender.reference,
            title=tender.title,
            description=tender.description,
            deadline=tender.deadline,
            file_grace_seconds=tender.file_grace_seconds,
            status=tender.status_at(now),
            created_at=tender.created_at,
            published_at=tender.published_at,
            opening_started_at=tender.opening_started_at,
            opened_at=tender.opened_at,
            awarded_at=tender.awarded_at,
            cancelled_at=tender.cancelled_at,
            cancellation_reason=tender.cancellation_reason,
        )
