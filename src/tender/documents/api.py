"""HTTP API of tender documents and addenda: thin; the work is in the services."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, Parameter
from litestar.response import Stream

from tender.accounts.guards import EVERY_ROLE, allow
from tender.accounts.models import Role, User
from tender.bids.api import FileName, arriving
from tender.config import Settings
from tender.documents.addenda import AddendumService
from tender.documents.dependencies import (
    provide_addendum_service,
    provide_document_intake,
    provide_document_service,
)
from tender.documents.schemas import AddendumIn, AddendumOut, DocumentOut, DownloadOut
from tender.documents.service import DocumentIntake, DocumentService
from tender.i18n import gettext_noop as N_  # noqa: N812 (the name extractors look for)

MAX_ADDENDUM = 10_000  # an upper bound for the query parameter, far above any real tender


class DocumentController(Controller):
    path = "/api/tenders/{tender_id:uuid}/documents"
    tags = ("tender documents",)
    dependencies = {
        "documents": Provide(provide_document_service, sync_to_thread=False),
        "document_intake": Provide(provide_document_intake, sync_to_thread=False),
    }

    @put(
        "/{name:str}",
        guards=allow(Role.OFFICER, to=N_("upload tender documents")),
        status_code=201,
        request_max_body_size=None,  # bounded while streaming (TENDER_MAX_BID_BYTES)
        summary="Upload a tender document (the buying officers); the body is the file's bytes",
        description=(
            "Streamed to locked storage, its SHA-256 computed on the way. In a draft it is part "
            "of the tender (uploading a name again replaces it); after publishing it waits, seen "
            "by the buying officers only, until an addendum names it and publishes it. Refused "
            "with 409 once the deadline has passed."
        ),
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        tender_id: FromPath[uuid.UUID],
        name: FileName,
        user: NamedDependency[User],
        document_intake: NamedDependency[DocumentIntake],
        settings: NamedDependency[Settings],
    ) -> DocumentOut:
        return await document_intake.upload(
            officer=user,
            tender_id=tender_id,
            name=name,
            chunks=arriving(
                request.stream(), idle_seconds=settings.upload_idle_seconds, tender_id=tender_id
            ),
        )

    @get(
        "/",
        guards=allow(*EVERY_ROLE, to=N_("list tender documents")),
        sync_to_thread=True,
        summary="A tender's documents: name, size, SHA-256, and the addendum that published each",
    )
    def list_all(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        documents: NamedDependency[DocumentService],
    ) -> list[DocumentOut]:
        return documents.listing(viewer=user, tender_id=tender_id)

    @get(
        "/downloads",
        guards=allow(Role.OFFICER, to=N_("see who downloaded tender documents")),
        sync_to_thread=True,
        summary="Who downloaded which tender document, and when (the buying officers)",
    )
    def downloads(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        documents: NamedDependency[DocumentService],
    ) -> list[DownloadOut]:
        return documents.downloads(viewer=user, tender_id=tender_id)

    @get(
        "/{name:str}",
        guards=allow(*EVERY_ROLE, to=N_("download tender documents")),
        sync_to_thread=True,
        summary="Download a tender document (the download is recorded)",
        description=(
            "The current version, or with addendum=N the version addendum N published "
            "(0: published with the tender). The X-Content-SHA256 header gives its SHA-256."
        ),
    )
    def download(
        self,
        tender_id: FromPath[uuid.UUID],
        name: FileName,
        user: NamedDependency[User],
        documents: NamedDependency[DocumentService],
        addendum: Annotated[
            int | None,
            # Litestar leaves a bound of 0 out of an optional parameter's schema.
            Parameter(ge=0, le=MAX_ADDENDUM, schema_extra={"minimum": 0}),
        ] = None,
    ) -> Stream:
        copy = documents.download(reader=user, tender_id=tender_id, name=name, addendum=addendum)
        return Stream(
            copy.chunks,
            media_type="application/octet-stream",
            headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(copy.name)}",
                "X-Content-SHA256": copy.sha256,
            },
        )


class AddendumController(Controller):
    path = "/api/tenders/{tender_id:uuid}/addenda"
    tags = ("tender documents",)
    dependencies = {"addenda": Provide(provide_addendum_service, sync_to_thread=False)}

    @post(
        "/",
        guards=allow(Role.OFFICER, to=N_("publish addenda")),
        status_code=201,
        sync_to_thread=True,
        summary="Publish an addendum (the buying officers): text, documents, a later deadline",
        description=(
            "Publishes the documents it names (uploaded since the tender was published) and, "
            "with a deadline, extends the deadline: the timed opening moves with it. Refused "
            "with 422 for a deadline not later than the current one, 409 once the deadline "
            "has passed or for a draft."
        ),
    )
    def publish(
        self,
        tender_id: FromPath[uuid.UUID],
        data: JSONBody[AddendumIn],
        user: NamedDependency[User],
        addenda: NamedDependency[AddendumService],
    ) -> AddendumOut:
        return addenda.publish(actor=user, tender_id=tender_id, data=data)

    @get(
        "/",
        guards=allow(*EVERY_ROLE, to=N_("read addenda")),
        sync_to_thread=True,
        summary="A tender's addenda, in order",
    )
    def list_all(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        addenda: NamedDependency[AddendumService],
    ) -> list[AddendumOut]:
        return addenda.listing(viewer=user, tender_id=tender_id)
