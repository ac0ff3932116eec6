"""What the opening found: one result per bid document, and the sealed opening record."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from tender.db import Base, UTCDateTime, enum_text
from tender.signing import Indication, SubIndication


class OpeningResult(Base):
    __tablename__ = "opening_results"

    # One result per document: a re-delivered opening message finds it and moves on.
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bid_documents.id"), primary_key=True)
    tender_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    hash_matches: Mapped[bool] = mapped_column()
    computed_sha256: Mapped[str | None] = mapped_column(String(64))
    indication: Mapped[Indication] = mapped_column(enum_text(Indication, 30))
    sub_indication: Mapped[SubIndication | None] = mapped_column(enum_text(SubIndication, 60))
    signer_subject: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Bytes of the revision the last signature covers: what evaluators read (never bytes
    # appended after signing). None where not a signed PDF.
    signed_length: Mapped[int | None] = mapped_column(BigInteger)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OpeningClaim(Base):
    """A worker's lease on opening one document: other workers skip it until the lease runs
    out (the worker died), so no bid is unsealed or verified twice while its opening is live."""

    __tablename__ = "opening_claims"

    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bid_documents.id"), primary_key=True)
    tender_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    worker: Mapped[str] = mapped_column(String(120))
    claimed_until: Mapped[datetime] = mapped_column(UTCDateTime())


class OpeningRecord(Base):
    __tablename__ = "opening_records"

    tender_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenders.id"), primary_key=True)
    object_key: Mapped[str] = mapped_column(String(300))
    object_version: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    # The same record as a PDF for people, sealed with the platform's PAdES signature.
    pdf_object_key: Mapped[str] = mapped_column(String(300))
    pdf_object_version: Mapped[str] = mapped_column(String(200))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
