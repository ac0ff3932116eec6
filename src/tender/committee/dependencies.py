"""What the committee controllers are given: the committee service on the request's session."""

from __future__ import annotations

from litestar.di import NamedDependency
from sqlalchemy.orm import Session

from tender.clock import Clock
from tender.committee.service import CommitteeService
from tender.jobs import Jobs
from tender.storage.sealing import KeyWrapper


def provide_committee_service(
    db_session: NamedDependency[Session],
    clock: NamedDependency[Clock],
    platform_key: NamedDependency[KeyWrapper],
    jobs: NamedDependency[Jobs],
) -> CommitteeService:
    return CommitteeService(session=db_session, clock=clock, platform_key=platform_key, jobs=jobs)
