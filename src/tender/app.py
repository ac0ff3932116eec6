"""The web application: ``create_app(platform)``. Each feature brings its own controller.

The app hands controllers what they use by name, through Litestar's dependency injection:
``db_session`` (the request's unit of work), ``user`` (the caller), and the platform's
long-lived parts. Each feature's ``dependencies.py`` builds its service from those.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Litestar, get
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.logging import LoggingConfig
from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.static_files import create_static_files_router

from tender.accounts.api import (
    AccountController,
    AdminController,
    RegistrationController,
    SessionController,
)
from tender.accounts.authentication import CallerAuthentication
from tender.accounts.dependencies import provide_user
from tender.accounts.guards import PUBLIC, routes_without_a_rule
from tender.auditors.api import AuditController
from tender.awards.api import AwardController
from tender.bids.api import (
    BidController,
    FingerprintController,
    ReceiptController,
    UploadController,
    WithdrawalController,
)
from tender.clarifications.api import ClarificationController
from tender.committee.api import CommitteeController, CommitteeKeyController
from tender.committee.service import form_committee
from tender.documents.api import AddendumController, DocumentController
from tender.documents.service import suppliers_of
from tender.openapi import (
    SCHEMA_PATH,
    describe_operations,
    describe_text_bounds,
    openapi_config,
)
from tender.opendata.api import OcdsController
from tender.opening.api import OpeningController
from tender.pages.api import PublicPages
from tender.pages.auditor import AuditorPages, ReceiptPages
from tender.pages.committee import CommitteePages
from tender.pages.errors import with_error_pages
from tender.pages.officer import OfficerPages
from tender.pages.rendering import STATIC, template_config
from tender.pages.session import SessionPages
from tender.pages.supplier import RegistrationPages, SupplierPages
from tender.pages.upload import UploadPages
from tender.platform import Platform
from tender.qualification.api import QualificationController
from tender.tenders.api import TenderController
from tender.web import (
    UNAVAILABLE,
    arrival_of,
    arrival_stamp,
    part,
    refusal_handlers,
    request_language,
    request_log,
    unit_of_work,
)

STATIC_PATH = "/static"  # the pages' stylesheet, script and icons


@get("/health", opt=PUBLIC, summary="Liveness")
async def health() -> dict[str, str]:
    return {"status": "ok"}


def create_app(platform: Platform) -> Litestar:
    """The ASGI app for ``platform``. OpenAPI docs are served at ``/schema``.

    Refuses to build if a route has no authorisation rule (see
    :mod:`tender.accounts.guards`).
    """
    parts: dict[str, Any] = {
        "clock": platform.clock,
        "settings": platform.settings,
        "store": platform.store,
        "sessions": platform.sessions,  # for parts that own their transactions (uploads)
        "platform_key": platform.platform_key,
        "trust": platform.trust,
        "jobs": platform.jobs,
        "checkpointer": platform.checkpointer,
        "bid_intake": platform.intake,
        "uploads": platform.uploads,
        "exporter": platform.exporter,
        "taking_part": suppliers_of,  # for the tenders floor, below the documents one
        "form_committee": form_committee,  # for the tenders floor, below the committee one
    }

    async def limit_request_threads() -> None:
        # Few threads for the requests' blocking work (the database, storage): each one more
        # contends with the event loop for the interpreter, and the loop stamps when each
        # request arrived (received means received); more would only wait for connections.
        anyio.to_thread.current_default_thread_limiter().total_tokens = (
            platform.settings.request_threads
        )

    app = Litestar(
        on_startup=[limit_request_threads],
        route_handlers=[
            health,
            AccountController,
            SessionController,
            RegistrationController,
            AdminController,
            TenderController,
            DocumentController,
            AddendumController,
            ClarificationController,
            BidController,
            UploadController,
            FingerprintController,
            WithdrawalController,
            ReceiptController,
            OpeningController,
            QualificationController,
            CommitteeKeyController,
            CommitteeController,
            OcdsController,
            AwardController,
            AuditController,
            PublicPages,
            SessionPages,
            OfficerPages,
            RegistrationPages,
            SupplierPages,
            UploadPages,
            CommitteePages,
            AuditorPages,
            ReceiptPages,
            create_static_files_router(
                path=STATIC_PATH,
                directories=[STATIC],
                opt=PUBLIC,
                cache_control=CacheControlHeader(max_age=3600, public=True),
            ),
        ],
        template_config=template_config(),
        dependencies={
            "db_session": Provide(unit_of_work(platform.sessions)),
            "user": Provide(provide_user, sync_to_thread=False),
            "arrived_at": Provide(arrival_of, sync_to_thread=False),
            **{
                name: Provide(part(value), use_cache=True, sync_to_thread=False)
                for name, value in parts.items()
            },
        },
        middleware=[
            request_log,
            request_language,
            arrival_stamp(platform.clock, idle_seconds=platform.settings.upload_idle_seconds),
            *(
                [RateLimitConfig(rate_limit=("minute", limit)).middleware]
                if (limit := platform.settings.rate_limit_per_minute)
                else []
            ),
            DefineMiddleware(
                CallerAuthentication,
                sessions=platform.sessions,
                clock=platform.clock,
                exclude=[f"^{SCHEMA_PATH}"],
            ),
        ],
        exception_handlers=with_error_pages(refusal_handlers(platform.sessions, platform.clock)),
        # The root logger is the program's to configure (tender up does): Litestar sets up only
        # its own logger, which logs every server-side error with its traceback (refusals of
        # what callers asked, 4xx, are explained to them and audited instead; a part that
        # cannot be reached, 503, is one line of tender.web's log per request, which says why).
        logging_config=LoggingConfig(
            configure_root_logger=False,
            log_exceptions="always",
            disable_stack_trace={*range(400, 500), 503, *UNAVAILABLE},
        ),
        openapi_config=openapi_config(),
    )
    unguarded = routes_without_a_rule(app, except_under=SCHEMA_PATH)
    if unguarded:
        raise RuntimeError(
            "These routes have no authorisation rule; give each guards=allow(...) or "
            f"opt=PUBLIC: {'; '.join(unguarded)}"
        )
    describe_operations(app, except_under=SCHEMA_PATH)
    describe_text_bounds(app.openapi_schema)
    return app
