"""HTTP API of awards: thin; the work is in the service."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from tender.accounts.guards import allow
from tender.accounts.models import Role, User
from tender.awards.dependencies import provide_award_service
from tender.awards.schemas import AwardCreate, AwardOut
from tender.awards.service import AwardService
from tender.i18n import gettext_noop as N_  # noqa: N812 (the name extractors look for)


class AwardController(Controller):
    path = "/api/tenders/{tender_id:uuid}/award"
    tags = ("awards",)
    dependencies = {"awards": Provide(provide_award_service, sync_to_thread=False)}

    @post(
        "/",
        guards=allow(Role.OFFICER, to=N_("award tenders"), second_factor=True),
        status_code=201,
        sync_to_thread=True,
        summary="Award an opened tender: winners, value, currency, reasons (officers of its "
        "organisation; final)",
    )
    def award(
        self,
        tender_id: FromPath[uuid.UUID],
        data: JSONBody[AwardCreate],
        user: NamedDependency[User],
        awards: NamedDependency[AwardService],
    ) -> AwardOut:
        return awards.award(actor=user, tender_id=tender_id, data=data)

    @get(
        "/",
        guards=allow(Role.OFFICER, Role.AUDITOR, Role.SUPPLIER, to=N_("read awards")),
        sync_to_thread=True,
        summary="The award and the opening's verdicts: in full for officers and auditors; for "
        "the tender's suppliers, their own in full and the others' organisation and verdict",
    )
    def outcome(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        awards: NamedDependency[AwardService],
    ) -> AwardOut:
        return awards.outcome(viewer=user, tender_id=tender_id)
