"""What the accounts controllers are given: the signed-in caller and the account service."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from sqlalchemy.orm import Session

from tender.accounts.models import User
from tender.accounts.registration import RegistrationService
from tender.accounts.service import AccountService, CertificateService
from tender.accounts.signin import Caller, SignInService
from tender.clock import Clock
from tender.config import Settings
from tender.signing import TrustStore


def provide_user(request: Request[User, Any, Any]) -> User:
    """The caller, as the authentication middleware found them."""
    return request.user


def provide_caller(request: Request[User, Caller, Any]) -> Caller:
    """The caller and how they proved who they are (the authentication middleware's)."""
    return request.auth


def provide_sign_in_service(
    db_session: NamedDependency[Session],
    clock: NamedDependency[Clock],
    settings: NamedDependency[Settings],
) -> SignInService:
    return SignInService(
        session=db_session, clock=clock, session_lifetime=timedelta(hours=settings.session_hours)
    )


def provide_registration_service(
    db_session: NamedDependency[Session],
    clock: NamedDependency[Clock],
    settings: NamedDependency[Settings],
) -> RegistrationService:
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    return RegistrationService(
        session=db_session,
        clock=clock,
        open_registration=settings.open_registration,
        # The supplier's pages serve it (tender.pages.supplier): its button confirms the token.
        confirm_url=f"{base.rstrip('/')}/confirm-email",
    )


def provide_account_service(
    db_session: NamedDependency[Session], clock: NamedDependency[Clock]
) -> AccountService:
    return AccountService(session=db_session, clock=clock)


def provide_certificate_service(
    db_session: NamedDependency[Session],
    clock: NamedDependency[Clock],
    trust: NamedDependency[TrustStore],
    settings: NamedDependency[Settings],
) -> CertificateService:
    return CertificateService(
        session=db_session, clock=clock, trust=trust, platform_name=settings.log_origin
    )
