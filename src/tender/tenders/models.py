"""Tenders: the call for bids, its deadline, and the key pair its bids are sealed to."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text, Uuid, false
from sqlalchemy.orm import Mapped, mapped_column

from tender.db import Base, UTCDateTime, enum_text
from tender.storage.hpke import PUBLIC_KEY_SIZE


class TenderStatus(StrEnum):
    DRAFT = "draft"  # being prepared, editable; takes no bids
    PUBLISHED = "published"  # open for bids until the deadline
    # The deadline passed and the opening has not started. Never stored: a published tender
    # past its deadline reads as closed (Tender.status_at), so no job has to flip it on time.
    CLOSED = "closed"
    OPENING = "opening"  # the opening job is unsealing bids
    OPENED = "opened"  # every bid is unsealed and checked; the opening record is written
    AWARDED = "awarded"  # the winners are chosen (final)
    CANCELLED = "cancelled"  # called off, with a reason (final); its bids stay sealed


NEXT: Final[Mapping[TenderStatus, frozenset[TenderStatus]]] = {
    TenderStatus.DRAFT: frozenset({TenderStatus.PUBLISHED, TenderStatus.CANCELLED}),
    TenderStatus.PUBLISHED: frozenset({TenderStatus.CLOSED, TenderStatus.CANCELLED}),
    # Not cancellable while OPENING: the opening unseals bids in batches without locking the
    # tender, so a cancellation then would leave some bids unsealed; it waits a few minutes.
    TenderStatus.CLOSED: frozenset({TenderStatus.OPENING, TenderStatus.CANCELLED}),
    TenderStatus.OPENING: frozenset({TenderStatus.OPENED}),
    TenderStatus.OPENED: frozenset({TenderStatus.AWARDED, TenderStatus.CANCELLED}),
    TenderStatus.AWARDED: frozenset(),
    TenderStatus.CANCELLED: frozenset(),
}
"""The one table of state changes a tender may make; every transition and every refusal
(tenders.service.move) reads it. PUBLISHED -> CLOSED happens by the clock alone."""


class OpeningMethod(StrEnum):
    """Who can open a tender's bids after its deadline (chosen when the tender is created)."""

    # A committee of n members, k of whom release their shares of the tender's key after the
    # deadline (tender.committee); no whole key exists before then. The default.
    COMMITTEE = "committee"
    # The platform unwraps the tender's key with its platform key at the deadline: whoever
    # holds that key and the database can read the bids early (the embedded demo, small buyers).
    AUTOMATIC = "automatic"


class Envelopes(StrEnum):
    """How a tender's bids are packed (chosen when the tender is created)."""

    SINGLE = "single"  # one envelope per bid, opened at the deadline
    # A technical and a financial envelope per bid, sealed to two keys: the technical ones
    # open at the deadline; the financial ones only of the bids the officer then qualifies
    # (tender.qualification), the others never.
    TWO = "two"


UNSEALED: Final = frozenset({TenderStatus.OPENED, TenderStatus.AWARDED})
"""States in which the opening is finished: its record and the opened bids can be read."""


class Tender(Base):
    __tablename__ = "tenders"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    reference: Mapped[str] = mapped_column(String(80))
    # The reference as compared (tender.text.reference_key: NFC, case-folded): "RFT-1" and
    # "rft-1" are one reference.
    reference_key: Mapped[str] = mapped_column(String(320), unique=True)
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
    awarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancellation_reason: Mapped[str | None] = mapped_column(Text)
    # Bids are sealed to this public key: ML-KEM-768 + X25519 (1216 bytes) for tenders created
    # since migration 0009s, X25519 (32 bytes) before. Automatic opening: its private half is
    # stored only wrapped by the platform key, and unwrapped after the deadline. Committee
    # opening: it is not stored at all (None); the committee's shares of it are
    # (tender.committee).
    public_key: Mapped[bytes] = mapped_column(LargeBinary(PUBLIC_KEY_SIZE))
    wrapped_private_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    opening: Mapped[OpeningMethod] = mapped_column(
        enum_text(OpeningMethod), server_default=OpeningMethod.AUTOMATIC.value
    )
    # Two-envelope tenders: financial envelopes are sealed to this second public key, whose
    # private half is kept like the tender key's (wrapped by the platform key, or shared out
    # among the same committee) and unlocked only for the financial opening.
    envelopes: Mapped[Envelopes] = mapped_column(
        enum_text(Envelopes), server_default=Envelopes.SINGLE.value
    )
    financial_public_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    wrapped_financial_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Committee opening: how many of the committee's members must release their shares.
    quorum: Mapped[int | None] = mapped_column(Integer)
    # Fingerprint first: when set, a supplier may register each file's SHA-256 by the deadline
    # and upload the file itself up to this many seconds after it. None: files by the deadline.
    file_grace_seconds: Mapped[int | None] = mapped_column(Integer)
    # Supplier-sealed: bids arrive already sealed to public_key by the supplier's own machine
    # (``tender submit --seal``), so the platform never holds their plaintext before the opening.
    supplier_sealed: Mapped[bool] = mapped_column(Boolean, server_default=false())

    def status_at(self, now: datetime) -> TenderStatus:
        """The state as people see it at ``now``: a published tender is closed from its
        deadline on (a bid whose last byte arrives at the very instant still counts; the
        opening may start at that instant too, once such uploads are recorded)."""
        if self.status == TenderStatus.PUBLISHED and now >= self.deadline:
            return TenderStatus.CLOSED
        return self.status

    @property
    def two_envelopes(self) -> bool:
        return self.envelopes is Envelopes.TWO

    @property
    def files_until(self) -> datetime:
        """The last moment a bid file is received: the deadline, or for a fingerprint-first
        tender the end of its grace period (files matching a fingerprint sent in time)."""
        return self.deadline + timedelta(seconds=self.file_grace_seconds or 0)
