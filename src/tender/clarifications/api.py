"""HTTP API of clarifications: thin; the work is in the service."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from tender.accounts.guards import EVERY_ROLE, allow
from tender.accounts.models import Role, User
from tender.clarifications.dependencies import provide_clarification_service
from tender.clarifications.schemas import AnswerIn, ClarificationOut, QuestionIn
from tender.clarifications.service import ClarificationService
from tender.i18n import gettext_noop as N_  # noqa: N812 (the name extractors look for)


class ClarificationController(Controller):
    path = "/api/tenders/{tender_id:uuid}/clarifications"
    tags = ("clarifications",)
    dependencies = {"clarifications": Provide(provide_clarification_service, sync_to_thread=False)}

    @post(
        "/",
        guards=allow(Role.SUPPLIER, to=N_("ask clarification questions")),
        status_code=201,
        sync_to_thread=True,
        summary="Ask the buying organisation a question, privately (suppliers)",
        description="Refused with 409 once the deadline has passed.",
    )
    def ask(
        self,
        tender_id: FromPath[uuid.UUID],
        data: JSONBody[QuestionIn],
        user: NamedDependency[User],
        clarifications: NamedDependency[ClarificationService],
    ) -> ClarificationOut:
        return clarifications.ask(supplier=user, tender_id=tender_id, question=data.question)

    @post(
        "/{clarification_id:uuid}/answer",
        guards=allow(Role.OFFICER, to=N_("answer clarification questions")),
        status_code=200,
        sync_to_thread=True,
        summary="Answer a question (the buying officers): published to all, without the asker",
    )
    def answer(
        self,
        tender_id: FromPath[uuid.UUID],
        clarification_id: FromPath[uuid.UUID],
        data: JSONBody[AnswerIn],
        user: NamedDependency[User],
        clarifications: NamedDependency[ClarificationService],
    ) -> ClarificationOut:
        return clarifications.answer(
            officer=user, tender_id=tender_id, clarification_id=clarification_id, answer=data.answer
        )

    @get(
        "/",
        guards=allow(*EVERY_ROLE, to=N_("read clarifications")),
        sync_to_thread=True,
        summary="Answered questions; your own unanswered ones; all of them for the buying officers",
    )
    def list_all(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        clarifications: NamedDependency[ClarificationService],
    ) -> list[ClarificationOut]:
        return clarifications.listing(viewer=user, tender_id=tender_id)
