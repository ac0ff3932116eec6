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


@dataclass(frozen=True)
class TenderOut:
    id: uuid.UUID
    reference: str
    title: str
    description: str
    deadline: datetime
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
            status=tender.status,
            created_at=tender.created_at,
            published_at=tender.published_at,
            opening_started_at=tender.opening_started_at,
            opened_at=tender.opened_at,
        )
