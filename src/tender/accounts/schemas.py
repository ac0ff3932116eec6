"""Shapes of the account API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from tender.accounts.models import Role, SigningCertificate, User


@dataclass(frozen=True)
class AccountOut:
    id: uuid.UUID
    name: str
    organisation: str
    role: Role

    @classmethod
    def of(cls, user: User) -> AccountOut:
        return cls(id=user.id, name=user.name, organisation=user.organisation, role=user.role)


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
