"""Qualification of a two-envelope tender's bids: the officer's verdict on each bid's
technical envelope, and the financial opening that follows (its request and its record)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tender.db import Base, UTCDateTime


class BidQualification(Base):
    """The current verdict on one supplier's bid (its ``bid.qualification`` events say what
    it was and every correction; the log, not this row, decides what the financial opening
    opens)."""

    __tablename__ = "bid_qualifications"

    tender_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenders.id"), primary_key=True)
    supplier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    qualified: Mapped[bool] = mapped_column()
    reason: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
    audit_seq: Mapped[int] = mapped_column(Integer)


class FinancialOpening(Base):
    """A two-envelope tender's financial opening: asked for by an officer once every opened
    bid has a verdict; its record (the second part of the opening record) once written."""

    __tablename__ = "financial_openings"

    tender_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenders.id"), primary_key=True)
    requested_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    object_key: Mapped[str | None] = mapped_column(String(300))
    object_version: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str | None] = mapped_column(String(64))
    pdf_object_key: Mapped[str | None] = mapped_column(String(300))
    pdf_object_version: Mapped[str | None] = mapped_column(String(200))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
