"""The API description at ``/schema``: its pages and what it says beyond what Litestar derives.

The Swagger UI page and every file it loads are served by the platform itself (from the
``swagger-ui-py`` package's copy of Swagger UI), so the description can be read on a network
with no internet.

What Litestar cannot see is added from what the platform declares elsewhere, not typed per
route: each operation's security follows its authorisation rule
(:mod:`tender.accounts.guards`), and the refusals it may answer follow from that rule, its
method and its path (every refusal has the body :class:`RefusalBody`, see
:mod:`tender.errors`). A PUT that takes no JSON body streams a file: its body is described as
raw bytes.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from litestar import Litestar, Router
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import (
    Components,
    Example,
    OpenAPI,
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
    SecurityRequirement,
    SecurityScheme,
)
from litestar.routes import HTTPRoute
from litestar.static_files import create_static_files_router

from tender import text
from tender.accounts.api import MAX_SIGNATURE_BYTES
from tender.accounts.authentication import SAFE_METHODS, SESSION_COOKIE
from tender.accounts.credentials import MAX_PASSWORD_LENGTH
from tender.accounts.guards import rule_of
from tender.accounts.service import BR_NUMBER_MAX, NAME_MAX, PHONE_MAX
from tender.accounts.signin import TOKEN_NAME_MAX
from tender.bids.intake import MAX_FILE_NAME
from tender.clarifications.service import QUESTION_MAX

SCHEMA_PATH: Final = "/schema"
UI_FILES_PATH: Final = "/swagger-ui"
"""Where, under :data:`SCHEMA_PATH`, Swagger UI's own files are served."""


def swagger_ui_files() -> Path:
    """The folder of Swagger UI's files in the installed ``swagger-ui-py`` package (found
    without importing the package, which would pull in its framework adapters)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The swagger-ui-py package is not installed; reinstall the platform.")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


class LocalSwaggerUI(SwaggerRenderPlugin):
    """Swagger UI, with its scripts, stylesheet and icon served from the platform."""

    def __init__(self) -> None:
        files = f"{SCHEMA_PATH}{UI_FILES_PATH}"
        super().__init__(
            js_url=f"{files}/swagger-ui-bundle.js",
            css_url=f"{files}/swagger-ui.css",
            standalone_preset_js_url=f"{files}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{files}/favicon-32x32.png'>",
            path="/swagger",
        )

    def receive_router(self, router: Router) -> None:
        router.register(
            create_static_files_router(
                path=UI_FILES_PATH,
                directories=[swagger_ui_files()],
                include_in_schema=False,
            )
        )


def openapi_config() -> OpenAPIConfig:
    """The description's settings: Swagger UI at ``/schema`` (and ``/schema/swagger``), the
    JSON at ``/schema/openapi.json``."""
    return OpenAPIConfig(
        title="Tender",
        version="0.1.0",
        description="Signed bids, sealed on arrival, opened at the deadline, audited.",
        path=SCHEMA_PATH,
        render_plugins=[LocalSwaggerUI()],
        components=Components(security_schemes=SECURITY_SCHEMES),
        # An example of every body and parameter, made from its type (with a fixed seed, so
        # the description is the same each time); refusals carry hand-written ones.
        create_examples=True,
    )


BEARER: Final = "bearer"
SESSION: Final = "session"
CSRF: Final = "csrf"
SECURITY_SCHEMES: Final[dict[str, SecurityScheme | Reference]] = {
    BEARER: SecurityScheme(
        type="http",
        scheme="bearer",
        description=(
            "An API token, made with POST /api/account/tokens (or by the platform "
            "administrator): send 'Authorization: Bearer <token>'."
        ),
    ),
    SESSION: SecurityScheme(
        type="apiKey",
        name=SESSION_COOKIE,
        security_scheme_in="cookie",
        description="A browser session, set by signing in (POST /api/session).",
    ),
    CSRF: SecurityScheme(
        type="apiKey",
        name="X-CSRF-Token",
        security_scheme_in="header",
        description=(
            "With a session cookie, a request that changes something (any method but GET, "
            "HEAD, OPTIONS) must carry the csrf_token given at sign-in in this header; "
            "refused with 403 otherwise. Token calls need none."
        ),
    ),
}


def security_of(handler: HTTPRouteHandler, method: str) -> list[SecurityRequirement]:
    """Who may call: a token, or a session (with its CSRF header for a change); nobody needs
    either on a public route."""
    if rule_of(handler) is None:
        return []
    session: SecurityRequirement = (
        {SESSION: []} if method in SAFE_METHODS else {SESSION: [], CSRF: []}
    )
    return [{BEARER: []}, session]


@dataclass
class RefusalBody:
    """The body of every refusal (4xx, 503): what happened, why, and what to do."""

    error: str
    """The kind of refusal, for programs: ``not_found``, ``tender_closed``, ``invalid``..."""
    message: str
    """``what``, ``why`` and ``what_to_do`` in one sentence, for a person."""
    what: str
    why: str
    what_to_do: str
    details: dict[str, Any] | None = None
    """Facts a program may use (the field at fault, a limit); left out when there are none."""


@dataclass(frozen=True)
class RefusalStatus:
    """What a refusal with one status means, and an example of its body."""

    means: str
    example: RefusalBody


def _example(error: str, what: str, why: str, todo: str) -> RefusalBody:
    return RefusalBody(
        error=error, message=f"{what} {why} {todo}", what=what, why=why, what_to_do=todo
    )


REFUSALS: Final = {
    400: RefusalStatus(
        "The request could not be read (a parameter or body field of the wrong form).",
        _example(
            "bad_request",
            "The request could not be read.",
            "Validation failed for POST /api/session: data.email: Object missing required "
            "field 'email'.",
            "Correct the request as the API description at /schema says, and send it again.",
        ),
    ),
    401: RefusalStatus(
        "Not signed in: no token or session, or one that is unknown or expired.",
        _example(
            "not_authenticated",
            "You are not signed in.",
            "This request needs an API token or a browser session.",
            "Send the header 'Authorization: Bearer <your token>', or sign in (POST /api/session).",
        ),
    ),
    403: RefusalStatus(
        "Signed in, but not allowed: another role, no second factor, another organisation's "
        "object, or a session change without its CSRF header.",
        _example(
            "forbidden",
            "You cannot publish tenders.",
            "Your account (Alice, Alpha Ltd) has the role 'supplier', and this needs 'officer'.",
            "Ask the platform administrator for an account with that role.",
        ),
    ),
    404: RefusalStatus(
        "What the path names does not exist (or is not yours to see).",
        _example(
            "not_found",
            "There is no such tender.",
            "No tender has the id 3f2b0c9e-7d1a-4c55-9a43-2f0e6b1d8c10.",
            "Check the id (GET /api/tenders lists the published tenders).",
        ),
    ),
    408: RefusalStatus(
        "The body stopped arriving; nothing was done.",
        _example(
            "request_timeout",
            "The upload stopped.",
            "No part of the file arrived for 60 seconds, so the platform gave up on it; "
            "nothing was submitted and no receipt was issued.",
            "Check your connection and upload the file again.",
        ),
    ),
    409: RefusalStatus(
        "Not in this state: after the deadline, before the opening, already done.",
        _example(
            "tender_closed",
            "The deadline for this tender has passed.",
            "It closed at 2026-11-27 12:00:00 UTC; the platform's clock decides.",
            "Nothing can be submitted any more; ask the procuring entity.",
        ),
    ),
    413: RefusalStatus(
        "The body is larger than the platform accepts.",
        _example(
            "too_large",
            "The file is too large.",
            "It is 600,000,000 bytes; this platform accepts bid files of up to 524,288,000 bytes.",
            "Split the bid into several files, or ask the procuring entity.",
        ),
    ),
    422: RefusalStatus(
        "Read, but its content is refused (too long a text, a bad signature, a wrong code).",
        _example(
            "invalid",
            "The title is 301 characters long.",
            "A title may be at most 300 characters long.",
            "Shorten it and send it again.",
        ),
    ),
    429: RefusalStatus(
        "Too many requests from one address (when the platform limits them); see Retry-After.",
        _example(
            "too_many_requests",
            "Too many requests came from your address.",
            "The platform limits how often one address may call it, so that nobody can "
            "crowd others out.",
            "Wait a minute and try again.",
        ),
    ),
    503: RefusalStatus(
        "A part the platform needs (database, storage, job queue) cannot be reached; nothing "
        "was changed and trying again is safe; see Retry-After.",
        _example(
            "unavailable",
            "The platform cannot carry out your request at the moment.",
            "Its database cannot be reached just now, so your request was not completed.",
            "Try again in a minute or two; sending the same request again is safe. If it "
            "keeps failing, tell the platform's operators.",
        ),
    ),
}

CHANGES: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def refusals_of(handler: HTTPRouteHandler, method: str) -> set[int]:
    """The statuses a refusal of this operation may have: any request may be unreadable,
    name what does not exist (in its path or query), be limited or meet an outage; a guarded
    one may be unauthenticated or forbidden, and its service checks the objects and their
    state, as a change's does what it names; a body may stall or be too large."""
    statuses = {400, 404, 429, 503}
    if rule_of(handler) is not None:
        statuses |= {401, 403, 409, 422}
    if method in CHANGES:
        statuses |= {401, 408, 409, 413, 422}
    return statuses


RAW_UPLOAD: Final = RequestBody(
    required=True,
    description=(
        "The file's raw bytes, streamed (send Content-Length: a file over the platform's "
        "limit is refused before it is read)."
    ),
    content={
        "application/octet-stream": OpenAPIMediaType(
            schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
        )
    },
)


@dataclass
class RawUploadOperation(Operation):
    """An operation whose body is a file's raw bytes (Litestar sees no body parameter)."""

    def __post_init__(self) -> None:
        self.request_body = self.request_body or RAW_UPLOAD


def takes_raw_upload(handler: HTTPRouteHandler) -> bool:
    """A PUT with no JSON body streams the request itself: a file."""
    return "PUT" in handler.http_methods and "data" not in handler.parsed_fn_signature.parameters


def describe_operations(app: Litestar, *, except_under: str) -> None:
    """Adds to each operation of ``app`` (but those under ``except_under``) what its
    declarations imply: its security, its refusals and, for an upload, its body. Before the
    description is first built (it is built when first asked for)."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith(except_under):
            continue
        for method, (handler, _) in route.route_handler_map.items():
            if method == "OPTIONS" or not handler.resolve_include_in_schema():
                continue
            handler.security = security_of(handler, method)
            statuses = refusals_of(handler, method)
            handler.responses = {
                **{
                    status: ResponseSpec(
                        data_container=RefusalBody,
                        description=REFUSALS[status].means,
                        generate_examples=False,
                        examples=[
                            Example(
                                summary=REFUSALS[status].example.error,
                                value=REFUSALS[status].example,
                            )
                        ],
                    )
                    for status in sorted(statuses)
                },
                **(handler.responses or {}),
            }
            if takes_raw_upload(handler):
                handler.operation_class = RawUploadOperation


def _base64_length(size: int) -> int:
    return 4 * -(-size // 3)


TOTP_DIGITS: Final = 6  # what an authenticator app shows
COMMITTEE_BLOB_MAX: Final = 8192  # base64 of a member's key or share, far above any real one


TEXT_BOUNDS: Final[dict[str, dict[str, int]]] = {
    # The bounds the services enforce (tender.text and the rooms' own), so a client knows
    # them before it is refused; a test fails when a text field a client sends has none.
    "TenderCreate": {
        "reference": text.REFERENCE_MAX,
        "title": text.TITLE_MAX,
        "description": text.DESCRIPTION_MAX,
    },
    "TenderEdit": {
        "reference": text.REFERENCE_MAX,
        "title": text.TITLE_MAX,
        "description": text.DESCRIPTION_MAX,
    },
    "Cancellation": {"reason": text.REASON_MAX},
    "AddendumIn": {"text": text.DESCRIPTION_MAX, "documents": MAX_FILE_NAME},
    "QuestionIn": {"question": QUESTION_MAX},
    "AnswerIn": {"answer": QUESTION_MAX},
    "VerdictIn": {"reason": text.REASON_MAX},
    "AwardCreate": {
        "winners": text.NAME_MAX,
        "reasons": text.REASON_MAX,
        "value": 32,  # digits of a value below 10**15, with a decimal point and cents
        "currency": 3,  # an ISO 4217 code
    },
    "FingerprintIn": {"file_name": MAX_FILE_NAME, "sha256": 64},
    "Withdrawal": {"file_name": MAX_FILE_NAME},
    # "technical" or "financial"; a plain file's SHA-256 is 64 hex digits.
    "UploadStart": {"file_name": MAX_FILE_NAME, "envelope": 9, "plaintext_sha256": 64},
    "OrganisationIn": {
        "name_en": NAME_MAX,
        "name_zh": NAME_MAX,
        "br_number": BR_NUMBER_MAX,
        "contact_email": text.EMAIL_MAX,
        "contact_phone": PHONE_MAX,
    },
    "OrganisationCreate": {
        "name_en": NAME_MAX,
        "name_zh": NAME_MAX,
        "br_number": BR_NUMBER_MAX,
        "contact_email": text.EMAIL_MAX,
        "contact_phone": PHONE_MAX,
    },
    "FirstUser": {"name": NAME_MAX, "email": text.EMAIL_MAX, "password": MAX_PASSWORD_LENGTH},
    "UserCreate": {"name": NAME_MAX, "email": text.EMAIL_MAX},
    "SignIn": {"email": text.EMAIL_MAX, "password": MAX_PASSWORD_LENGTH, "code": TOTP_DIGITS},
    "PasswordChange": {"password": MAX_PASSWORD_LENGTH, "current_password": MAX_PASSWORD_LENGTH},
    "TokenCreate": {"name": TOKEN_NAME_MAX, "code": TOTP_DIGITS},
    "TotpCode": {"code": TOTP_DIGITS},
    "Confirmation": {"token": 128},  # a confirmation link's token is 43 characters
    "CertificateRegistration": {"signature": _base64_length(MAX_SIGNATURE_BYTES)},
    "KeyRegistration": {"public_key": COMMITTEE_BLOB_MAX},
    "ShareRelease": {"share": COMMITTEE_BLOB_MAX, "key": text.NAME_MAX},
}


def describe_text_bounds(description: OpenAPI) -> None:
    """Adds :data:`TEXT_BOUNDS` to the described bodies, as ``maxLength`` (of each item, for a
    list). Only described: the services refuse a longer text in plain words, which a
    validation of the body's shape would answer first, in a parser's."""
    schemas = description.components.schemas if description.components else None
    for name, bounds in TEXT_BOUNDS.items():
        component = (schemas or {}).get(name)
        if component is None or not component.properties:
            continue
        for field, limit in bounds.items():
            for string in _strings(component.properties.get(field)):
                string.max_length = limit


def _strings(schema: Schema | Reference | None) -> Iterator[Schema]:
    """The string schemas of a property, through lists and nullable unions."""
    if not isinstance(schema, Schema):
        return
    if schema.type == OpenAPIType.STRING:
        yield schema
    for option in (*(schema.one_of or ()), *(schema.any_of or ())):
        yield from _strings(option)
    if schema.items is not None and not isinstance(schema.items, list):
        yield from _strings(schema.items)
