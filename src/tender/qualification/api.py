"""HTTP API of a two-envelope tender's qualification and financial opening: thin; the work
is in the service."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from tender.accounts.guards import allow
from tender.accounts.models import Role, User
from tender.i18n import gettext_noop as N_  # noqa: N812 (the name extractors look for)
from tender.qualification.dependencies import provide_qualification_service
from tender.qualification.schemas import (
    FinancialOpeningOut,
    Qualification,
    VerdictIn,
    VerdictOut,
)
from tender.qualification.service import QualificationService

_DEPENDENCIES = {"qualification": Provide(provide_qualification_service, sync_to_thread=False)}


class QualificationController(Controller):
    path = "/api/tenders/{tender_id:uuid}"
    tags = ("qualification",)
    dependencies = _DEPENDENCIES

    @get(
        "/qualification",
        guards=allow(Role.OFFICER, Role.AUDITOR, to=N_("read qualification verdicts")),
        sync_to_thread=True,
        summary="A two-envelope tender's opened bids and the verdict on each so far",
    )
    def standings(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        qualification: NamedDependency[QualificationService],
    ) -> Qualification:
        return qualification.standings(viewer=user, tender_id=tender_id)

    @post(
        "/qualification",
        guards=allow(Role.OFFICER, to=N_("qualify bids"), second_factor=True),
        status_code=201,
        sync_to_thread=True,
        summary="Record (or correct) a bid's verdict: qualified or not, with a reason "
        "(officers of the tender's organisation; until the financial opening is requested)",
    )
    def record(
        self,
        tender_id: FromPath[uuid.UUID],
        data: JSONBody[VerdictIn],
        user: NamedDependency[User],
        qualification: NamedDependency[QualificationService],
    ) -> VerdictOut:
        row = qualification.record(
            actor=user,
            tender_id=tender_id,
            supplier_id=data.supplier_id,
            qualified=data.qualified,
            reason=data.reason,
        )
        return VerdictOut(
            supplier_id=row.supplier_id,
            qualified=row.qualified,
            reason=row.reason,
            decided_at=row.decided_at,
            audit_seq=row.audit_seq,
        )

    @post(
        "/financial-opening",
        guards=allow(Role.OFFICER, to=N_("open financial envelopes"), second_factor=True),
        status_code=201,
        sync_to_thread=True,
        summary="Ask for the qualified bids' financial envelopes to be opened (refused until "
        "every opened bid has a verdict; the verdicts are then final)",
    )
    def request_financial_opening(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        qualification: NamedDependency[QualificationService],
    ) -> FinancialOpeningOut:
        opening = qualification.request_financial_opening(actor=user, tender_id=tender_id)
        return FinancialOpeningOut(
            tender_id=opening.tender_id,
            requested_at=opening.requested_at,
            finished_at=opening.finished_at,
            explanation="Requested: the financial envelopes of the qualified bids open by "
            "themselves (for a committee tender, once a quorum of its members has released "
            "their shares of the financial key); the others are never decrypted.",
        )
