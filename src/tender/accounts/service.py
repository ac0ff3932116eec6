"""Accounts: users with one bearer token each, and the certificates organisations sign with.

Organisations and roles deepen later. Who may call what is decided by the route guards
(:mod:`tender.accounts.guards`); this service checks only what depends on the objects.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tender.accounts.models import Role, SigningCertificate, User
from tender.audit import service as audit
from tender.clock import Clock, format_time
from tender.errors import Conflict, Invalid
from tender.signing import SignerBinding, read_certificate
from tender.verifier.kinds import EventKind

STARTER_ACCOUNTS: tuple[tuple[str, str, Role], ...] = (
    ("Olivia Officer", "Procuring Entity", Role.OFFICER),
    ("Alice Supplier", "Alpha Engineering Ltd", Role.SUPPLIER),
    ("Bob Supplier", "Beta Builders Ltd", Role.SUPPLIER),
    ("Carol Supplier", "Gamma Works Ltd", Role.SUPPLIER),
    ("Aaron Auditor", "Audit Commission", Role.AUDITOR),
)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(session: Session, token: str) -> User | None:
    """The user holding ``token``, or None."""
    return session.scalar(select(User).where(User.token_sha256 == _token_digest(token)))


@dataclass(frozen=True, kw_only=True)
class AccountService:
    """Accounts and signing certificates, in the caller's transaction (it never commits)."""

    session: Session
    clock: Clock

    def create_user(self, *, name: str, organisation: str, role: Role) -> tuple[User, str]:
        """Add a user and return it with its bearer token (shown once, stored only as a hash).

        Accounts are made by the platform's operator (the command line), so the audit event
        names the system as actor.
        """
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        user = User(
            name=name,
            organisation=organisation,
            role=role,
            token_sha256=_token_digest(token),
            created_at=now,
        )
        self.session.add(user)
        self.session.flush()
        audit.append(
            self.session,
            kind=EventKind.USER_CREATED,
            actor=audit.SYSTEM_ACTOR,
            at=now,
            payload={
                "user_id": str(user.id),
                "name": name,
                "organisation": organisation,
                "role": role.value,
            },
        )
        return user, token

    def create_starter_accounts(self) -> list[tuple[User, str]]:
        """One officer, three suppliers and an auditor, for a platform with no users yet."""
        if self.session.scalar(select(User.id).limit(1)) is not None:
            return []
        return [
            self.create_user(name=name, organisation=org, role=role)
            for name, org, role in STARTER_ACCOUNTS
        ]

    def register_certificate(self, *, actor: User, data: bytes) -> SigningCertificate:
        """Register a certificate (PEM or DER) as one the actor's organisation signs bids with."""
        try:
            info = read_certificate(data)
        except ValueError as exc:
            raise Invalid(
                "The file is not a certificate.",
                str(exc),
                "Export your signing certificate (not the .p12 with its key) as PEM or DER and "
                "upload that.",
            ) from exc
        now = self.clock.now()
        if info.not_after < now:
            raise Invalid(
                "The certificate has expired.",
                f"It was valid until {format_time(info.not_after)}.",
                "Register the certificate you will sign this bid with.",
            )
        known = self.session.scalar(
            select(SigningCertificate).where(
                SigningCertificate.organisation == actor.organisation,
                SigningCertificate.sha256 == info.sha256,
            )
        )
        if known is not None:
            raise Conflict(
                "This certificate is already registered for your organisation.",
                f"It was registered at {format_time(known.registered_at)}.",
                "Nothing to do.",
            )
        certificate = SigningCertificate(
            organisation=actor.organisation,
            sha256=info.sha256,
            subject=info.subject,
            issuer=info.issuer,
            serial=info.serial,
            not_before=info.not_before,
            not_after=info.not_after,
            der=info.der,
            registered_by=actor.id,
            registered_at=now,
        )
        self.session.add(certificate)
        self.session.flush()
        audit.append(
            self.session,
            kind=EventKind.CERTIFICATE_REGISTERED,
            actor=actor.actor,
            at=now,
            payload={
                "organisation": actor.organisation,
                "sha256": info.sha256,
                "subject": info.subject,
                "issuer": info.issuer,
                "serial": info.serial,
            },
        )
        return certificate

    def certificates_of(self, organisation: str) -> list[SigningCertificate]:
        query = (
            select(SigningCertificate)
            .where(SigningCertificate.organisation == organisation)
            .order_by(SigningCertificate.registered_at)
        )
        return list(self.session.scalars(query))

    def signer_binding(self, organisation: str) -> SignerBinding:
        """Whose signatures count for ``organisation``: its registered certificates."""
        return SignerBinding(
            organisation=organisation,
            fingerprints=frozenset(c.sha256 for c in self.certificates_of(organisation)),
        )
