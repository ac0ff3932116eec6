"""What the open-data controller is given: the service on the request's session."""

from __future__ import annotations

from litestar.di import NamedDependency
from sqlalchemy.orm import Session

from tender.clock import Clock
from tender.config import Settings
from tender.opendata.service import OpenDataService


def provide_open_data(
    db_session: NamedDependency[Session],
    clock: NamedDependency[Clock],
    settings: NamedDependency[Settings],
) -> OpenDataService:
    return OpenDataService(
        session=db_session,
        prefix=settings.ocds_prefix,
        publisher=settings.ocds_publisher,
        now=clock.now(),
    )
