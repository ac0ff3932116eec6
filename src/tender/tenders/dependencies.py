"""What the tenders controllers are given: the tender service on the request's session."""

from __future__ import annotations

from datetime import timedelta

from litestar.di import NamedDependency
from sqlalchemy.orm import Session

from tender.clock import Clock
from tender.config import Settings
from tender.jobs import Jobs
from tender.storage.sealing import KeyWrapper
from tender.tenders.service import FormsCommittee, TakingPart, TenderService


def provide_tender_service(
    db_session: NamedDependency[Session],
    clock: NamedDependency[Clock],
    platform_key: NamedDependency[KeyWrapper],
    jobs: NamedDependency[Jobs],
    settings: NamedDependency[Settings],
    taking_part: NamedDependency[TakingPart],
    form_committee: NamedDependency[FormsCommittee],
) -> TenderService:
    return TenderService(
        session=db_session,
        clock=clock,
        platform_key=platform_key,
        jobs=jobs,
        taking_part=taking_part,
        form_committee=form_committee,
        deadline_horizon=timedelta(days=settings.deadline_horizon_days),
    )
