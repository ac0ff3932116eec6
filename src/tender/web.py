"""What every feature's controllers share: who is calling, the platform, and refusals."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Request, Response
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException

from tender.accounts.models import User
from tender.accounts.service import authenticate
from tender.audit import service as audit
from tender.errors import BadRequest, NotAuthenticated, Refusal
from tender.platform import Platform

ANONYMOUS = "anonymous"


def provide_platform(state: State) -> Platform:
    platform: Platform = state.platform
    return platform


async def provide_user(
    request: Request[Any, Any, Any], platform: NamedDependency[Platform]
) -> User:
    """The caller, from ``Authorization: Bearer <token>``."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated(
            "You are not signed in.",
            "This request needs a bearer token.",
            "Send the header 'Authorization: Bearer <your token>'.",
        )

    def lookup() -> User | None:
        with platform.sessions.begin() as session:
            return authenticate(session, token.strip())

    user = await anyio.to_thread.run_sync(lookup)
    if user is None:
        raise NotAuthenticated(
            "Your token was not recognised.",
            "It is mistyped, or the account was removed.",
            "Check the token, or ask the platform administrator for a new one.",
        )
    request.state.actor = user.actor
    return user


def refusal_to_response(request: Request[Any, Any, Any], exc: Refusal) -> Response[Any]:
    """Answer a refusal with its explanation, and write it to the audit trail.

    The change it refused was rolled back; the refusal is recorded in a transaction of its own.
    """
    platform: Platform = request.app.state.platform
    with platform.sessions.begin() as session:
        audit.append(
            session,
            kind=exc.audit_kind,
            actor=request.state.get("actor", ANONYMOUS),
            at=platform.clock.now(),
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
