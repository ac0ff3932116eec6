"""Shapes of the account API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from tender.accounts.models import (
    ApiToken,
    Language,
    Organisation,
    OrganisationKind,
    OrganisationStatus,
    Role,
    SigningCertificate,
    User,
)


@dataclass(frozen=True)
class AccountOut:
    id: uuid.UUID
    name: str
    organisation: str
    organisation_id: uuid.UUID
    role: Role
    email: str | None
    language: Language
    totp_enrolled: bool

    @classmethod
    def of(cls, user: User) -> AccountOut:
        return cls(
            id=user.id,
            name=user.name,
            organisation=user.organisation,
            organisation_id=user.organisation_id,
            role=user.role,
            email=user.email,
            language=user.language,
            totp_enrolled=user.totp_confirmed_at is not None,
        )


@dataclass(frozen=True)
class SignIn:
    """Email and password; ``code``: the authenticator's current code, where one is needed."""

    email: str
    password: str
    code: str | None = None


@dataclass(frozen=True)
class SessionOut:
    """A browser session: the cookie is set HttpOnly; ``csrf_token`` goes with every request
    that changes something, in the X-CSRF-Token header."""

    account: AccountOut
    csrf_token: str
    second_factor: bool
    expires_at: datetime


@dataclass(frozen=True)
class TokenCreate:
    name: str
    days: int = 90
    # The authenticator's current code: the token may then do what needs a second factor.
    code: str | None = None


@dataclass(frozen=True)
class TokenOut:
    id: uuid.UUID
    name: str
    second_factor: bool
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenOut:
        return cls(
            id=token.id,
            name=token.name,
            second_factor=token.second_factor,
            created_at=token.created_at,
            expires_at=token.expires_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )


@dataclass(frozen=True)
class NewTokenOut:
    """A new token: ``token`` is shown this once and never again."""

    token: str
    about: TokenOut


@dataclass(frozen=True)
class TotpEnrolment:
    """Add ``secret`` to an authenticator app (or scan ``otpauth_uri`` as a QR code), then
    confirm with its code (POST /api/account/totp/confirm)."""

    secret: str
    otpauth_uri: str


@dataclass(frozen=True)
class TotpCode:
    code: str


@dataclass(frozen=True)
class PasswordChange:
    password: str
    current_password: str | None = None


@dataclass(frozen=True)
class PasswordSet:
    """A password set: how many other browser sessions of the user it ended, in words too."""

    sessions_ended: int
    message: str


@dataclass(frozen=True)
class CertificateOut:
    id: uuid.UUID
    organisation: str
    sha256: str
    subject: str
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    registered_at: datetime

    @classmethod
    def of(cls, certificate: SigningCertificate) -> CertificateOut:
        return cls(
            id=certificate.id,
            organisation=certificate.organisation,
            sha256=certificate.sha256,
            subject=certificate.subject,
            issuer=certificate.issuer,
            serial=certificate.serial,
            not_before=certificate.not_before,
            not_after=certificate.not_after,
            registered_at=certificate.registered_at,
        )


@dataclass(frozen=True)
class ChallengeOut:
    """A text to sign with the key of the certificate to register."""

    challenge_id: uuid.UUID
    text: str
    expires_at: datetime
    how_to: str = (
        "Sign 'text' (its UTF-8 bytes, exactly) with the certificate's key as a detached CAdES "
        "signature (for example, save it as challenge.txt and run 'tender sign challenge.txt "
        "--p12 YOUR.p12'), then POST its base64 with this challenge_id to "
        "/api/account/certificates. 'tender certificate register --p12 YOUR.p12' does all "
        "of it."
    )


@dataclass(frozen=True)
class CertificateRegistration:
    """The answer to a challenge: the detached signature over its text, base64."""

    challenge_id: uuid.UUID
    signature: str


@dataclass(frozen=True)
class OrganisationIn:
    """An organisation as its registration or an administrator describes it."""

    name_en: str
    br_number: str
    contact_email: str
    name_zh: str | None = None
    contact_phone: str | None = None


@dataclass(frozen=True)
class FirstUser:
    name: str
    email: str
    password: str
    language: Language = Language.EN


@dataclass(frozen=True)
class Registration:
    """A supplier's self-registration: the organisation and its first user."""

    organisation: OrganisationIn
    user: FirstUser


@dataclass(frozen=True)
class Confirmation:
    token: str


@dataclass(frozen=True)
class OrganisationOut:
    id: uuid.UUID
    kind: OrganisationKind
    name_en: str
    name_zh: str | None
    br_number: str | None
    contact_email: str | None
    contact_phone: str | None
    status: OrganisationStatus
    created_at: datetime

    @classmethod
    def of(cls, org: Organisation) -> OrganisationOut:
        return cls(
            id=org.id,
            kind=org.kind,
            name_en=org.name_en,
            name_zh=org.name_zh,
            br_number=org.br_number,
            contact_email=org.contact_email,
            contact_phone=org.contact_phone,
            status=org.status,
            created_at=org.created_at,
        )


@dataclass(frozen=True)
class RegistrationOut:
    organisation: OrganisationOut
    what_next: str


@dataclass(frozen=True)
class OrganisationCreate:
    kind: OrganisationKind
    name_en: str
    name_zh: str | None = None
    br_number: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None


@dataclass(frozen=True)
class UserCreate:
    """A user an administrator adds; the answer carries a one-time API token for them."""

    organisation_id: uuid.UUID
    role: Role
    name: str
    email: str | None = None
    language: Language = Language.EN


@dataclass(frozen=True)
class NewUserOut:
    account: AccountOut
    token: str
