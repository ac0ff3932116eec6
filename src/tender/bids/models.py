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
    # The file's SHA-256; for a supplier-sealed file (see sealed_sha256) the one its supplier
    # declared, which only the opening can check.
    sha256: Mapped[str] = mapped_column(String(64))
    # Bytes received: the file's size, or for a supplier-sealed file its sealed stream's.
    size: Mapped[int] = mapped_column(BigInteger)
    sealed_size: Mapped[int] = mapped_column(BigInteger)
    # Supplier-sealed only (None otherwise): the SHA-256 of the sealed bytes as received and
    # stored, the one hash the platform itself could compute.
    sealed_sha256: Mapped[str | None] = mapped_column(String(64))
    object_key: Mapped[str] = mapped_column(String(300))
    object_version: Mapped[str] = mapped_column(String(200))
    retain_until: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # A supplier may upload a file of the same name again before the deadline; the newer upload
    # supersedes the older, which stays stored and audited but is not opened.
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Withdrawn by its supplier before the deadline: stays stored, sealed and audited, but is
    # not opened (bid.withdrawn).
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    audit_seq: Mapped[int] = mapped_column()
    # The advisory signature pre-check's verdict (never any content); see bids.precheck.
    precheck: Mapped[PreCheckJSON | None] = mapped_column(JSON)
    # The platform-signed receipt (compact JWS); see bids.receipts.
    signed_receipt: Mapped[str | None] = mapped_column(Text)
    # The salt of the bid.received event's commitment (see audit.sealed): the receipt proves
    # with it that the event commits to this document, while the log tells nobody else.
    commitment_salt: Mapped[str | None] = mapped_column(String(64))
    # Which envelope of a two-envelope tender the file is in ("technical" or "financial", as
    # tender.verifier.ledger names them); None for a single-envelope tender's files. The log
    # (the sealed receipt fields) decides which envelope a file is opened with, not this.
    envelope: Mapped[str | None] = mapped_column(String(20))
    # For a file uploaded after the deadline of a fingerprint-first tender: the fingerprint,
    # received in time, that it fulfils.
    fingerprint_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("bid_fingerprints.id"))


class BidFingerprint(Base):
    """The SHA-256 of a bid file, registered before the deadline of a fingerprint-first tender
    (see ``Tender.file_grace_seconds``); the file itself may follow within the grace period,
    and only a file with this hash counts. Receipted and sealed in the log like a bid."""

    __tablename__ = "bid_fingerprints"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    tender_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenders.id"), index=True)
    supplier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # as BidDocument's
    audit_seq: Mapped[int] = mapped_column()
    signed_receipt: Mapped[str | None] = mapped_column(Text)
    commitment_salt: Mapped[str | None] = mapped_column(String(64))


class BidWithdrawal(Base):
    """A supplier's withdrawal of documents (and fingerprints) before the deadline. Its id is
    the withdrawal receipt's id; the signed receipt is kept, as a bid's is, so that the
    platform can show what it signed."""

    __tablename__ = "bid_withdrawals"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    tender_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenders.id"), index=True)
    supplier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    file_name: Mapped[str | None] = mapped_column(String(255))  # None: the whole bid
    withdrawn: Mapped[list[str]] = mapped_column(JSON)  # the receipt ids withdrawn
    withdrawn_at: Mapped[datetime] = mapped_column(UTCDateTime())
    audit_seq: Mapped[int] = mapped_column()
    commitment_salt: Mapped[str] = mapped_column(String(64))
    signed_receipt: Mapped[str | None] = mapped_column(Text)  # compact JWS; see bids.receipts


class StorageIntent(Base):
    """Written, and committed, as soon as an upload's last byte has arrived, before its sealed
    object is stored: the opening waits for it to be recorded, and if the process dies between
    storing and recording, the sweep finds the object by its key and names it in the audit
    trail. Resolved when the bid is recorded or refused, or the orphan named."""

    __tablename__ = "storage_intents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    tender_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    object_key: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # When the upload's last byte arrived (the receipt time, by the server clock); the opening
    # waits for every upload that arrived by the deadline to be recorded.
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    resolution: Mapped[str | None] = mapped_column(String(30))
