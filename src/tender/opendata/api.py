"""Open data over HTTP: OCDS release packages, for anyone, signed in or not."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from tender.accounts.guards import PUBLIC
from tender.opendata.dependencies import provide_open_data
from tender.opendata.schemas import ReleasePackage
from tender.opendata.service import MAX_OFFSET, MAX_PAGE_SIZE, OpenDataService


class OcdsController(Controller):
    path = "/ocds"
    tags = ("open data",)
    dependencies = {"open_data": Provide(provide_open_data, sync_to_thread=False)}

    @get(
        "/releases",
        opt=PUBLIC,
        sync_to_thread=True,
        summary="OCDS 1.1.5 release package: one tender's releases (?ocid=), or a page of all",
        description=(
            "Published tenders, their addenda, the number of tenderers once the opening has "
            "ended, awards and cancellations, as OCDS releases. With ocid: every release of "
            "that tender. Without: the releases of published tenders from offset (oldest "
            f"first), limit tenders at a time (at most {MAX_PAGE_SIZE}); links.next gives the "
            "next page. Drafts have no releases."
        ),
    )
    def releases(
        self,
        request: Request[Any, Any, Any],
        open_data: NamedDependency[OpenDataService],
        ocid: Annotated[str | None, QueryParameter(max_length=200)] = None,
        offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE)] = 20,
    ) -> ReleasePackage:
        uri = str(request.url)
        if ocid is not None:
            return open_data.releases_of(ocid, uri=uri)
        base = str(request.url.with_replacements(query=""))
        return open_data.page(
            offset=offset,
            limit=limit,
            uri=uri,
            next_uri=f"{base}?offset={offset + limit}&limit={limit}",
        )
