"""What every request shares: its unit of work, and how refusals are answered and audited.

The transaction rule (README, "How it is built"): a request's unit of work is one transaction,
opened by the ``db_session`` dependency and committed once after the handler returns, or
rolled back if it raises. Services never commit.

A part the platform needs that cannot be reached (the database, the object store, the broker)
is answered 503 with ``Retry-After`` and a refusal that names the part but never where it is:
the endpoint, port or object key go to the operational log, for the operators.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from http.cookies import CookieError, SimpleCookie
from typing import Any, TypeVar
from uuid import UUID

import anyio.to_thread
from litestar import Request, Response
from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException, TooManyRequestsException, ValidationException
from litestar.types import (
    ASGIApp,
    ExceptionHandler,
    Message,
    Receive,
    ReceiveMessage,
    Scope,
    Send,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from tender.accounts.models import Role, User
from tender.audit import service as audit
from tender.audit.sealed import seal_fields
from tender.clock import ARRIVED_AT, Clock
from tender.errors import (
    BadRequest,
    MethodNotAllowed,
    NotFound,
    Refusal,
    RequestTimeout,
    TooLarge,
    TooManyRequests,
    Unavailable,
)
from tender.i18n import accepted_languages, negotiate, use_locale
from tender.i18n import gettext as _
from tender.jobs import BROKER_UNREACHABLE
from tender.storage.objectstore import ObjectStoreError
from tender.tenders.models import Tender

T = TypeVar("T")
log = logging.getLogger(__name__)


requests_log = logging.getLogger("tender.requests")


def request_log(app: ASGIApp) -> ASGIApp:
    """The access log, without what would say who bid on what before the opening: no client
    address and no ids or file names, only the route's template (``PUT
    /api/tenders/{tender_id}/bids/{file_name} 201 0.412 s``). Replaces uvicorn's,
    which names the address and the whole path."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started, status = time.monotonic(), 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, sending)
        finally:
            requests_log.info(
                "%s %s %s %.3f s",
                scope.get("method"),
                scope.get("path_template") or "(no route)",
                status or "-",
                time.monotonic() - started,
            )

    return middleware


LANGUAGE_COOKIE = "lang"
"""The language a reader chose (the pages' language switch saves it), e.g. ``zh-HK``."""


def reader_locale(scope: Scope) -> str:
    """The language of the request in ``scope``: the one its reader chose (the ``lang``
    cookie), else the best of their Accept-Language header the platform speaks, else English."""
    headers = Headers.from_scope(scope)
    chosen = None
    try:
        morsel = SimpleCookie(headers.get("cookie", "")).get(LANGUAGE_COOKIE)
        chosen = morsel.value if morsel else None
    except CookieError:  # a malformed cookie header: no choice was saved
        pass
    return negotiate(chosen, *accepted_languages(headers.get("accept-language")))


_Raised = TypeVar("_Raised", bound=Exception)


def in_readers_language(
    handler: Callable[[Request[Any, Any, Any], _Raised], Response[Any]],
) -> Callable[[Request[Any, Any, Any], _Raised], Response[Any]]:
    """``handler``, saying its refusal in the reader's language: Litestar answers some
    requests (no such route, a body it cannot read) outside :func:`request_language`."""

    def answer(request: Request[Any, Any, Any], exc: _Raised) -> Response[Any]:
        with use_locale(reader_locale(request.scope)):
            return handler(request, exc)

    return answer


def request_language(app: ASGIApp) -> ASGIApp:
    """Answers each request in its reader's language (:func:`reader_locale`): refusals, pages
    and anything else said during the request use it."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        with use_locale(reader_locale(scope)):
            await app(scope, receive, send)

    return middleware


SMALL_BODY = 64 * 1024
"""Bodies up to this size are read as they arrive, to stamp the request's arrival time."""


def arrival_stamp(clock: Clock, *, idle_seconds: float) -> Callable[[ASGIApp], ASGIApp]:
    """Received means received, for small requests too (a fingerprint): stamps
    ``scope["state"]["arrived_at"]`` with the moment the platform has the request's last byte,
    before it waits for anything (a thread for authentication, the database, the tender's
    lock). A small body is read at once and handed on to the app as it came; an upload (PUT)
    of a file, however small, is timed by the intake as its stream ends. A small body that
    stops arriving for ``idle_seconds`` is refused (408), as a stalled upload is."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            declared = dict(scope["headers"]).get(b"content-length", b"")
            upload = scope["method"] == "PUT"  # files: the intake times them as they stream
            if upload or not declared.isdigit() or int(declared) > SMALL_BODY:
                await app(scope, receive, send)
                return
            received: list[ReceiveMessage] = []
            while not received or received[-1].get("more_body", False):
                try:
                    with anyio.fail_after(idle_seconds):
                        message = await receive()
                except TimeoutError:
                    raise RequestTimeout(
                        _("The request stopped."),
                        _(
                            "No part of it arrived for {idle_seconds:g} seconds, so the platform "
                            "gave up on it; nothing was done."
                        ).format(idle_seconds=idle_seconds),
                        _("Check your connection and send it again."),
                    ) from None
                received.append(message)
                if message["type"] != "http.request":
                    break
            scope.setdefault("state", {})[ARRIVED_AT] = clock.now()

            async def replay() -> ReceiveMessage:
                return received.pop(0) if received else await receive()

            await app(scope, replay, send)

        return middleware

    return wrap


def arrival_of(request: Request[Any, Any, Any]) -> datetime | None:
    """The ``arrived_at`` dependency: when the request's last byte arrived, as
    :func:`arrival_stamp` stamped it (None for a body it leaves to the handler)."""
    arrived: datetime | None = request.scope.get("state", {}).get(ARRIVED_AT)
    return arrived


def unit_of_work(sessions: sessionmaker[Session]) -> Callable[[], AsyncIterator[Session]]:
    """The ``db_session`` dependency: a session whose transaction commits once the handler
    has returned, and rolls back if it raised (the exception then goes on to the handlers)."""

    async def provide_db_session() -> AsyncIterator[Session]:
        session = sessions()
        try:
            yield session
        except BaseException:
            await anyio.to_thread.run_sync(session.rollback)
            raise
        else:
            await anyio.to_thread.run_sync(session.commit)
        finally:
            await anyio.to_thread.run_sync(session.close)

    return provide_db_session


def part(value: T) -> Callable[[], T]:
    """A dependency that gives one of the platform's long-lived parts (clock, store, ...)."""

    def provide() -> T:
        return value

    return provide


MAX_LOGGED_PATH = 200  # characters of a refused request's path kept in a log

DATABASE_UNREACHABLE: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,  # cannot connect, connection lost, database gone or locked
    sa_exc.InterfaceError,  # the driver's connection is closed
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,  # no connection free in the pool
)
UNAVAILABLE: tuple[type[Exception], ...] = (
    *DATABASE_UNREACHABLE,
    ObjectStoreError,
    *BROKER_UNREACHABLE,
)
"""What a part the platform needs raises when it cannot be reached: answered 503."""


def unavailable(exc: Exception, *, tender_id: UUID | None = None) -> Unavailable:
    """The refusal for an unreachable part: which part, never where it is or what it said.
    With ``tender_id``, a supplier's refusal is sealed until that tender's opening."""
    if isinstance(exc, DATABASE_UNREACHABLE):
        why = _("Its database cannot be reached just now, so your request was not completed.")
    elif isinstance(exc, ObjectStoreError):
        why = _("Its sealed storage cannot be reached just now, so your request was not completed.")
    else:
        why = _("Its job queue cannot be reached just now, so your request was not completed.")
    return Unavailable(
        _("The platform cannot carry out your request at the moment."),
        why,
        _(
            "Try again in a minute or two; sending the same request again is safe. If it keeps "
            "failing, tell the platform's operators."
        ),
        tender_id=tender_id,
    )


def _operators_text(exc: Exception) -> str:
    """What failed, for the log: the driver's own words (a DBAPI error's statement and
    parameters are left out; they may hold a token's hash)."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None:
        return f"{type(exc.orig).__name__}: {exc.orig}".strip()
    return f"{type(exc).__name__}: {exc}"


def _route(request: Request[Any, Any, Any]) -> str:
    """The route's template, never the path: a path names tenders and files."""
    return f"{request.method} {request.scope.get('path_template') or '(no route)'}"


def _refusal_payload(request: Request[Any, Any, Any], exc: Refusal) -> dict[str, Any]:
    path = request.url.path
    return {
        "method": request.method,
        "path": path if len(path) <= MAX_LOGGED_PATH else path[:MAX_LOGGED_PATH] + "…",
        "status": exc.status_code,
        "error": exc.kind,
        "message": exc.message,
        **exc.details,
    }


class AnonymousRefusals:
    """The operational log of refusals to callers who are not signed in: at most
    ``per_minute`` lines a minute per client address, then one line counting the rest."""

    def __init__(self, per_minute: int = 10) -> None:
        self.per_minute = per_minute
        self._lock = threading.Lock()
        self._window: dict[str, tuple[float, int]] = {}

    def note(self, request: Request[Any, Any, Any], exc: Refusal) -> None:
        client = request.client.host if request.client else "unknown"
        now = time.monotonic()
        with self._lock:
            started, count = self._window.get(client, (now, 0))
            if now - started >= 60:
                if count > self.per_minute:
                    log.warning(
                        "%d more refusals to %s not logged", count - self.per_minute, client
                    )
                started, count = now, 0
            count += 1
            self._window[client] = (started, count)
            if len(self._window) > MAX_TRACKED_CLIENTS:  # forget the oldest, memory stays bounded
                del self._window[min(self._window, key=lambda c: self._window[c][0])]
        if count <= self.per_minute:
            path = request.url.path[:MAX_LOGGED_PATH]
            log.warning(
                "refused %s %s from %s: %s (%s)", request.method, path, client, exc.kind, exc.what
            )


MAX_TRACKED_CLIENTS = 10_000


def refusal_handlers(
    sessions: sessionmaker[Session], clock: Clock
) -> dict[int | type[Exception], ExceptionHandler[Any]]:
    """Exception handlers that answer a refusal with its explanation and write it to the audit
    trail.

    The change it refused was rolled back with the request's unit of work; the refusal is
    recorded in a transaction of its own (one of the few places with several transactions).
    """
    anonymous_refusals = AnonymousRefusals()

    def answer(refusal: Refusal) -> Response[Any]:
        return Response(
            refusal.to_json(), status_code=refusal.status_code, headers=refusal.headers()
        )

    def refusal_to_response(
        request: Request[Any, Any, Any], exc: Refusal, *, database_up: bool = True
    ) -> Response[Any]:
        caller = request.scope.get("user")
        if not isinstance(caller, User):
            # Nobody signed in: nothing to hold anyone to, and anyone could fill the permanent
            # log with such refusals; they go to the operational log, rate-limited.
            anonymous_refusals.note(request, exc)
            return answer(exc)
        if database_up:
            try:
                audit_refusal(request, caller, exc)
            except DATABASE_UNREACHABLE as failure:
                log.error(
                    "the database failed while auditing a refusal: %s", _operators_text(failure)
                )
                database_up = False
        if not database_up:
            # The refusal stands without the database; the operational log keeps a trace that
            # names neither the caller nor the path (a supplier's refusal on a tender not yet
            # opened is sealed in the audit trail, and this line must not reveal it either).
            log.warning(
                "refusal not audited, the database is unavailable: %s answered %d %s",
                _route(request),
                exc.status_code,
                exc.kind,
            )
        return answer(exc)

    def audit_refusal(request: Request[Any, Any, Any], caller: User, exc: Refusal) -> None:
        with sessions.begin() as session:
            actor, payload = caller.actor, _refusal_payload(request, exc)
            # Locked, so that the opening (which locks it too) reveals this event if it is
            # sealed, or has begun and this one need not be.
            tender = (
                session.get(Tender, exc.tender_id, with_for_update=True) if exc.tender_id else None
            )
            if (
                caller.role == Role.SUPPLIER
                and tender is not None
                and tender.opening_started_at is None
            ):
                # Which supplier was refused what, before the opening, is sealed like a bid
                # (for a tender cancelled before its opening: for good).
                actor, payload = (
                    audit.SEALED_ACTOR,
                    seal_fields(
                        tender.public_key,
                        {**payload, "actor": caller.actor},
                        public={"status": exc.status_code, "error": exc.kind},
                    ).payload,
                )
            audit.append(
                session,
                kind=exc.audit_kind,
                actor=actor,
                at=clock.now(),
                tender_id=exc.tender_id,
                payload=payload,
            )

    @in_readers_language
    def unavailable_to_response(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        """A part that cannot be reached: 503, and the operators are told which and why."""
        log.error("%s: a part is unavailable: %s", _route(request), _operators_text(exc))
        tender_id = request.scope.get("path_params", {}).get("tender_id")
        return refusal_to_response(
            request,
            unavailable(exc, tender_id=tender_id if isinstance(tender_id, UUID) else None),
            database_up=not isinstance(exc, DATABASE_UNREACHABLE),
        )

    @in_readers_language
    def validation_to_response(
        request: Request[Any, Any, Any], exc: ValidationException
    ) -> Response[Any]:
        """A request Litestar could not parse is a refusal too: explained and audited."""
        problems = "; ".join(
            f"{item.get('key', 'body')}: {item.get('message', '')}"
            for item in (exc.extra if isinstance(exc.extra, list) else [])
            if isinstance(item, dict)
        )
        refusal = BadRequest(
            _("The request could not be read."),
            _("It does not match what this address takes: {detail}.").format(
                detail=f"{exc.detail}: {problems}" if problems else exc.detail
            ),
            _("Correct the request as the API description at /schema says, and send it again."),
        )
        return refusal_to_response(request, refusal)

    @in_readers_language
    def too_many_to_response(
        request: Request[Any, Any, Any], exc: TooManyRequestsException
    ) -> Response[Any]:
        refusal = TooManyRequests(
            _("Too many requests came from your address."),
            _(
                "The platform limits how often one address may call it, so that nobody can "
                "crowd others out."
            ),
            _("Wait a minute and try again."),
        )
        response = refusal_to_response(request, refusal)
        headers = dict(exc.headers or {})
        response.headers.update(headers)
        # The draft RateLimit headers say when the window resets; Retry-After says it to all.
        reset = next((v for k, v in headers.items() if k.lower() == "ratelimit-reset"), "60")
        response.headers["Retry-After"] = reset
        return response

    @in_readers_language
    def http_to_response(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
        """Litestar's own refusals (no such route, method, too large a body) are refusals
        like ours: explained, and audited when the caller is signed in."""
        refusal: Refusal
        if exc.status_code == 404:
            refusal = NotFound(
                _("There is nothing at this address."),
                _("No route answers {method} {path}.").format(
                    method=request.method, path=request.url.path[:MAX_LOGGED_PATH]
                ),
                _("Check the address against the API description at /schema."),
            )
        elif exc.status_code == 405:
            refusal = MethodNotAllowed(
                _("This address does not take {method}.").format(method=request.method),
                _("Each address takes only the methods the API description lists for it."),
                _("Check the method against the API description at /schema."),
            )
        elif exc.status_code == 413:
            refusal = TooLarge(
                _("The request is too large."),
                _("Its body is larger than this address accepts."),
                _("Send less; a bid file goes to PUT /api/tenders/{id}/bids/{name}."),
            )
        else:
            refusal = BadRequest(
                _("The request could not be handled."),
                _("It was not sent in a form this address takes: {detail}.").format(
                    detail=exc.detail
                ),
                _("Correct it as the API description at /schema says, and send it again."),
            )
        return refusal_to_response(request, refusal)

    return {
        Refusal: refusal_to_response,
        ValidationException: validation_to_response,
        TooManyRequestsException: too_many_to_response,
        HTTPException: http_to_response,
        **dict.fromkeys(UNAVAILABLE, unavailable_to_response),
    }
