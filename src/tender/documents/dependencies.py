"""What the documents controllers are given: services on the request's session, and the
intake, which owns its short transactions because an upload streams for minutes."""

from __future__ import annotations

from datetime import timedelta

from litestar.di import NamedDependency
from sqlalchemy.orm import Session, sessionmaker

from tender.clock import Clock
from tender.config import Settings
from tender.documents.addenda import AddendumService
from tender.documents.service import DocumentIntake, DocumentService
from tender.jobs import Jobs
from tender.storage.objectstore import ObjectStore


def provide_document_service(
    db_session: NamedDependency[Session],
    clock: NamedDependency[Clock],
    store: NamedDependency[ObjectStore],
    settings: NamedDependency[Settings],
) -> DocumentService:
    return DocumentService(session=db_session, clock=clock, store=store, bucket=settings.bucket)


def provide_document_intake(
    sessions: NamedDependency[sessionmaker[Session]],
    clock: NamedDependency[Clock],
    store: NamedDependency[ObjectStore],
    settings: NamedDependency[Settings],
) -> DocumentIntake:
    return DocumentIntake(
        sessions=sessions,
        store=store,
        bucket=settings.bucket,
        clock=clock,
        retention=timedelta(days=settings.retention_days),
        # Tender documents are bounded like bid files (TENDER_MAX_BID_BYTES).
        max_bytes=settings.max_bid_bytes,
    )


def provide_addendum_service(
    db_session: NamedDependency[Session],
    clock: NamedDependency[Clock],
    jobs: NamedDependency[Jobs],
    settings: NamedDependency[Settings],
) -> AddendumService:
    return AddendumService(
        session=db_session,
        clock=clock,
        jobs=jobs,
        deadline_horizon=timedelta(days=settings.deadline_horizon_days),
    )
