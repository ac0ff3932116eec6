"""The outbox: every message the platform sends, queued in the transaction that caused it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from tender.db import Base, UTCDateTime


class OutboxMessage(Base):
    """One email, rendered when it was queued (so it says what was true then) and delivered
    after its transaction committed. Kept once sent: ``tender outbox`` shows what went out."""

    __tablename__ = "outbox_messages"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # None for an address that belongs to nobody yet (a registration being confirmed).
    recipient_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    # Empty when the user has no email address on record: kept, listed, never delivered.
    to_address: Mapped[str] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(40), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    tender_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenders.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # When delivery may be tried next: pushed ahead while one courier holds it (so two never
    # send it at once), and by the backoff after a failure.
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
