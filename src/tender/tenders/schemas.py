"""Request and response shapes of the tenders API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

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

    @classmethod
    def of(cls, tender: Tender) -> TenderOut:
        return cls(
            id=tender.id,
            reference=tender.reference,
            title=tender.title,
            description=tender.description,
            deadline=tender.deadline,
            file_grace_seconds=tender.file_grace_seconds,
            status=tender.status,
            created_at=tender.created_at,
            published_at=tender.published_at,
            opening_started_at=tender.opening_started_at,
            opened_at=tender.opened_at,
        )
