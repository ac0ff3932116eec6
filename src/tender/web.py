"""What every request shares: its unit of work, and how refusals are answered and audited.

The transaction rule (README, "How it is built"): a request's unit of work is one transaction,
opened by the ``db_session`` dependency and committed once after the handler returns, or
rolled back if it raises. Services never commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import anyio.to_thread
from litestar import Request, Response
from litestar.exceptions import ValidationException
from litestar.types import ExceptionHandler
from sqlalchemy.orm import Session, sessionmaker

from tender.accounts.models import User
from tender.audit import service as audit
from tender.clock import Clock
from tender.errors import BadRequest, Refusal

ANONYMOUS = "anonymous"
T = TypeVar("T")


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


def refusal_handlers(
    sessions: sessionmaker[Session], clock: Clock
) -> dict[int | type[Exception], ExceptionHandler[Any]]:
    """Exception handlers that answer a refusal with its explanation and write it to the audit
    trail.

    The change it refused was rolled back with the request's unit of work; the refusal is
    recorded in a transaction of its own (one of the few places with several transactions).
    """

    def refusal_to_response(request: Request[Any, Any, Any], exc: Refusal) -> Response[Any]:
        caller = request.scope.get("user")
        with sessions.begin() as session:
            audit.append(
                session,
                kind=exc.audit_kind,
                actor=caller.actor if isinstance(caller, User) else ANONYMOUS,
                at=clock.now(),
                tender_id=exc.tender_id,
                payload={
                    "method": request.method,
                    "path": request.url.path,
                    "status": exc.status_code,
                    "error": exc.kind,
                    "message": exc.message,
                    **exc.details,
                },
            )
        return Response(exc.to_json(), status_code=exc.status_code)

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
            "The request could not be read.",
            f"{exc.detail}{': ' + problems if problems else ''}.",
            "Correct the request as the API description at /schema says, and send it again.",
        )
        return refusal_to_response(request, refusal)

    return {
        Refusal: refusal_to_response,
        ValidationException: validation_to_response,
    }
