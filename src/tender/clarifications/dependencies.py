"""What the clarifications controllers are given: the service on the request's session."""

from __future__ import annotations

from litestar.di import NamedDependency
from sqlalchemy.orm import Session

from tender.clarifications.service import ClarificationService
from tender.clock import Clock


def provide_clarification_service(
    db_session: NamedDependency[Session], clock: NamedDependency[Clock]
) -> ClarificationService:
    return ClarificationService(session=db_session, clock=clock)
