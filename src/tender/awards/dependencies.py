"""What the awards controllers are given: the award service on the request's session."""

from __future__ import annotations

from litestar.di import NamedDependency
from sqlalchemy.orm import Session

from tender.awards.service import AwardService
from tender.clock import Clock


def provide_award_service(
    db_session: NamedDependency[Session], clock: NamedDependency[Clock]
) -> AwardService:
    return AwardService(session=db_session, clock=clock)
