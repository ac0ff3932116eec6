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
