"""What the qualification controllers are given: the service on the request's session."""

from __future__ import annotations

from litestar.di import NamedDependency
from sqlalchemy.orm import Session

from tender.clock import Clock
from tender.jobs import Jobs
from tender.qualification.service import QualificationService


def provide_qualification_service(
    db_session: NamedDependency[Session],
    clock: NamedDependency[Clock],
    jobs: NamedDependency[Jobs],
) -> QualificationService:
    return QualificationService(session=db_session, clock=clock, jobs=jobs)
