"""Who is calling: an API token (``Authorization: Bearer``) or a browser session cookie,
checked before any guard or handler runs.

Middleware rather than a dependency, because Litestar's guards run before dependencies are
resolved and need the caller. It reads the caller in a short transaction of its own, before
the request's unit of work begins (one of the few places with a transaction of its own; see
README, "How it is built"); it also notes when a token was last used.

A request signed in by cookie that would change something (any method but GET, HEAD and
OPTIONS) must carry the session's CSRF token in the ``X-CSRF-Token`` header, or in the
``csrf_token`` field of a page's form: another site can make a browser send the cookie, but
cannot read the token. Token calls need no such check
(a browser never adds the header by itself).
"""

from __future__ import annotations

import secrets
from contextvars import ContextVar
from typing import Any, Final

import anyio.to_thread
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy.orm import Session, sessionmaker

from tender.accounts.guards import PUBLIC_KEY
from tender.accounts.signin import Caller, authenticate_cookie, authenticate_token
from tender.clock import Clock
from tender.errors import Forbidden, NotAuthenticated
from tender.i18n import gettext as _

SESSION_COOKIE: Final = "tender_session"
CSRF_HEADER: Final = "x-csrf-token"
CSRF_FIELD: Final = "csrf_token"
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})

_receive: ContextVar[Receive] = ContextVar("receive")


class CallerAuthentication(AbstractAuthenticationMiddleware):
    """Sets ``request.user`` (the :class:`~tender.accounts.models.User`) and ``request.auth``
    (the :class:`~tender.accounts.signin.Caller`); routes whose ``opt`` is
    :data:`~tender.accounts.guards.PUBLIC`, and ``exclude`` paths, skip it."""

    def __init__(
        self, app: ASGIApp, *, sessions: sessionmaker[Session], clock: Clock, exclude: list[str]
    ) -> None:
        super().__init__(app, exclude=exclude, exclude_from_auth_key=PUBLIC_KEY)
        self.sessions = sessions
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Litestar hands authenticate_request a connection that cannot read the body; a
        # page's form carries its CSRF token there, so the real receive is kept for it.
        token = _receive.set(receive)
        try:
            await super().__call__(scope, receive, send)
        finally:
            _receive.reset(token)

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        scheme, _space, token = connection.headers.get("authorization", "").partition(" ")
        cookie = connection.cookies.get(SESSION_COOKIE, "")
        if scheme.lower() == "bearer" and token.strip():
            caller = await anyio.to_thread.run_sync(self._by_token, token.strip())
        elif cookie:
            caller = await anyio.to_thread.run_sync(self._by_cookie, cookie)
            if connection.scope.get("method") not in SAFE_METHODS and not (
                caller.csrf_token
                and secrets.compare_digest(await _csrf_token_sent(connection), caller.csrf_token)
            ):
                raise Forbidden(
                    _("This request did not come from the platform's own pages."),
                    _(
                        "A request signed in by cookie that changes something must carry the "
                        "session's CSRF token, so another site cannot make your browser send it."
                    ),
                    _("Send the csrf_token you were given at sign-in in the X-CSRF-Token header."),
                )
        else:
            raise NotAuthenticated(
                _("You are not signed in."),
                _("This request needs an API token or a browser session."),
                _(
                    "Send the header 'Authorization: Bearer <your token>', or sign in "
                    "(POST /api/session)."
                ),
            )
        return AuthenticationResult(user=caller.user, auth=caller)

    def _by_token(self, token: str) -> Caller:
        with self.sessions.begin() as session:
            return authenticate_token(session, token, now=self.clock.now())

    def _by_cookie(self, cookie: str) -> Caller:
        with self.sessions.begin() as session:
            return authenticate_cookie(session, cookie, now=self.clock.now())


async def _csrf_token_sent(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The CSRF token a request carries: in the header (scripts, API clients), or as the
    ``csrf_token`` field of a page's form (a plain HTML form cannot set headers). The form is
    read once and kept in the request's state, where the handler reads it again."""
    sent = connection.headers.get(CSRF_HEADER, "")
    if sent:
        return sent
    request: Request[Any, Any, Any] = Request(connection.scope, _receive.get())
    encoding = request.content_type[0]
    # A page's file upload posts its form as multipart; it is read here only on a route that
    # bounds its body (a small file, such as a signature), never on one that takes any size.
    bounded = request.route_handler.resolve_request_max_body_size() is not None
    if not (
        encoding == RequestEncodingType.URL_ENCODED
        or (encoding == RequestEncodingType.MULTI_PART and bounded)
    ):
        return ""
    field = (await request.form()).get(CSRF_FIELD, "")
    return field if isinstance(field, str) else ""
