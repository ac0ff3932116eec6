"""Bid documents: what was received, when, and where its sealed bytes are locked away."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from tender.db import Base, UTCDateTime
from tender.verifier.formats import PreCheckJSON


class BidDocument(Base):
    """One uploaded file of a supplier's bid. Its id is the receipt id."""

    __tablename__ = "bid_documents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    tender_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenders.id"), index=True)
    supplier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    sealed_size: Mapped[int] = mapped_column(BigInteger)
    object_key: Mapped[str] = mapped_column(String(300))
    object_version: Mapped[str] = mapped_column(String(200))
    retain_until: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # A supplier may upload a file of the same name again before the deadline; the newer upload
    # supersedes the older, which stays stored and audited but is not opened.
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    audit_seq: Mapped[int] = mapped_column()
    # The advisory signature pre-check's verdict (never any content); see bids.precheck.
    precheck: Mapped[PreCheckJSON | None] = mapped_column(JSON)
    # The platform-signed receipt (compact JWS); see bids.receipts.
    signed_receipt: Mapped[str | None] = mapped_column(Text)
    # The salt of the bid.received event's commitment (see audit.sealed): the receipt proves
    # with it that the event commits to this document, while the log tells nobody else.
    commitment_salt: Mapped[str | None] = mapped_column(String(64))


class StorageIntent(Base):
    """Written, and committed, before a sealed object is stored: if the process dies between
    storing and recording, the sweep at start-up finds the object by its key and names it in
    the audit trail. Resolved when the bid is recorded or refused, or the orphan named."""

    __tablename__ = "storage_intents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    tender_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    object_key: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    resolution: Mapped[str | None] = mapped_column(String(30))
