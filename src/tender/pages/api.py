"""The public pages: the published tenders, searched and paged, and each tender's page. Thin,
like the API's controllers: the services say what there is; the templates say it to people."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Final

from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from tender import i18n
from tender.accounts.guards import PUBLIC
from tender.accounts.signin import Caller
from tender.awards.dependencies import provide_award_service
from tender.awards.service import AwardService
from tender.clarifications.dependencies import provide_clarification_service
from tender.clarifications.service import ClarificationService
from tender.documents.addenda import AddendumService
from tender.documents.dependencies import provide_addendum_service, provide_document_service
from tender.documents.service import DocumentService
from tender.pages.errors import PAGE, failure_page
from tender.pages.language import LANGUAGE_TAGS
from tender.pages.session import VIEWER, same_site
from tender.tenders.dependencies import provide_tender_service
from tender.tenders.models import TenderStatus
from tender.tenders.service import TenderService
from tender.web import LANGUAGE_COOKIE

PAGE_SIZE: Final = 20
MAX_PAGE: Final = 10_000  # far beyond any real listing; bounds the query parameter
MAX_QUERY: Final = 200
YEAR: Final = 365 * 24 * 3600


class PublicPages(Controller):
    """Pages anyone may read, signed in or not."""

    opt = {**PUBLIC, PAGE: True}
    include_in_schema = False
    exception_handlers = {500: failure_page}
    dependencies = {
        **VIEWER,
        "tenders": Provide(provide_tender_service, sync_to_thread=False),
        "documents": Provide(provide_document_service, sync_to_thread=False),
        "addenda": Provide(provide_addendum_service, sync_to_thread=False),
        "clarifications": Provide(provide_clarification_service, sync_to_thread=False),
        "awards": Provide(provide_award_service, sync_to_thread=False),
    }

    @get("/", sync_to_thread=True)
    def tender_list(
        self,
        tenders: NamedDependency[TenderService],
        viewer: NamedDependency[Caller | None],
        q: Annotated[str, QueryParameter(max_length=MAX_QUERY)] = "",
        page: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 1,
    ) -> Template:
        found, total = tenders.search(q, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        now = tenders.clock.now()
        return Template(
            "tenders.html",
            context={
                "viewer": viewer,
                "query": q,
                "tenders": [(tender, tender.status_at(now)) for tender in found],
                "total": total,
                "page": page,
                "pages": max(1, -(-total // PAGE_SIZE)),
            },
        )

    @get("/tenders/{tender_id:uuid}", sync_to_thread=True)
    def tender_page(
        self,
        tender_id: FromPath[uuid.UUID],
        tenders: NamedDependency[TenderService],
        documents: NamedDependency[DocumentService],
        addenda: NamedDependency[AddendumService],
        clarifications: NamedDependency[ClarificationService],
        awards: NamedDependency[AwardService],
        viewer: NamedDependency[Caller | None],
    ) -> Template:
        tender = tenders.get(tender_id, viewer=None)
        buyer = tenders.buyer(tender)
        now = tenders.clock.now()
        status = tender.status_at(now)
        return Template(
            "tender.html",
            context={
                "viewer": viewer,
                "tender": tender,
                "status": status,
                "open": status is TenderStatus.PUBLISHED,
                "seconds_left": max(0, int((tender.deadline - now).total_seconds())),
                "buyer": buyer.name_zh
                if i18n.current_locale() == i18n.HONG_KONG_CHINESE and buyer.name_zh
                else buyer.name_en,
                "documents": documents.listing(viewer=None, tender_id=tender.id),
                "addenda": addenda.listing(viewer=None, tender_id=tender.id),
                "clarifications": [
                    c
                    for c in clarifications.listing(viewer=None, tender_id=tender.id)
                    if c.answer is not None
                ],
                "award": awards.announcement(tender.id),
            },
        )

    @get("/language", sync_to_thread=False)
    def choose_language(
        self,
        request: Request[Any, Any, Any],
        to: Annotated[str, QueryParameter(max_length=20)],
        back: Annotated[str, QueryParameter(max_length=2000)] = "/",
    ) -> Redirect:
        """The language switch: remembers the choice in a cookie and goes back to the page."""
        locale = i18n.negotiate(to)
        redirect = Redirect(same_site(back), status_code=303)
        redirect.set_cookie(
            LANGUAGE_COOKIE,
            LANGUAGE_TAGS[locale],
            max_age=YEAR,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        return redirect
