"""Request and response shapes of tender documents and addenda."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from tender.accounts.models import Role
from tender.documents.models import Addendum, TenderDocument


@dataclass(frozen=True)
class DocumentOut:
    name: str
    sha256: str
    size: int
    # 0: published with the tender; N: with addendum N; None: not published, waiting for
    # the next addendum or replaced before it was (only the buying officers see those).
    addendum: int | None
    uploaded_at: datetime
    # A later version of the same name replaced this one (it stays readable).
    superseded: bool

    @classmethod
    def of(cls, document: TenderDocument) -> DocumentOut:
        return cls(
            name=document.name,
            sha256=document.sha256,
            size=document.size,
            addendum=document.addendum,
            uploaded_at=document.uploaded_at,
            superseded=document.superseded_at is not None,
        )


@dataclass(frozen=True)
class DownloadOut:
    """One read of a tender document (for the buying officers)."""

    document: str
    addendum: int | None
    sha256: str
    user_id: uuid.UUID
    user_name: str
    organisation: str
    role: Role
    downloaded_at: datetime


@dataclass(frozen=True)
class AddendumIn:
    """An addendum: its text, the documents uploaded since publishing that it publishes (by
    name), and a new deadline if it extends it (with a time zone; later than the current)."""

    text: str
    documents: list[str] = field(default_factory=list)
    deadline: datetime | None = None


@dataclass(frozen=True)
class AddendumOut:
    number: int
    text: str
    documents: list[DocumentOut]
    # Set when the addendum extended the deadline.
    previous_deadline: datetime | None
    deadline: datetime | None
    published_at: datetime

    @classmethod
    def of(cls, addendum: Addendum, documents: list[TenderDocument]) -> AddendumOut:
        return cls(
            number=addendum.number,
            text=addendum.text,
            documents=[DocumentOut.of(d) for d in documents],
            previous_deadline=addendum.previous_deadline,
            deadline=addendum.deadline,
            published_at=addendum.published_at,
        )
