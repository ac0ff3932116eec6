"""Who may do what: organisations, and their users, each acting for one organisation in one
role."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tender.db import Base, UTCDateTime, enum_text


class Role(StrEnum):
    OFFICER = "officer"  # runs tenders for the procuring entity
    SUPPLIER = "supplier"  # submits bids
    AUDITOR = "auditor"  # reads the audit trail and opening records
    ADMIN = "admin"  # manages organisations and users; never reads bid content


class OrganisationKind(StrEnum):
    BUYER = "buyer"  # a procuring entity: its officers run tenders
    SUPPLIER = "supplier"  # a company that bids
    PLATFORM = "platform"  # the platform's operator and appointed auditors


class OrganisationStatus(StrEnum):
    PENDING = "pending"  # registered, not yet activated
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Language(StrEnum):
    """The language a person reads the platform and its messages in."""

    EN = "en"
    ZH_HANT_HK = "zh-Hant-HK"


class Organisation(Base):
    """A buying department or a supplier company; every user acts for one."""

    __tablename__ = "organisations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[OrganisationKind] = mapped_column(enum_text(OrganisationKind))
    # Receipts and opening records name an organisation by its English name, so it is unique.
    name_en: Mapped[str] = mapped_column(String(200), unique=True)
    name_zh: Mapped[str | None] = mapped_column(String(200))
    # Hong Kong business registration number: one organisation per registered business.
    br_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    contact_email: Mapped[str | None] = mapped_column(String(320))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[OrganisationStatus] = mapped_column(enum_text(OrganisationStatus))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    # Loaded with the user: the user outlives the session that read it (authentication).
    org: Mapped[Organisation] = relationship(lazy="joined")
    # Unique when set; accounts made before sign-in by email have none.
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    language: Mapped[Language] = mapped_column(enum_text(Language), default=Language.EN)
    role: Mapped[Role] = mapped_column(enum_text(Role))
    # argon2id (argon2-cffi's encoded form); None: the account signs in with API tokens only.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # RFC 6238 TOTP: the base32 secret, in use once confirmed with a code.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The time-step (RFC 6238's T) of the last code accepted: no code of it or before is
    # accepted again.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    # Self-registration: the emailed confirmation link's token (hashed) and until when it works.
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmation_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    confirmation_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @property
    def actor(self) -> str:
        """How the audit trail names this user."""
        return f"user:{self.id}"

    @property
    def organisation(self) -> str:
        """The organisation's name as receipts and opening records give it (English)."""
        return self.org.name_en


class SigningCertificate(Base):
    """A certificate an organisation registered as one it signs bids with.

    At the opening, a signature counts for a supplier only if its signing certificate is one
    of the supplier organisation's registered certificates.
    """

    __tablename__ = "signing_certificates"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    org: Mapped[Organisation] = relationship(lazy="joined")
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

    @property
    def organisation(self) -> str:
        return self.org.name_en


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


class AuditorAppointment(Base):
    """What an auditor may read: every organisation's tenders (``organisation_id`` None), or
    one named organisation's (one row each)."""

    __tablename__ = "auditor_appointments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    auditor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"))
    appointed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """A bearer token for scripts and the command line, shown once to its owner."""

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # Tokens are 256-bit random strings, so a plain SHA-256 is enough to keep them unguessable
    # from a database copy (no password stretching needed).
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # Made with a second factor (a TOTP code, or by the operator on the server): it may do
    # what needs one (publishing, awarding...).
    second_factor: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # None: until revoked
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BrowserSession(Base):
    """A signed-in browser: the cookie's token (hashed) and the CSRF token its forms send."""

    __tablename__ = "browser_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    second_factor: Mapped[bool] = mapped_column(Boolean)  # signed in with a TOTP code
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SignInFailure(Base):
    """A failed sign-in, counted to throttle guessing per account and per address."""

    __tablename__ = "sign_in_failures"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
