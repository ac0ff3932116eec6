"""The web application: ``create_app(platform)``. Each feature brings its own controller."""

from __future__ import annotations

from litestar import Litestar, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import ValidationException
from litestar.openapi import OpenAPIConfig

from tender.accounts.api import AccountController
from tender.audit.api import AuditController
from tender.bids.api import BidController
from tender.errors import Refusal
from tender.opening.api import OpeningController
from tender.platform import Platform
from tender.tenders.api import TenderController
from tender.web import (
    provide_platform,
    provide_user,
    refusal_to_response,
    validation_to_response,
)


@get("/health", summary="Liveness")
async def health() -> dict[str, str]:
    return {"status": "ok"}


def create_app(platform: Platform) -> Litestar:
    """The ASGI app for ``platform``. OpenAPI docs are served at ``/schema``."""
    return Litestar(
        route_handlers=[
            health,
            AccountController,
            TenderController,
            BidController,
            OpeningController,
            AuditController,
        ],
        dependencies={
            "platform": Provide(provide_platform, sync_to_thread=False),
            "user": Provide(provide_user),
        },
        exception_handlers={
            Refusal: refusal_to_response,
            ValidationException: validation_to_response,
        },
        state=State({"platform": platform}),
        openapi_config=OpenAPIConfig(
            title="Tender",
            version="0.1.0",
            description="Signed bids, sealed on arrival, opened at the deadline, audited.",
            path="/schema",
        ),
    )
