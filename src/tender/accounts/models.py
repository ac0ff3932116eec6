"""Who may do what: users of the platform, each acting for one organisation in one role."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from tender.db import Base, UTCDateTime, enum_text


class Role(StrEnum):
    OFFICER = "officer"  # runs tenders for the procuring entity
    SUPPLIER = "supplier"  # submits bids
    AUDITOR = "auditor"  # reads the audit trail and opening records


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_text(Role))
    # Tokens are 256-bit random strings, so a plain SHA-256 is enough to keep them unguessable
    # from a database copy (no password stretching needed).
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @property
    def actor(self) -> str:
        """How the audit trail names this user."""
        return f"user:{self.id}"


class SigningCertificate(Base):
    """A certificate an organisation registered as one it signs bids with.

    At the opening, a signature counts for a supplier only if its signing certificate is one
    of the supplier organisation's registered certificates.
    """

    __tablename__ = "signing_certificates"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    organisation: Mapped[str] = mapped_column(String(200), index=True)
    # One organisation per certificate: a certificate names one signer.
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    subject: Mapped[str] = mapped_column(Text)
    issuer: Mapped[str] = mapped_column(Text)
    serial: Mapped[str] = mapped_column(String(100))
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    not_after: Mapped[datetime] = mapped_column(UTCDateTime())
    der: Mapped[bytes] = mapped_column(LargeBinary)
    registered_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CertificateChallenge(Base):
    """A one-time text a supplier signs with a certificate's key to register that certificate:
    proof that they hold the key, not only a copy of the certificate."""

    __tablename__ = "certificate_challenges"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
