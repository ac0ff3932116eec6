"""Refusals: errors meant for people.

Each says what happened, why, and what to do. The web layer turns them into HTTP answers and
writes each one to the audit trail (a refusal is audited even though the change it refused
is rolled back).
"""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from tender.verifier.kinds import EventKind


class Refusal(Exception):  # noqa: N818 - a refusal is not an error of ours; the name says so
    """A request the platform will not carry out."""

    status_code: ClassVar[int] = 400
    kind: ClassVar[str] = "refused"

    def __init__(
        self,
        what: str,
        why: str,
        todo: str,
        *,
        tender_id: UUID | None = None,
        details: dict[str, Any] | None = None,
        audit_kind: EventKind = EventKind.REQUEST_REFUSED,
    ) -> None:
        self.what = what
        self.why = why
        self.todo = todo
        self.tender_id = tender_id
        self.details = details or {}
        self.audit_kind = audit_kind
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return f"{self.what} {self.why} {self.todo}"

    def headers(self) -> dict[str, str]:
        """HTTP headers the answer carries besides the body (none unless a kind says so)."""
        return {}

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "error": self.kind,
            "message": self.message,
            "what": self.what,
            "why": self.why,
            "what_to_do": self.todo,
        }
        if self.details:
            body["details"] = self.details
        return body


class NotAuthenticated(Refusal):
    status_code = 401
    kind = "not_authenticated"


class Forbidden(Refusal):
    status_code = 403
    kind = "forbidden"


class NotFound(Refusal):
    status_code = 404
    kind = "not_found"


class MethodNotAllowed(Refusal):
    status_code = 405
    kind = "method_not_allowed"


class TooLarge(Refusal):
    status_code = 413
    kind = "too_large"


class RequestTimeout(Refusal):
    """The request's body stopped arriving. The rest of it may still come, so the connection
    is closed rather than read for a next request."""

    status_code = 408
    kind = "request_timeout"

    def headers(self) -> dict[str, str]:
        return {"Connection": "close"}


class Conflict(Refusal):
    status_code = 409
    kind = "conflict"


class TenderClosed(Conflict):
    kind = "tender_closed"


class BadRequest(Refusal):
    status_code = 400
    kind = "bad_request"


class Invalid(Refusal):
    status_code = 422
    kind = "invalid"


class TooManyRequests(Refusal):
    status_code = 429
    kind = "too_many_requests"


class Unavailable(Refusal):
    """A part the platform needs is down; nothing was changed, and trying again is safe."""

    status_code = 503
    kind = "unavailable"
    retry_after_seconds: ClassVar[int] = 30  # an outage is rarely over sooner

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}
