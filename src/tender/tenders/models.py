"""Tenders: the call for bids, its deadline, and the key pair its bids are sealed to."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from tender.db import Base, UTCDateTime, enum_text


class TenderStatus(StrEnum):
    DRAFT = "draft"  # being prepared; takes no bids
    PUBLISHED = "published"  # open for bids until the deadline
    OPENING = "opening"  # the deadline passed; the opening job is unsealing bids
    OPENED = "opened"  # every bid is unsealed and checked; the opening record is written


class Tender(Base):
    __tablename__ = "tenders"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    reference: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[TenderStatus] = mapped_column(enum_text(TenderStatus), index=True)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    # The buying organisation: its officers run the tender (tender.tenders.access).
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opening_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Bids are sealed to this X25519 public key; its private half is stored only wrapped by the
    # platform key, and unwrapped by the opening job after the deadline.
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    wrapped_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    # Fingerprint first: when set, a supplier may register each file's SHA-256 by the deadline
    # and upload the file itself up to this many seconds after it. None: files by the deadline.
    file_grace_seconds: Mapped[int | None] = mapped_column(Integer)

    @property
    def files_until(self) -> datetime:
        """The last moment a bid file is received: the deadline, or for a fingerprint-first
        tender the end of its grace period (files matching a fingerprint sent in time)."""
        return self.deadline + timedelta(seconds=self.file_grace_seconds or 0)
