"""The award of a tender: who won, for how much, and why."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tender.db import Base, UTCDateTime


class TenderAward(Base):
    """The outcome of an opened tender (one per tender; an award is final)."""

    __tablename__ = "tender_awards"

    tender_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenders.id"), primary_key=True)
    # The winning suppliers' organisations, as the opening record names them.
    winners: Mapped[list[str]] = mapped_column(JSON)
    # A decimal number as text: exact, and the same on SQLite and PostgreSQL.
    value: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))  # ISO 4217
    reasons: Mapped[str] = mapped_column(Text)
    awarded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    awarded_at: Mapped[datetime] = mapped_column(UTCDateTime())
