"""The authorisation matrix: every route of the app, for every kind of caller and every state
of a tender, called through the real app, and held to one table (:data:`ROUTES`).

The table says, for each route, which roles its guard admits (checked against the code's
``rule_of``, so they cannot drift apart), which rule on the object then applies (whose tender,
whose receipt), and how to call it. A route the table does not name fails the first test: a
new route must come with its row.

One platform (SQLite) serves the module: an organisation O1 with its officer and three tenders
(a draft; a published one that S1 bid on; an opened one), another buying organisation O2 with
its officer, suppliers S1 (bid) and S2 (did not), an auditor appointed to every organisation
and one appointed to O2 only, an admin, and anonymous callers. Every caller holds a token with
a second factor, so that the matrix tests roles and organisations; one test checks that the
routes that need one refuse a token without it.

Calls that would change what later cells see (an allowed publish, upload, cancellation...) run
after every other cell; refused ones change nothing (the request's unit of work rolls back).
"""

from __future__ import annotations

import base64
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import pytest
from dramatiq.brokers.stub import StubBroker
from litestar import Litestar
from litestar.handlers.base import BaseRouteHandler
from litestar.routes import HTTPRoute
from litestar.testing import TestClient
from sqlalchemy import func, select

from tender.accounts.guards import EVERY_ROLE, RoleGuard, rule_of
from tender.accounts.models import (
    AuditorAppointment,
    OrganisationKind,
    OrganisationStatus,
    Role,
)
from tender.accounts.service import AccountService
from tender.accounts.signin import SignInService
from tender.app import create_app
from tender.audit.models import AuditEvent
from tender.audit.service import SEALED_ACTOR
from tender.clock import ManualClock, format_time
from tender.platform import Platform
from tender.signing import TrustStore
from tender.signing.testing import TestPKI, signed_pdf
from tender.storage.committee import MemberKey
from tender.storage.objectstore import S3Config
from tender.verifier.kinds import EventKind
from tests.conftest import platform_of, settings_on_a_copy
from tests.helpers import register_signer

# The callers, each in one relation to organisation O1's tenders.
ANONYMOUS: Final = "anonymous"
BIDDER: Final = "supplier-bidder"  # S1, bid on the published and the opened tender
SUPPLIER: Final = "supplier-other"  # S2, bid on nothing
OFFICER: Final = "officer-own-org"  # O1's officer
OUTSIDER: Final = "officer-other-org"  # O2's officer
AUDITOR: Final = "auditor"  # appointed to every organisation
AUDITOR_ELSEWHERE: Final = "auditor-of-other-org"  # appointed to O2 only
ADMIN: Final = "admin"
CALLERS: Final = (ANONYMOUS, BIDDER, SUPPLIER, OFFICER, OUTSIDER, AUDITOR, AUDITOR_ELSEWHERE, ADMIN)
ROLE_OF: Final = {
    BIDDER: Role.SUPPLIER,
    SUPPLIER: Role.SUPPLIER,
    OFFICER: Role.OFFICER,
    OUTSIDER: Role.OFFICER,
    AUDITOR: Role.AUDITOR,
    AUDITOR_ELSEWHERE: Role.AUDITOR,
    ADMIN: Role.ADMIN,
}

DRAFT: Final = "draft"
PUBLISHED: Final = "published"
OPENED: Final = "opened"
STATES: Final = (DRAFT, PUBLISHED, OPENED)

# The rules on the object, after the guard admitted the role: (caller, tender state) -> allowed.
ObjectRule = Callable[[str, str | None], bool]


def anyone(caller: str, state: str | None) -> bool:
    """No rule on an object: the route is public, or about the caller's own account."""
    return True


def visible(caller: str, state: str | None) -> bool:
    """Whoever may see the tender: a draft only its own officers and auditors covering O1."""
    return state != DRAFT or caller in (OFFICER, AUDITOR)


def published(caller: str, state: str | None) -> bool:
    """Anyone, signed in or not, once the tender is published: drafts are shown to nobody."""
    return state != DRAFT


def buyer(caller: str, state: str | None) -> bool:
    """Only an officer of the organisation that runs the tender."""
    return caller == OFFICER


def buyer_of_an_asked_tender(caller: str, state: str | None) -> bool:
    """Only an officer of the organisation that runs the tender, on a tender with a question:
    a draft has none, and a page says "nothing at this address" for the made-up one."""
    return caller == OFFICER and state != DRAFT


def overseer(caller: str, state: str | None) -> bool:
    """What the opening reveals: the buying officers and the auditors appointed to O1."""
    return caller in (OFFICER, AUDITOR)


def overseer_or_its_bidder(caller: str, state: str | None) -> bool:
    """The outcome: the overseers, and the suppliers who bid on the tender."""
    return overseer(caller, state) or (caller == BIDDER and state != DRAFT)


def nobody(caller: str, state: str | None) -> bool:
    """Only a member of the tender's opening committee: these tenders are opened
    automatically, so nobody is."""
    return False


def no_one_with_a_wrong_password(caller: str, state: str | None) -> bool:
    """The sign-in form, posted with a wrong password: refused (401) whoever posts it."""
    return False


def no_one_with_an_unknown_link(caller: str, state: str | None) -> bool:
    """The email confirmation, posted with a token no link carries: refused (404) to anyone."""
    return False


def own_receipt(caller: str, state: str | None) -> bool:
    """The receipt in the path is S1's: only S1 reads it."""
    return caller == BIDDER


Body = dict[str, Any] | bytes | Callable[["Scenario"], dict[str, Any]] | None

SUPPLIERS: Final = frozenset({Role.SUPPLIER})
OFFICERS: Final = frozenset({Role.OFFICER})
ADMINS: Final = frozenset({Role.ADMIN})
AUDITORS: Final = frozenset({Role.AUDITOR})
READERS: Final = frozenset({Role.OFFICER, Role.AUDITOR})
PROOF_READERS: Final = frozenset({Role.OFFICER, Role.AUDITOR, Role.SUPPLIER})
SIGNED_IN: Final = frozenset(EVERY_ROLE)


@dataclass(frozen=True)
class Row:
    """How to call a route, and who may: ``roles`` the guard admits (None: public), then
    ``rule`` on the object."""

    roles: frozenset[Role] | None
    rule: ObjectRule = anyone
    body: Body = None
    query: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] | None = None  # a page's form, posted as a browser does
    own_account: bool = False  # about the caller's own account, session or tokens
    bid_content: bool = False  # serves what bids contain


DEADLINE: Final = "2026-12-20T09:00:00Z"
T = "/api/tenders/{tender_id:uuid}"
OT = "/officer/tenders/{tender_id:uuid}"

ROUTES: Final[dict[str, Row]] = {
    "GET /health": Row(None),
    # Signing in, registering: public.
    "POST /api/session": Row(None, body={"email": "sam@example.com", "password": "x" * 12}),
    "DELETE /api/session": Row(SIGNED_IN, own_account=True),
    "POST /api/registrations": Row(
        None,
        body={
            "organisation": {
                "name_en": "Gamma Ltd",
                "br_number": "12345678",
                "contact_email": "office@gamma.example",
            },
            "user": {"name": "Gina", "email": "gina@gamma.example", "password": "y" * 12},
        },
    ),
    "POST /api/registrations/confirm": Row(None, body={"token": "not-a-token"}),
    # The caller's own account.
    "GET /api/account": Row(SIGNED_IN, own_account=True),
    "GET /api/account/tokens": Row(SIGNED_IN, own_account=True),
    "POST /api/account/tokens": Row(SIGNED_IN, body={"name": "script"}, own_account=True),
    "DELETE /api/account/tokens/{token_id:uuid}": Row(SIGNED_IN, own_account=True),
    "PUT /api/account/password": Row(SIGNED_IN, body={"password": "z" * 14}, own_account=True),
    "POST /api/account/totp": Row(SIGNED_IN, own_account=True),
    "POST /api/account/totp/confirm": Row(SIGNED_IN, body={"code": "000000"}, own_account=True),
    "GET /api/account/certificates": Row(SIGNED_IN, own_account=True),
    "POST /api/account/certificates/challenges": Row(SUPPLIERS, own_account=True),
    "POST /api/account/certificates": Row(
        SUPPLIERS,
        body={"challenge_id": str(uuid.UUID(int=1)), "signature": "AAAA"},
        own_account=True,
    ),
    # Administration.
    "GET /api/admin/organisations": Row(ADMINS),
    "POST /api/admin/organisations": Row(ADMINS, body={"kind": "buyer", "name_en": "Lands Dept"}),
    "POST /api/admin/organisations/{organisation_id:uuid}/activate": Row(ADMINS),
    "POST /api/admin/organisations/{organisation_id:uuid}/suspend": Row(ADMINS),
    "GET /api/admin/users": Row(ADMINS),
    "POST /api/admin/users": Row(
        ADMINS, body=lambda s: {"organisation_id": s.spare_org, "role": "supplier", "name": "Ivy"}
    ),
    # Tenders.
    "POST /api/tenders": Row(
        OFFICERS,
        body={
            "reference": "T-NEW",
            "title": "Slope works",
            "deadline": DEADLINE,
            "opening": "automatic",
        },
    ),
    "GET /api/tenders": Row(SIGNED_IN),
    f"GET {T}": Row(SIGNED_IN, visible),
    f"GET {T}/public-key": Row(None, published),
    f"PATCH {T}": Row(OFFICERS, buyer, body={"title": "Road works, phase 2"}),
    f"POST {T}/publish": Row(OFFICERS, buyer),
    f"POST {T}/cancellation": Row(OFFICERS, buyer, body={"reason": "The budget was withdrawn."}),
    f"PUT {T}/documents/{{name:str}}": Row(OFFICERS, buyer, body=b"%PDF-1.7 drawings"),
    f"GET {T}/documents": Row(SIGNED_IN, visible),
    f"GET {T}/documents/downloads": Row(OFFICERS, buyer),
    f"GET {T}/documents/{{name:str}}": Row(SIGNED_IN, visible),
    f"POST {T}/addenda": Row(OFFICERS, buyer, body={"text": "The drawings are corrected."}),
    f"GET {T}/addenda": Row(SIGNED_IN, visible),
    f"POST {T}/clarifications": Row(SUPPLIERS, visible, body={"question": "Is steel allowed?"}),
    f"POST {T}/clarifications/{{clarification_id:uuid}}/answer": Row(
        OFFICERS, buyer, body={"answer": "Yes."}
    ),
    f"GET {T}/clarifications": Row(SIGNED_IN, visible),
    # Bids.
    f"PUT {T}/bids/{{file_name:str}}": Row(SUPPLIERS, visible, body=b"%PDF-1.7 a bid"),
    f"GET {T}/bids": Row(SIGNED_IN, visible),
    f"POST {T}/fingerprints": Row(
        SUPPLIERS, visible, body={"file_name": "bid.pdf", "sha256": "ab" * 32}
    ),
    f"POST {T}/withdrawal": Row(SUPPLIERS, visible, body={"file_name": "bid.pdf"}),
    "GET /api/receipts": Row(SUPPLIERS, own_account=True),
    "GET /api/receipts/{receipt_id:uuid}/pdf": Row(SUPPLIERS, own_receipt),
    f"POST {T}/uploads": Row(SUPPLIERS, visible, body={"file_name": "bid.pdf", "size": 14}),
    f"GET {T}/uploads/{{upload_id:uuid}}": Row(SUPPLIERS, visible),
    f"PUT {T}/uploads/{{upload_id:uuid}}": Row(
        SUPPLIERS, visible, body=b"%PDF-1.7 a bid", query={"offset": "0"}
    ),
    f"POST {T}/uploads/{{upload_id:uuid}}/complete": Row(SUPPLIERS, visible),
    f"DELETE {T}/uploads/{{upload_id:uuid}}": Row(SUPPLIERS, visible),
    # The opening and the award.
    f"GET {T}/opening": Row(READERS, overseer, bid_content=True),
    f"GET {T}/opening/record.pdf": Row(READERS, overseer, bid_content=True),
    f"GET {T}/opening/documents/{{receipt_id:uuid}}": Row(READERS, overseer, bid_content=True),
    f"POST {T}/award": Row(
        OFFICERS,
        buyer,
        body={"winners": ["Alpha Ltd"], "value": "100.00", "currency": "HKD", "reasons": "Best."},
    ),
    f"GET {T}/award": Row(PROOF_READERS, overseer_or_its_bidder),
    # Two-envelope tenders' qualification (these tenders have one envelope: the buyer is
    # answered 400, everyone else refused).
    f"GET {T}/qualification": Row(READERS, overseer),
    f"POST {T}/qualification": Row(
        OFFICERS,
        buyer,
        body={"supplier_id": str(uuid.UUID(int=1)), "qualified": True, "reason": "Complete."},
    ),
    f"POST {T}/financial-opening": Row(OFFICERS, buyer),
    # Opening committees.
    "POST /api/committee/keys": Row(
        READERS,
        body={"public_key": base64.b64encode(MemberKey.generate().public_key_bytes).decode()},
        own_account=True,
    ),
    "GET /api/committee/keys": Row(READERS),
    f"GET {T}/committee": Row(READERS, overseer),
    f"GET {T}/committee/share": Row(READERS, nobody),
    f"POST {T}/committee/releases": Row(READERS, nobody, body={"share": "AAAA"}),
    # The audit trail (hashes and sealed payloads; see tender.auditors.api).
    "GET /api/audit/events": Row(READERS),
    "GET /api/audit/verify": Row(READERS),
    "GET /api/audit/tree": Row(READERS),
    "GET /api/audit/proofs/inclusion": Row(PROOF_READERS, query={"seq": "1"}),
    "GET /api/audit/proofs/consistency": Row(PROOF_READERS, query={"old_size": "1"}),
    "GET /api/audit/public-key": Row(None),
    "GET /api/audit/tsa-certificates": Row(None),
    "GET /api/audit/checkpoints/latest": Row(PROOF_READERS),
    "GET /api/audit/checkpoints/{size:int}": Row(PROOF_READERS),
    "GET /api/audit/export": Row(AUDITORS, query={"tender": "T-PUBLISHED"}),
    "GET /ocds/releases": Row(None),
    # The pages: public, and a draft is shown to nobody.
    "GET /": Row(None),
    "GET /tenders/{tender_id:uuid}": Row(None, published),
    "GET /language": Row(None, query={"to": "zh-Hant-HK"}),
    "GET /sign-in": Row(None),
    "POST /sign-in": Row(
        None, no_one_with_a_wrong_password, form={"email": "s1@example.com", "password": "no"}
    ),
    "POST /sign-out": Row(SIGNED_IN, own_account=True),
    "GET /register": Row(None),
    "POST /register": Row(None, form={"name_en": "Gamma Ltd", "password": "short"}),
    "GET /register/sent": Row(None),
    "GET /confirm-email": Row(None, query={"token": "not-a-token"}),
    "POST /confirm-email": Row(None, no_one_with_an_unknown_link, form={"token": "not-a-token"}),
    "GET /supplier": Row(SUPPLIERS, own_account=True),
    "GET /supplier/tenders/{tender_id:uuid}": Row(SUPPLIERS, visible),
    "POST /supplier/tenders/{tender_id:uuid}/questions": Row(
        SUPPLIERS, visible, form={"question": "Is steel allowed?"}
    ),
    "POST /supplier/tenders/{tender_id:uuid}/withdrawal": Row(
        SUPPLIERS, visible, form={"file_name": "bid.pdf"}
    ),
    "GET /supplier/receipts/{receipt_id:uuid}": Row(SUPPLIERS, own_receipt),
    "GET /supplier/receipts/{receipt_id:uuid}/receipt.json": Row(SUPPLIERS, own_receipt),
    "GET /supplier/certificates": Row(SUPPLIERS, own_account=True),
    "POST /supplier/certificates/challenge": Row(SUPPLIERS, own_account=True),
    "POST /supplier/certificates": Row(SUPPLIERS, form={"challenge_id": "none"}, own_account=True),
    "GET /supplier/tenders/{tender_id:uuid}/upload": Row(SUPPLIERS, visible),
    # The committee's pages: members and the tender's overseers (these tenders have none).
    "GET /committee": Row(READERS),
    "GET /committee/tenders/{tender_id:uuid}": Row(READERS, overseer),
    "POST /committee/tenders/{tender_id:uuid}/release": Row(
        READERS, nobody, form={"share": "AAAA"}
    ),
    # The auditors' pages; checking a receipt needs no account.
    "GET /auditor": Row(AUDITORS),
    "GET /auditor/tenders/{tender_id:uuid}": Row(AUDITORS, visible),
    "GET /auditor/checkpoints": Row(AUDITORS),
    "GET /verify": Row(None),
    "POST /verify": Row(None, form={"receipt": "not a receipt"}),
    "GET /static/{file_path:path}": Row(None),
    "HEAD /static/{file_path:path}": Row(None),
    # The officer's pages: what the API allows them, on their organisation's tenders.
    "GET /officer": Row(OFFICERS),
    "GET /officer/tenders/new": Row(OFFICERS),
    "POST /officer/tenders": Row(
        OFFICERS,
        form={
            "reference": "T-PAGE",
            "title": "Slope works",
            "deadline": "2026-12-20T17:00",
            "opening": "automatic",
        },
    ),
    f"GET {OT}": Row(OFFICERS, buyer),
    f"GET {OT}/edit": Row(OFFICERS, buyer),
    f"POST {OT}/edit": Row(
        OFFICERS,
        buyer,
        form={"reference": "T-EDITED", "title": "Road works", "deadline": "2026-12-20T17:00"},
    ),
    f"POST {OT}/publish": Row(OFFICERS, buyer),
    f"POST {OT}/cancellation": Row(OFFICERS, buyer, form={"reason": "The budget was withdrawn."}),
    f"GET {OT}/addenda/new": Row(OFFICERS, buyer),
    f"POST {OT}/addenda": Row(OFFICERS, buyer, form={"text": "The drawings are corrected."}),
    f"POST {OT}/clarifications/{{clarification_id:uuid}}/answer": Row(
        OFFICERS, buyer_of_an_asked_tender, form={"answer": "Yes."}
    ),
    f"POST {OT}/qualification": Row(
        OFFICERS,
        buyer,
        form={"supplier_id": str(uuid.UUID(int=1)), "qualified": "yes", "reason": "Complete."},
    ),
    f"POST {OT}/financial-opening": Row(OFFICERS, buyer),
    f"POST {OT}/award": Row(
        OFFICERS,
        buyer,
        form={"winners": "Alpha Ltd", "value": "100.00", "currency": "HKD", "reasons": "Best."},
    ),
}

PASSWORD: Final = "x" * 12


@dataclass
class Scenario:
    """The ids the table's paths are filled with, and each caller's token."""

    tokens: dict[str, str]
    tenders: dict[str, str]  # state -> O1's tender in that state
    receipts: dict[str, str]  # state -> S1's receipt on that tender
    clarifications: dict[str, str]  # state -> S1's question on that tender
    spare_tokens: dict[str, str]  # caller -> a token of theirs they may revoke
    spare_org: str  # an organisation the admin may activate and suspend
    plain_tokens: dict[Role, str]  # tokens made without a second factor

    def headers(self, caller: str) -> dict[str, str]:
        if caller == ANONYMOUS:
            return {}
        return {"Authorization": f"Bearer {self.tokens[caller]}"}

    def path(self, template: str, caller: str, state: str | None) -> str:
        values = {
            "tender_id": self.tenders[state or PUBLISHED],
            "name": "spec.pdf",
            "file_name": "bid.pdf",
            "receipt_id": self.receipts[state or PUBLISHED],
            "clarification_id": self.clarifications[state or PUBLISHED],
            "upload_id": str(uuid.UUID(int=0)),  # none such: the tender's rule is what is tested
            "token_id": self.spare_tokens.get(caller, str(uuid.UUID(int=0))),
            "organisation_id": self.spare_org,
            "size": "1",
            "file_path": "tender.css",
        }
        return re.sub(r"\{(\w+):\w+\}", lambda m: values[m.group(1)], template)


@dataclass(frozen=True)
class Outcome:
    status: int
    answer: Any  # the JSON answer, or None
    refusal_events: list[AuditEvent]  # what the trail recorded for this call

    @property
    def refused(self) -> bool:
        """401, 403, or the 404 of a tender the caller may not see (answered as if it did not
        exist); any other 4xx is the route's own answer to a dummy body or the tender's state."""
        if self.status in (401, 403, 429):  # 429: a sign-in refused after too many failures
            return True
        if self.status == 404 and self.answer is None:
            return True  # a page's "nothing at this address" (HTML): a tender not shown
        what = self.answer.get("what", "") if isinstance(self.answer, dict) else ""
        return self.status == 404 and what.startswith("There is no tender")


Cell = tuple[str, str, str | None]  # route, caller, state


def expected_allowed(key: str, caller: str, state: str | None) -> bool:
    row = ROUTES[key]
    if row.roles is None:
        return row.rule(caller, state)
    if caller == ANONYMOUS or ROLE_OF[caller] not in row.roles:
        return False
    return row.rule(caller, state)


def cells() -> list[Cell]:
    return [
        (key, caller, state)
        for key in ROUTES
        for state in (STATES if "{tender_id" in key else (None,))
        for caller in CALLERS
    ]


def app_routes(app: Litestar) -> dict[str, BaseRouteHandler]:
    return {
        f"{method} {route.path}": handler
        for route in app.routes
        if isinstance(route, HTTPRoute) and not route.path.startswith("/schema")
        for handler in route.route_handlers
        for method in sorted(handler.http_methods - {"OPTIONS"})
    }


def needs_second_factor(handler: BaseRouteHandler) -> bool:
    return any(
        isinstance(guard, RoleGuard) and guard.second_factor
        for layer in handler.ownership_layers
        for guard in layer.guards or ()
    )


@dataclass
class World:
    platform: Platform
    app: Litestar
    scenario: Scenario
    outcomes: dict[Cell, Outcome]
    anonymous_log: list[str]


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    s3_config: S3Config,
    test_pki: TestPKI,
    platform_trust: TrustStore,
) -> Iterator[World]:
    settings = settings_on_a_copy(
        tmp_path_factory.mktemp("matrix"),
        sqlite_template,
        s3_config,
        chunk_size=4096,
        rate_limit_per_minute=0,  # the matrix is a thousand requests from one address
    )
    clock = ManualClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    platform = platform_of(
        settings, s3_config, test_pki, broker=StubBroker(), clock=clock, trust=platform_trust
    )
    app = create_app(platform)
    try:
        with TestClient(app) as client:
            scenario = _scenario(platform, client, clock, test_pki)
            outcomes, anonymous_log = _run(platform, client, scenario)
        yield World(platform, app, scenario, outcomes, anonymous_log)
    finally:
        platform.close()


def _scenario(
    platform: Platform, client: TestClient[Litestar], clock: ManualClock, pki: TestPKI
) -> Scenario:
    tokens: dict[str, str] = {}
    spare_tokens: dict[str, str] = {}
    plain_tokens: dict[Role, str] = {}
    with platform.sessions.begin() as session:
        accounts = AccountService(session=session, clock=clock)
        sign_in = SignInService(session=session, clock=clock)
        o2 = accounts.add_organisation(
            kind=OrganisationKind.BUYER,
            name_en="Other Department",
            name_zh="另一部門",
            status=OrganisationStatus.ACTIVE,
        )
        spare = accounts.add_organisation(
            kind=OrganisationKind.SUPPLIER, name_en="Spare Ltd", status=OrganisationStatus.ACTIVE
        )
        users = {}
        for caller, name, org in (
            (OFFICER, "Olivia", "Procuring Entity"),
            (BIDDER, "Alice", "Alpha Ltd"),
            (SUPPLIER, "Bob", "Beta Ltd"),
            (OUTSIDER, "Otto", o2),
            (AUDITOR, "Aaron", "Audit Office"),
            (AUDITOR_ELSEWHERE, "Ann", "Audit Office"),
            (ADMIN, "Ada", "Platform Operator"),
        ):
            users[caller], tokens[caller] = accounts.create_user(
                name=name, organisation=org, role=ROLE_OF[caller]
            )
            row, _ = sign_in.issue_token(
                users[caller], name="spare", second_factor=True, expires_at=None, by=name
            )
            spare_tokens[caller] = str(row.id)
        for caller in (OFFICER, ADMIN, AUDITOR):
            plain_tokens[ROLE_OF[caller]] = sign_in.issue_token(
                users[caller], name="plain", second_factor=False, expires_at=None, by="test"
            )[1]
        session.query(AuditorAppointment).filter_by(
            auditor_id=users[AUDITOR_ELSEWHERE].id
        ).one().organisation_id = o2.id
        # Someone who signs in with a password alone, for the public sign-in route.
        accounts.create_user(
            name="Sam",
            organisation="Sigma Ltd",
            role=Role.SUPPLIER,
            email="sam@example.com",
            password=PASSWORD,
        )
        spare_org = str(spare.id)
    register_signer(platform, users[BIDDER], pki, "supplier-a")

    def call(caller: str, method: str, path: str, **kwargs: Any) -> Any:
        answer = client.request(
            method, path, headers={"Authorization": f"Bearer {tokens[caller]}"}, **kwargs
        )
        assert answer.is_success, f"{method} {path}: {answer.text}"
        return answer.json()

    def tender(state: str, hours: float) -> tuple[str, str, str]:
        """O1's tender in ``state``, with a document, S1's bid and S1's question (not for a
        draft)."""
        body = {
            "reference": f"T-{state.upper()}",
            "title": "Road works",
            "deadline": format_time(clock.now() + timedelta(hours=hours)),
            "opening": "automatic",
        }
        tender_id = call(OFFICER, "POST", "/api/tenders", json=body)["id"]
        call(OFFICER, "PUT", f"/api/tenders/{tender_id}/documents/spec.pdf", content=b"%PDF spec")
        if state == DRAFT:
            return tender_id, str(uuid.uuid4()), str(uuid.uuid4())
        call(OFFICER, "POST", f"/api/tenders/{tender_id}/publish")
        bid = signed_pdf(pki, "supplier-a", "Alpha's price")
        receipt = call(BIDDER, "PUT", f"/api/tenders/{tender_id}/bids/bid.pdf", content=bid)
        question = {"question": "May the works start in January?"}
        asked = call(BIDDER, "POST", f"/api/tenders/{tender_id}/clarifications", json=question)
        return tender_id, receipt["receipt_id"], asked["id"]

    built = {OPENED: tender(OPENED, hours=1)}
    clock.advance(timedelta(hours=1, seconds=1))
    platform.opener.open_tender(uuid.UUID(built[OPENED][0]))
    built[PUBLISHED] = tender(PUBLISHED, hours=48)
    built[DRAFT] = tender(DRAFT, hours=72)
    return Scenario(
        tokens=tokens,
        tenders={state: ids[0] for state, ids in built.items()},
        receipts={state: ids[1] for state, ids in built.items()},
        clarifications={state: ids[2] for state, ids in built.items()},
        spare_tokens=spare_tokens,
        spare_org=spare_org,
        plain_tokens=plain_tokens,
    )


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _run(
    platform: Platform, client: TestClient[Litestar], scenario: Scenario
) -> tuple[dict[Cell, Outcome], list[str]]:
    """Every cell: first all but the allowed changes, then those (they change the tenders)."""
    todo = cells()
    first = [c for c in todo if c[0].startswith("GET") or not expected_allowed(*c)]
    last = [c for c in todo if c not in first]
    handler = _Lines()
    web_log = logging.getLogger("tender.web")
    web_log.addHandler(handler)
    try:
        outcomes = {cell: _call(platform, client, scenario, *cell) for cell in first + last}
    finally:
        web_log.removeHandler(handler)
    return outcomes, handler.lines


def _call(
    platform: Platform,
    client: TestClient[Litestar],
    scenario: Scenario,
    key: str,
    caller: str,
    state: str | None,
) -> Outcome:
    method, template = key.split(" ", 1)
    row = ROUTES[key]
    body = row.body(scenario) if callable(row.body) else row.body
    with platform.sessions.begin() as session:
        last_seq = session.scalar(select(func.max(AuditEvent.seq))) or 0
    client.cookies.clear()  # a sign-in's cookie must not sign in the next caller
    answer = client.request(
        method,
        scenario.path(template, caller, state),
        params=row.query,
        headers=scenario.headers(caller),
        json=body if isinstance(body, dict) else None,
        content=body if isinstance(body, bytes) else None,
        data=row.form,
        follow_redirects=False,
    )
    with platform.sessions.begin() as session:
        events = list(
            session.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.seq > last_seq,
                    AuditEvent.kind.in_([EventKind.REQUEST_REFUSED, EventKind.BID_REFUSED]),
                )
                .order_by(AuditEvent.seq)
            )
        )
        session.expunge_all()
    is_json = answer.headers.get("content-type", "").startswith("application/json")
    status = answer.status_code
    if status == 303 and answer.headers["location"].startswith("/sign-in?"):
        status = 401  # a page for the signed-in sends a stranger to sign in: its 401
    return Outcome(status, answer.json() if is_json else None, events)


def _describe(cell: Cell, outcome: Outcome) -> str:
    key, caller, state = cell
    where = f" on the {state} tender" if state else ""
    said = outcome.answer.get("what") if isinstance(outcome.answer, dict) else ""
    return f"{key}{where} as {caller}: {outcome.status} {said or ''}".rstrip()


def test_the_table_has_a_row_for_every_route_of_the_app(world: World) -> None:
    routes = set(app_routes(world.app))

    missing = sorted(routes - ROUTES.keys())
    gone = sorted(ROUTES.keys() - routes)

    assert not missing, (
        f"routes without a row in ROUTES (add one saying who may call it): {missing}"
    )
    assert not gone, f"rows in ROUTES for routes the app no longer has: {gone}"


def test_the_table_admits_the_roles_the_code_declares(world: World) -> None:
    drifted = [
        f"{key}: the table says {sorted(r.value for r in ROUTES[key].roles or ())}, "
        f"the code {sorted(r.value for r in rule or ())}"
        for key, handler in app_routes(world.app).items()
        if key in ROUTES and (rule := rule_of(handler)) != ROUTES[key].roles
    ]

    assert not drifted, "\n".join(drifted)


def test_every_cell_is_refused_or_allowed_as_the_rules_say(world: World) -> None:
    wrong = []
    for cell, outcome in world.outcomes.items():
        allowed = expected_allowed(*cell)
        if outcome.status >= 500:
            wrong.append(f"failed: {_describe(cell, outcome)}")
        elif allowed and outcome.refused:
            wrong.append(f"refused, should be allowed: {_describe(cell, outcome)}")
        elif not allowed and not outcome.refused:
            wrong.append(f"allowed, should be refused: {_describe(cell, outcome)}")

    assert len(world.outcomes) == len(cells())
    assert not wrong, "\n".join(wrong)


def test_anonymous_callers_are_refused_with_401_everywhere_but_public_routes(
    world: World,
) -> None:
    for (key, caller, state), outcome in world.outcomes.items():
        if caller == ANONYMOUS and ROUTES[key].roles is not None:
            assert outcome.status == 401, _describe((key, caller, state), outcome)


def test_a_supplier_never_sees_drafts(world: World) -> None:
    draft = world.scenario.tenders[DRAFT]
    for supplier in (BIDDER, SUPPLIER):
        listed = world.outcomes[("GET /api/tenders", supplier, None)]
        assert draft not in [t["id"] for t in listed.answer]
        for key in ROUTES:
            if "{tender_id" in key:
                outcome = world.outcomes[(key, supplier, DRAFT)]
                assert outcome.status in (403, 404), _describe((key, supplier, DRAFT), outcome)
                assert "T-DRAFT" not in str(outcome.answer)


def test_a_supplier_sees_its_own_receipts_only_and_no_counts_of_documents(world: World) -> None:
    receipt = world.scenario.receipts[PUBLISHED]
    for state in (PUBLISHED, OPENED):
        bidder = world.outcomes[(f"GET {T}/bids", BIDDER, state)].answer
        other = world.outcomes[(f"GET {T}/bids", SUPPLIER, state)].answer
        assert [r["supplier"] for r in bidder["own_receipts"]] == ["Alice"]
        assert other["own_receipts"] == []
        assert bidder["documents_received"] is None
        assert other["documents_received"] is None
    officer = world.outcomes[(f"GET {T}/bids", OFFICER, PUBLISHED)].answer
    assert officer["documents_received"] == 1  # the buying officers do see the count
    for outsider in (OUTSIDER, ADMIN, AUDITOR_ELSEWHERE):  # nobody else is told
        assert (
            world.outcomes[(f"GET {T}/bids", outsider, PUBLISHED)].answer["documents_received"]
            is None
        )
    listed = world.outcomes[("GET /api/receipts", SUPPLIER, None)].answer
    assert receipt not in str(listed)
    assert world.outcomes[("GET /api/receipts/{receipt_id:uuid}/pdf", BIDDER, None)].status == 200
    assert world.outcomes[("GET /api/receipts/{receipt_id:uuid}/pdf", SUPPLIER, None)].refused


def test_an_officer_of_another_organisation_can_do_nothing_to_a_tender(world: World) -> None:
    for (key, caller, state), outcome in world.outcomes.items():
        if caller != OUTSIDER or state is None:
            continue
        if not key.startswith("GET") or ROUTES[key].bid_content or ROUTES[key].rule is buyer:
            assert outcome.refused, _describe((key, caller, state), outcome)


def test_an_auditor_changes_nothing_but_their_own_account(world: World) -> None:
    for (key, caller, state), outcome in world.outcomes.items():
        if caller not in (AUDITOR, AUDITOR_ELSEWHERE) or key.startswith("GET"):
            continue
        if ROUTES[key].own_account or ROUTES[key].roles is None:
            continue
        assert outcome.refused, _describe((key, caller, state), outcome)


def test_no_one_reads_bid_content_before_the_opening(world: World) -> None:
    for (key, caller, state), outcome in world.outcomes.items():
        if ROUTES[key].bid_content and state in (DRAFT, PUBLISHED):
            assert not 200 <= outcome.status < 300, _describe((key, caller, state), outcome)
    for caller in (ADMIN, OUTSIDER, BIDDER, AUDITOR_ELSEWHERE):  # not after it either
        for key, row in ROUTES.items():
            if row.bid_content:
                assert world.outcomes[(key, caller, OPENED)].refused
    document = f"GET {T}/opening/documents/{{receipt_id:uuid}}"
    assert world.outcomes[(document, OFFICER, OPENED)].status == 200
    assert world.outcomes[(document, AUDITOR, OPENED)].status == 200


def test_each_refusal_of_a_signed_in_caller_is_audited(world: World) -> None:
    unaudited = []
    for cell, outcome in world.outcomes.items():
        key, caller, state = cell
        # A public route does not authenticate: whoever calls it is anonymous to it.
        if caller == ANONYMOUS or not outcome.refused or ROUTES[key].roles is None:
            continue
        events = outcome.refusal_events
        path = world.scenario.path(key.split(" ", 1)[1], caller, state)
        # Before the opening, a supplier's refusal on a tender is sealed like a bid.
        said = [e.payload.get("path") for e in events if e.actor != SEALED_ACTOR]
        if len(events) != 1 or (said and said != [path]):
            unaudited.append(_describe(cell, outcome))

    assert not unaudited, "\n".join(unaudited)


def test_anonymous_refusals_go_to_the_operational_log_not_the_trail(world: World) -> None:
    anonymous = [
        outcome
        for (_, caller, _), outcome in world.outcomes.items()
        if caller == ANONYMOUS and outcome.refused
    ]

    assert anonymous
    assert all(outcome.refusal_events == [] for outcome in anonymous)
    assert any(line.startswith("refused ") for line in world.anonymous_log)


def test_routes_that_need_a_second_factor_refuse_a_token_without_one(world: World) -> None:
    needing = {key: h for key, h in app_routes(world.app).items() if needs_second_factor(h)}
    assert {f"POST {T}/publish", f"POST {T}/award", "POST /api/admin/users"} <= needing.keys()
    with TestClient(world.app) as client:
        for key, handler in needing.items():
            method, template = key.split(" ", 1)
            role = next(iter(rule_of(handler) or ()))
            row = ROUTES[key]
            body = row.body(world.scenario) if callable(row.body) else row.body
            answer = client.request(
                method,
                world.scenario.path(template, OFFICER, PUBLISHED),
                headers={"Authorization": f"Bearer {world.scenario.plain_tokens[role]}"},
                json=body if isinstance(body, dict) else None,
            )
            assert answer.status_code == 403, key
            json = answer.headers["content-type"].startswith("application/json")
            said = answer.json()["what"] if json else answer.text  # a page's: its error page
            assert "without a second factor" in said, key
