"""What the tenders controllers are given: the tender service on the request's session."""

from __future__ import annotations

from datetime import timedelta

from litestar.di import NamedDependency
from sqlalchemy.orm import Session

from tender.clock import Clock
from tender.config import Settings
from tender.jobs import Jobs
from tender.storage.sealing import PlatformKey
from tender.tenders.service import TenderService


def provide_tender_service(
    db_session: NamedDependency[Session],
    clock: NamedDependency[Clock],
    platform_key: NamedDependency[PlatformKey],
    jobs: NamedDependency[Jobs],
    settings: NamedDependency[Settings],
) -> TenderService:
    return TenderService(
        session=db_session,
        clock=clock,
        platform_key=platform_key,
        jobs=jobs,
        deadline_horizon=timedelta(days=settings.deadline_horizon_days),
    )
