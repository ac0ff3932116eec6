"""What the accounts controllers are given: the signed-in caller and the account service."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from sqlalchemy.orm import Session

from tender.accounts.models import User
from tender.accounts.service import AccountService
from tender.clock import Clock


def provide_user(request: Request[User, Any, Any]) -> User:
    """The caller, as the authentication middleware found them."""
    return request.user


def provide_account_service(
    db_session: NamedDependency[Session], clock: NamedDependency[Clock]
) -> AccountService:
    return AccountService(session=db_session, clock=clock)
