"""Who may call which route: the guards, through the real app, on both databases.

Every refusal answers with what happened, why and what to do, and is in the audit trail.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar import Controller, Litestar, get
from litestar.di import NamedDependency, Provide
from litestar.testing import TestClient
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy.orm import Session

from tender.accounts.guards import EVERY_ROLE, PUBLIC, allow, routes_without_a_rule, rule_of
from tender.accounts.models import Role
from tender.app import create_app
from tender.audit import service as audit
from tender.clock import ManualClock
from tender.errors import Conflict
from tender.platform import Platform
from tender.signing.testing import TestPKI
from tender.verifier.kinds import EventKind
from tender.web import refusal_handlers, unit_of_work
from tests.conftest import People
from tests.helpers import audit_kinds, opened_with_one_valid_bid, published_tender


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(platform)) as client:
        yield client


def _as(people: People, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {people.tokens[name]}"}


def test_every_route_of_the_app_has_exactly_the_rule_it_declares(platform: Platform) -> None:
    app = create_app(platform)
    rules = {
        (method, path): rule_of(handler)
        for route in app.routes
        if not route.path.startswith("/schema")
        for handler in getattr(route, "route_handlers", ())
        for method in handler.http_methods - {"OPTIONS"}
        for path in [route.path]
    }
    assert rules[("GET", "/health")] is None  # public
    assert rules[("GET", "/api/audit/public-key")] is None
    assert rules[("POST", "/api/tenders")] == frozenset({Role.OFFICER})
    assert rules[("PUT", "/api/tenders/{tender_id:uuid}/bids/{file_name:str}")] == frozenset(
        {Role.SUPPLIER}
    )
    assert rules[("GET", "/api/audit/export")] == frozenset({Role.AUDITOR})
    assert rules[
        ("GET", "/api/tenders/{tender_id:uuid}/opening/documents/{receipt_id:uuid}")
    ] == frozenset({Role.OFFICER, Role.AUDITOR})
    assert all(rule is None or rule for rule in rules.values())  # nothing without a rule


def test_an_app_with_a_route_that_has_no_rule_is_refused() -> None:
    class Forgetful(Controller):
        path = "/forgot"

        @get("/", sync_to_thread=False)
        def unguarded(self) -> str:
            return "anyone"

        @get("/guarded", guards=allow(*EVERY_ROLE, to="look"), sync_to_thread=False)
        def guarded(self) -> str:
            return "signed in"

        @get("/open", opt=PUBLIC, sync_to_thread=False)
        def public(self) -> str:
            return "public"

    app = Litestar(route_handlers=[Forgetful])

    assert routes_without_a_rule(app, except_under="/schema") == ["GET /forgot"]


def test_signing_in_is_needed_except_for_public_routes(
    client: TestClient[Litestar], people: People
) -> None:
    assert client.get("/health").status_code == 200
    assert client.get("/api/audit/public-key").status_code == 200
    anonymous = client.get("/api/tenders")
    mistyped = client.get("/api/tenders", headers={"Authorization": "Bearer not-a-token"})

    assert anonymous.status_code == 401
    assert anonymous.json()["what_to_do"] == (
        "Send the header 'Authorization: Bearer <your token>', or sign in (POST /api/session)."
    )
    assert mistyped.status_code == 401
    assert "not recognised" in mistyped.json()["message"]


@pytest.mark.parametrize(
    ("who", "method", "path", "action"),
    [
        ("Alice", "POST", "/api/tenders", "create tenders"),
        ("Aaron", "POST", "/api/tenders/{tender}/publish", "publish tenders"),
        ("Olivia", "PUT", "/api/tenders/{tender}/bids/x.pdf", "submit bids"),
        ("Olivia", "POST", "/api/account/certificates", "register signing certificates"),
        ("Alice", "GET", "/api/tenders/{tender}/opening", "read opening records"),
        ("Alice", "GET", "/api/audit/events", "read the audit trail"),
        ("Olivia", "GET", "/api/audit/export", "export the audit trail"),
    ],
)
def test_a_role_without_the_right_is_refused_with_the_reason_and_audited(
    client: TestClient[Litestar],
    platform: Platform,
    people: People,
    clock: ManualClock,
    who: str,
    method: str,
    path: str,
    action: str,
) -> None:
    tender = published_tender(platform, people.officer, clock)

    answer = client.request(
        method, path.format(tender=tender.id), headers=_as(people, who), content=b"x"
    )

    assert answer.status_code == 403
    body = answer.json()
    assert body["what"] == f"You cannot {action}."
    assert "has the role" in body["why"]
    assert body["what_to_do"]
    assert audit_kinds(platform)[-1] == "request.refused"


def test_a_refusal_inside_a_tender_names_that_tender_in_the_trail(
    client: TestClient[Litestar], platform: Platform, people: People, clock: ManualClock
) -> None:
    tender = published_tender(platform, people.officer, clock)

    client.post(f"/api/tenders/{tender.id}/publish", headers=_as(people, "Alice"))

    assert audit_kinds(platform, tender.id)[-1] == "request.refused"


def test_only_officers_and_auditors_read_bid_documents_after_the_opening(
    client: TestClient[Litestar],
    platform: Platform,
    people: People,
    clock: ManualClock,
    test_pki: TestPKI,
) -> None:
    tender = opened_with_one_valid_bid(platform, people, clock, test_pki)
    record = client.get(f"/api/tenders/{tender.id}/opening", headers=_as(people, "Aaron")).json()
    receipt_id = record["bids"][0]["receipt_id"]
    path = f"/api/tenders/{tender.id}/opening/documents/{receipt_id}"

    assert client.get(path, headers=_as(people, "Olivia")).status_code == 200
    assert client.get(path, headers=_as(people, "Aaron")).status_code == 200
    assert client.get(path, headers=_as(people, "Alice")).status_code == 403
    assert audit_kinds(platform, tender.id).count("bid.read") == 2


def test_a_refused_change_is_rolled_back_and_only_the_refusal_is_recorded(
    platform: Platform, people: People, clock: ManualClock
) -> None:
    """The request's unit of work: what a handler changed before a refusal is not kept; the
    refusal is recorded on its own."""

    def signed_in_as_officer(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            scope["user"] = people.officer
            await app(scope, receive, send)

        return middleware

    @get("/change-then-refuse", opt=PUBLIC, sync_to_thread=True)
    def change_then_refuse(db_session: NamedDependency[Session]) -> None:
        audit.append(db_session, kind=EventKind.USER_CREATED, actor="test", at=clock.now())
        db_session.flush()
        raise Conflict("Refused after a change.", "To test the rollback.", "Nothing.")

    @get("/change", opt=PUBLIC, sync_to_thread=True)
    def change(db_session: NamedDependency[Session]) -> None:
        audit.append(db_session, kind=EventKind.USER_CREATED, actor="test", at=clock.now())

    app = Litestar(
        route_handlers=[change_then_refuse, change],
        dependencies={"db_session": Provide(unit_of_work(platform.sessions))},
        exception_handlers=refusal_handlers(platform.sessions, clock),
        middleware=[signed_in_as_officer],
    )
    before = audit_kinds(platform)
    with TestClient(app) as client:
        refused = client.get("/change-then-refuse")
        committed = client.get("/change")

    assert refused.status_code == 409
    assert committed.status_code == 200
    assert audit_kinds(platform)[len(before) :] == ["request.refused", "user.created"]
