"""Tender documents (specification, forms, price schedule template), the addenda that publish
changes to a tender, and who downloaded which document."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from tender.db import Base, UTCDateTime

ORIGINAL = 0
"""The ``addendum`` of a document published with the tender itself."""


class TenderDocument(Base):
    """One version of a tender document, stored under Object Lock. Public once published:
    not sealed, since every supplier reads it.

    ``addendum`` says where it was published: :data:`ORIGINAL` with the tender, N with
    addendum N; None if it is not published: waiting (uploaded after publishing) for the
    addendum that will publish it, or replaced before it was. Only the buying officers see
    those.
    """

    __tablename__ = "tender_documents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    tender_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenders.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    object_key: Mapped[str] = mapped_column(String(300))
    object_version: Mapped[str] = mapped_column(String(200))
    uploaded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    addendum: Mapped[int | None] = mapped_column(Integer)
    # A later version of the same name replaces this one: by a new upload before it was
    # published, or by a later addendum. It stays stored and listed (suppliers may have read it).
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    audit_seq: Mapped[int] = mapped_column()


class Addendum(Base):
    """A published change to a tender: text, the documents it publishes, and perhaps a later
    deadline (``tender.amended`` in the log)."""

    __tablename__ = "tender_addenda"
    __table_args__ = (UniqueConstraint("tender_id", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    tender_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenders.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per tender
    text: Mapped[str] = mapped_column(Text)
    # Set when the addendum extended the deadline: from what, to what.
    previous_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    audit_seq: Mapped[int] = mapped_column()


class DocumentDownload(Base):
    """Someone read a tender document (which version, when). Confidential to the buying
    organisation: before the deadline it tells who is interested in a tender, so it is kept
    here and not in the audit log, which auditors export."""

    __tablename__ = "tender_document_downloads"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    tender_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenders.id"), index=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tender_documents.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    downloaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
