"""What the audit controllers are given: the trail service on the request's session.

Exports use the platform's :class:`~tender.auditors.export.BundleExporter` (the ``exporter``
dependency), which reads in short transactions of its own.
"""

from __future__ import annotations

from litestar.di import NamedDependency
from sqlalchemy.orm import Session

from tender.auditors.service import TrailService


def provide_trail_service(db_session: NamedDependency[Session]) -> TrailService:
    return TrailService(session=db_session)
