"""Minimal identity: one bearer token per user. Organisations and roles deepen later."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from tender.accounts.models import Role, SigningCertificate, User
from tender.audit import service as audit
from tender.audit.chain import format_time
from tender.clock import Clock
from tender.errors import Conflict, Forbidden, Invalid
from tender.signing import SignerBinding, read_certificate


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session, *, name: str, organisation: str, role: Role, clock: Clock
) -> tuple[User, str]:
    """Add a user and return it with its bearer token (shown once, stored only as a hash).

    Accounts are made by the platform's operator (the command line), so the audit event
    names the system as actor.
    """
    token = secrets.token_urlsafe(32)
    now = clock.now()
    user = User(
        name=name,
        organisation=organisation,
        role=role.value,
        token_sha256=_token_digest(token),
        created_at=now,
    )
    session.add(user)
    session.flush()
    audit.append(
        session,
        kind="user.created",
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


def authenticate(session: Session, token: str) -> User | None:
    """The user holding ``token``, or None."""
    return session.scalar(select(User).where(User.token_sha256 == _token_digest(token)))


def require_role(user: User, allowed: Iterable[Role], action: str) -> None:
    """Refuse ``action`` unless ``user`` has one of the ``allowed`` roles."""
    names = [role.value for role in allowed]
    if user.role not in names:
        raise Forbidden(
            f"You cannot {action}.",
            f"Your account ({user.name}, {user.organisation}) has the role '{user.role}', "
            f"and this needs {' or '.join(repr(n) for n in names)}.",
            "Ask the platform administrator for an account with that role.",
        )


STARTER_ACCOUNTS: tuple[tuple[str, str, Role], ...] = (
    ("Olivia Officer", "Procuring Entity", Role.OFFICER),
    ("Alice Supplier", "Alpha Engineering Ltd", Role.SUPPLIER),
    ("Bob Supplier", "Beta Builders Ltd", Role.SUPPLIER),
    ("Carol Supplier", "Gamma Works Ltd", Role.SUPPLIER),
    ("Aaron Auditor", "Audit Commission", Role.AUDITOR),
)


def create_starter_accounts(session: Session, *, clock: Clock) -> list[tuple[User, str]]:
    """One officer, three suppliers and an auditor, for a platform with no users yet."""
    if session.scalar(select(User.id).limit(1)) is not None:
        return []
    return [
        create_user(session, name=name, organisation=org, role=role, clock=clock)
        for name, org, role in STARTER_ACCOUNTS
    ]


def register_certificate(
    session: Session, *, actor: User, data: bytes, clock: Clock
) -> SigningCertificate:
    """Register a certificate (PEM or DER) as one the actor's organisation signs bids with."""
    require_role(actor, [Role.SUPPLIER], "register signing certificates")
    try:
        info = read_certificate(data)
    except ValueError as exc:
        raise Invalid(
            "The file is not a certificate.",
            str(exc),
            "Export your signing certificate (not the .p12 with its key) as PEM or DER and "
            "upload that.",
        ) from exc
    now = clock.now()
    if info.not_after < now:
        raise Invalid(
            "The certificate has expired.",
            f"It was valid until {format_time(info.not_after)}.",
            "Register the certificate you will sign this bid with.",
        )
    known = session.scalar(
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
    session.add(certificate)
    session.flush()
    audit.append(
        session,
        kind="certificate.registered",
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


def certificates_of(session: Session, organisation: str) -> list[SigningCertificate]:
    query = (
        select(SigningCertificate)
        .where(SigningCertificate.organisation == organisation)
        .order_by(SigningCertificate.registered_at)
    )
    return list(session.scalars(query))


def signer_binding(session: Session, organisation: str) -> SignerBinding:
    """Whose signatures count for ``organisation``: its registered certificates."""
    return SignerBinding(
        organisation=organisation,
        fingerprints=frozenset(c.sha256 for c in certificates_of(session, organisation)),
    )
