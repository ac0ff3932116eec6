"""Who is calling: the bearer token, checked before any guard or handler runs.

Middleware rather than a dependency, because Litestar's guards run before dependencies are
resolved and need the caller. It reads the user in a short read transaction of its own, before
the request's unit of work begins (one of the few places with a transaction of its own; see
README, "How it is built").
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp
from sqlalchemy.orm import Session, sessionmaker

from tender.accounts.guards import PUBLIC_KEY
from tender.accounts.models import User
from tender.accounts.service import authenticate
from tender.errors import NotAuthenticated


class BearerTokenAuthentication(AbstractAuthenticationMiddleware):
    """Sets ``request.user`` from ``Authorization: Bearer <token>``; routes whose ``opt`` is
    :data:`~tender.accounts.guards.PUBLIC`, and ``exclude`` paths, skip it."""

    def __init__(
        self, app: ASGIApp, *, sessions: sessionmaker[Session], exclude: list[str]
    ) -> None:
        super().__init__(app, exclude=exclude, exclude_from_auth_key=PUBLIC_KEY)
        self.sessions = sessions

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        scheme, _, token = connection.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated(
                "You are not signed in.",
                "This request needs a bearer token.",
                "Send the header 'Authorization: Bearer <your token>'.",
            )
        user = await anyio.to_thread.run_sync(self._lookup, token.strip())
        if user is None:
            raise NotAuthenticated(
                "Your token was not recognised.",
                "It is mistyped, or the account was removed.",
                "Check the token, or ask the platform administrator for a new one.",
            )
        return AuthenticationResult(user=user, auth=None)

    def _lookup(self, token: str) -> User | None:
        with self.sessions.begin() as session:
            return authenticate(session, token)
