"""HTTP API of the opening record."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Stream

from tender.accounts.models import Role, User
from tender.accounts.service import require_role
from tender.platform import Platform


class OpeningController(Controller):
    path = "/api/tenders/{tender_id:uuid}/opening"
    tags = ("opening",)

    @get("/", sync_to_thread=True, summary="The opening record (officers and auditors)")
    def record(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        platform: NamedDependency[Platform],
    ) -> dict[str, Any]:
        require_role(user, [Role.OFFICER, Role.AUDITOR], "read opening records")
        with platform.sessions.begin() as session:
            return platform.opening.stored_record(session, tender_id)

    @get(
        "/record.pdf",
        sync_to_thread=True,
        media_type="application/pdf",
        summary="The opening record as a PDF sealed by the platform (officers and auditors)",
    )
    def record_pdf(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        platform: NamedDependency[Platform],
    ) -> Stream:
        require_role(user, [Role.OFFICER, Role.AUDITOR], "read opening records")
        with platform.sessions.begin() as session:
            chunks = platform.opening.stored_record_pdf(session, tender_id)
        return Stream(chunks, media_type="application/pdf")

    @get(
        "/documents/{receipt_id:uuid}",
        sync_to_thread=True,
        summary="Read an opened bid document (officers and auditors; audited)",
        description=(
            "Streams the signed revision: for a signed PDF, exactly the bytes its signature "
            "covers. With as_received=true, the whole file as uploaded."
        ),
    )
    def document(
        self,
        tender_id: FromPath[uuid.UUID],
        receipt_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        platform: NamedDependency[Platform],
        as_received: FromQuery[bool] = False,
    ) -> Stream:
        with platform.sessions.begin() as session:
            name, chunks = platform.opening.document_for_evaluation(
                session,
                reader=user,
                tender_id=tender_id,
                receipt_id=receipt_id,
                as_received=as_received,
            )
        return Stream(
            chunks,
            media_type="application/octet-stream",
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
        )
