"""HTTP API of tenders: thin; the work is in the service."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from tender.accounts.models import User
from tender.platform import Platform
from tender.tenders import service
from tender.tenders.schemas import TenderCreate, TenderOut


class TenderController(Controller):
    path = "/api/tenders"
    tags = ("tenders",)

    @post("/", sync_to_thread=True, summary="Create a draft tender (officers)")
    def create(
        self,
        data: JSONBody[TenderCreate],
        user: NamedDependency[User],
        platform: NamedDependency[Platform],
    ) -> TenderOut:
        with platform.sessions.begin() as session:
            tender = service.create_tender(
                session,
                actor=user,
                data=data,
                clock=platform.clock,
                platform_key=platform.platform_key,
            )
            return TenderOut.of(tender)

    @post(
        "/{tender_id:uuid}/publish",
        status_code=200,
        sync_to_thread=True,
        summary="Publish a tender: it takes bids until the deadline, then opens by itself",
    )
    def publish(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        platform: NamedDependency[Platform],
    ) -> TenderOut:
        with platform.sessions.begin() as session:
            tender = service.publish_tender(
                session, actor=user, tender_id=tender_id, clock=platform.clock
            )
        # After commit: a message for an uncommitted tender would find nothing. If this send is
        # lost, the reconciler opens the tender anyway.
        platform.jobs.schedule_opening(
            tender.id, deadline=tender.deadline, now=platform.clock.now()
        )
        return TenderOut.of(tender)

    @get("/", sync_to_thread=True, summary="List tenders")
    def list_all(
        self, user: NamedDependency[User], platform: NamedDependency[Platform]
    ) -> list[TenderOut]:
        with platform.sessions.begin() as session:
            return [TenderOut.of(t) for t in service.list_tenders(session)]

    @get("/{tender_id:uuid}", sync_to_thread=True, summary="One tender")
    def get_one(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        platform: NamedDependency[Platform],
    ) -> TenderOut:
        with platform.sessions.begin() as session:
            return TenderOut.of(service.get_tender(session, tender_id))
