"""HTTP API of the opening record, and of bid documents once opened."""

from __future__ import annotations

import uuid
from urllib.parse import quote

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Stream

from tender.accounts.guards import allow
from tender.accounts.models import Role, User
from tender.i18n import gettext_noop as N_  # noqa: N812 (the name extractors look for)
from tender.opening.dependencies import provide_opening_service
from tender.opening.service import OpeningService
from tender.verifier.formats import OpeningRecordDocument

RECORD_READERS = (Role.OFFICER, Role.AUDITOR)


class OpeningController(Controller):
    path = "/api/tenders/{tender_id:uuid}/opening"
    tags = ("opening",)
    dependencies = {"opening": Provide(provide_opening_service, sync_to_thread=False)}

    @get(
        "/",
        guards=allow(*RECORD_READERS, to=N_("read opening records")),
        sync_to_thread=True,
        summary="The opening record (officers and auditors)",
    )
    def record(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        opening: NamedDependency[OpeningService],
    ) -> OpeningRecordDocument:
        return opening.stored_record(reader=user, tender_id=tender_id)

    @get(
        "/record.pdf",
        guards=allow(*RECORD_READERS, to=N_("read opening records")),
        sync_to_thread=True,
        media_type="application/pdf",
        summary="The opening record as a PDF sealed by the platform (officers and auditors)",
    )
    def record_pdf(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        opening: NamedDependency[OpeningService],
    ) -> Stream:
        return Stream(
            opening.stored_record_pdf(reader=user, tender_id=tender_id),
            media_type="application/pdf",
        )

    @get(
        "/documents/{receipt_id:uuid}",
        guards=allow(*RECORD_READERS, to=N_("read bid documents")),
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
        opening: NamedDependency[OpeningService],
        as_received: FromQuery[bool] = False,
    ) -> Stream:
        copy = opening.document_for_evaluation(
            reader=user, tender_id=tender_id, receipt_id=receipt_id, as_received=as_received
        )
        return Stream(
            copy.chunks,
            media_type="application/octet-stream",
            headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(copy.file_name)}"
            },
        )
