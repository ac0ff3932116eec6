"""Minimal identity: one bearer token per user. Organisations and roles deepen later."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from tender.accounts.models import Role, User
from tender.clock import Clock
from tender.errors import Forbidden


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session, *, name: str, organisation: str, role: Role, clock: Clock
) -> tuple[User, str]:
    """Add a user and return it with its bearer token (shown once, stored only as a hash)."""
    token = secrets.token_urlsafe(32)
    user = User(
        name=name,
        organisation=organisation,
        role=role.value,
        token_sha256=_token_digest(token),
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
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
