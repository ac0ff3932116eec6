"""HTTP API of tenders: thin; the work is in the service."""

from __future__ import annotations

import uuid

from litestar import Controller, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody

from tender.accounts.guards import EVERY_ROLE, PUBLIC, allow
from tender.accounts.models import Role, User
from tender.i18n import gettext_noop as N_  # noqa: N812 (the name extractors look for)
from tender.tenders.dependencies import provide_tender_service
from tender.tenders.schemas import (
    Cancellation,
    TenderCreate,
    TenderEdit,
    TenderOut,
    TenderPublicKey,
)
from tender.tenders.service import TenderService
from tender.verifier.ledger import TECHNICAL


class TenderController(Controller):
    path = "/api/tenders"
    tags = ("tenders",)
    dependencies = {"tenders": Provide(provide_tender_service, sync_to_thread=False)}

    @post(
        "/",
        guards=allow(Role.OFFICER, to=N_("create tenders")),
        sync_to_thread=True,
        summary="Create a draft tender (officers)",
    )
    def create(
        self,
        data: JSONBody[TenderCreate],
        user: NamedDependency[User],
        tenders: NamedDependency[TenderService],
    ) -> TenderOut:
        return TenderOut.of(tenders.create(actor=user, data=data), now=tenders.clock.now())

    @post(
        "/{tender_id:uuid}/publish",
        guards=allow(Role.OFFICER, to=N_("publish tenders"), second_factor=True),
        status_code=200,
        sync_to_thread=True,
        summary="Publish a tender: it takes bids until the deadline, then opens by itself",
    )
    def publish(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        tenders: NamedDependency[TenderService],
    ) -> TenderOut:
        return TenderOut.of(
            tenders.publish(actor=user, tender_id=tender_id), now=tenders.clock.now()
        )

    @get(
        "/",
        guards=allow(*EVERY_ROLE, to=N_("list tenders")),
        sync_to_thread=True,
        summary="List tenders",
    )
    def list_all(
        self, user: NamedDependency[User], tenders: NamedDependency[TenderService]
    ) -> list[TenderOut]:
        now = tenders.clock.now()
        return [TenderOut.of(t, now=now) for t in tenders.list(viewer=user)]

    @get(
        "/{tender_id:uuid}",
        guards=allow(*EVERY_ROLE, to=N_("read tenders")),
        sync_to_thread=True,
        summary="One tender",
    )
    def get_one(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        tenders: NamedDependency[TenderService],
    ) -> TenderOut:
        return TenderOut.of(tenders.get(tender_id, viewer=user), now=tenders.clock.now())

    @get(
        "/{tender_id:uuid}/public-key",
        opt=PUBLIC,
        sync_to_thread=True,
        summary="The public key a published tender's bids are sealed to (anyone)",
        description=(
            "The key in base64 (the tender.created audit event names it in hex), its SHA-256 "
            "fingerprint and its kind: what `tender submit --seal` seals a bid to on the "
            "supplier's machine. A two-envelope tender's financial files are sealed to its "
            "financial key: ?envelope=financial. Drafts are not shown."
        ),
    )
    def public_key(
        self,
        tender_id: FromPath[uuid.UUID],
        tenders: NamedDependency[TenderService],
        envelope: FromQuery[str | None] = None,
    ) -> TenderPublicKey:
        tender, key = tenders.sealing_key(tender_id, envelope)
        return TenderPublicKey.of(tender, key, envelope or TECHNICAL)

    @patch(
        "/{tender_id:uuid}",
        guards=allow(Role.OFFICER, to=N_("edit tenders")),
        sync_to_thread=True,
        summary="Edit a draft tender (officers of its organisation); published ones change by "
        "addenda",
    )
    def edit(
        self,
        tender_id: FromPath[uuid.UUID],
        data: JSONBody[TenderEdit],
        user: NamedDependency[User],
        tenders: NamedDependency[TenderService],
    ) -> TenderOut:
        edited = tenders.edit(actor=user, tender_id=tender_id, data=data)
        return TenderOut.of(edited, now=tenders.clock.now())

    @post(
        "/{tender_id:uuid}/cancellation",
        guards=allow(Role.OFFICER, to=N_("cancel tenders"), second_factor=True),
        status_code=200,
        sync_to_thread=True,
        summary="Cancel a tender, with a reason, at any point before the award (officers of "
        "its organisation); its bids are never opened",
    )
    def cancel(
        self,
        tender_id: FromPath[uuid.UUID],
        data: JSONBody[Cancellation],
        user: NamedDependency[User],
        tenders: NamedDependency[TenderService],
    ) -> TenderOut:
        cancelled = tenders.cancel(actor=user, tender_id=tender_id, reason=data.reason)
        return TenderOut.of(cancelled, now=tenders.clock.now())
