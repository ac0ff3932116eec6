"""What the opening controllers are given: the reads-after-opening service."""

from __future__ import annotations

from litestar.di import NamedDependency
from sqlalchemy.orm import Session

from tender.clock import Clock
from tender.config import Settings
from tender.opening.service import OpeningService
from tender.storage.objectstore import ObjectStore
from tender.storage.sealing import KeyWrapper


def provide_opening_service(
    db_session: NamedDependency[Session],
    clock: NamedDependency[Clock],
    store: NamedDependency[ObjectStore],
    settings: NamedDependency[Settings],
    platform_key: NamedDependency[KeyWrapper],
) -> OpeningService:
    return OpeningService(
        session=db_session,
        clock=clock,
        store=store,
        bucket=settings.bucket,
        platform_key=platform_key,
    )
