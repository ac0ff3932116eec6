"""Signing in through the real app: passwords, browser sessions with CSRF protection, the
throttling of failed sign-ins, API tokens, and the second factor (TOTP) where it is needed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, Literal

import pytest
from argon2 import PasswordHasher
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from tender.accounts import credentials
from tender.accounts.models import Role, User
from tender.accounts.service import AccountService
from tender.accounts.signin import spend_code
from tender.app import create_app
from tender.audit.models import AuditEvent
from tender.clock import ManualClock, format_time
from tender.config import Settings
from tender.platform import Platform
from tests.conftest import People
from tests.helpers import audit_kinds

PASSWORD = "correct horse battery staple"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The test client speaks plain HTTP, over which a Secure cookie is never sent back.
    return settings.with_overrides(cookie_secure=False)


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(platform)) as client:
        yield client


def _user(platform: Platform, name: str, email: str, role: Role, org: str) -> tuple[User, str]:
    with platform.sessions.begin() as session:
        return AccountService(session=session, clock=platform.clock).create_user(
            name=name, organisation=org, role=role, email=email, password=PASSWORD
        )


@pytest.fixture
def sam(platform: Platform) -> User:
    """A supplier who signs in with a password alone."""
    return _user(platform, "Sam", "Sam@Example.com", Role.SUPPLIER, "Sigma Ltd")[0]


def _sign_in(
    client: TestClient[Litestar], email: str, password: str = PASSWORD, code: str | None = None
) -> dict[str, str]:
    answer = client.post("/api/session", json={"email": email, "password": password, "code": code})
    assert answer.status_code == 201, answer.text
    csrf: str = answer.json()["csrf_token"]
    return {"X-CSRF-Token": csrf}


def test_a_session_cookie_signs_in_and_changes_need_its_csrf_token(
    client: TestClient[Litestar], sam: User, platform: Platform
) -> None:
    answer = client.post("/api/session", json={"email": "sam@example.com", "password": PASSWORD})

    assert answer.status_code == 201, answer.text
    cookie = answer.headers["set-cookie"]
    assert "tender_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    csrf = {"X-CSRF-Token": answer.json()["csrf_token"]}
    assert client.get("/api/account").json()["name"] == "Sam"  # the cookie alone reads

    forged = client.post("/api/account/tokens", json={"name": "script"})
    assert forged.status_code == 403
    assert "X-CSRF-Token" in forged.json()["what_to_do"]
    assert client.post("/api/account/tokens", json={"name": "script"}, headers=csrf).is_success

    assert client.delete("/api/session", headers=csrf).status_code == 200
    client.cookies.set("tender_session", answer.cookies["tender_session"])
    ended = client.get("/api/account")
    assert ended.status_code == 401
    assert "session has ended" in ended.json()["what"]
    assert "session.signed_in" in audit_kinds(platform)


def test_failed_sign_ins_lock_the_account_for_a_while_and_are_audited(
    client: TestClient[Litestar], sam: User, platform: Platform, clock: ManualClock
) -> None:
    for _ in range(5):
        wrong = client.post(
            "/api/session", json={"email": "sam@example.com", "password": "guess" * 3}
        )
    locked = client.post("/api/session", json={"email": "sam@example.com", "password": PASSWORD})

    assert wrong.status_code == 429
    assert locked.status_code == 429  # the right password waits too
    until = format_time(clock.now() + timedelta(minutes=15))
    assert locked.json()["what"] == f"Signing in to this account is locked until {until}."
    assert "5 failed sign-ins" in locked.json()["why"]
    assert int(locked.headers["retry-after"]) == 15 * 60
    kinds = audit_kinds(platform)
    assert kinds.count("session.sign_in_failed") == 5
    assert kinds.count("session.sign_in_throttled") == 1
    with platform.sessions.begin() as session:
        payloads = [json.dumps(e.payload) for e in session.scalars(select(AuditEvent))]
    assert not any("guess" in p or PASSWORD in p for p in payloads)  # never the password

    clock.advance(timedelta(minutes=15, seconds=1))
    _sign_in(client, "sam@example.com")


def test_an_officer_signs_in_with_a_code_from_an_enrolled_authenticator(
    client: TestClient[Litestar], platform: Platform, clock: ManualClock
) -> None:
    _, token = _user(platform, "Olga", "olga@works.gov.hk", Role.OFFICER, "Works Department")
    bearer = {"Authorization": f"Bearer {token}"}

    refused = client.post("/api/session", json={"email": "olga@works.gov.hk", "password": PASSWORD})
    assert refused.status_code == 422
    assert "POST /api/account/totp" in refused.json()["what_to_do"]

    secret = client.post("/api/account/totp", headers=bearer).json()["secret"]
    code = credentials.totp_now(secret, at=clock.now())
    confirmed = client.post("/api/account/totp/confirm", json={"code": code}, headers=bearer)
    assert confirmed.status_code == 200, confirmed.text

    no_code = client.post("/api/session", json={"email": "olga@works.gov.hk", "password": PASSWORD})
    assert no_code.status_code == 401
    assert "code" in no_code.json()["what"]
    clock.advance(timedelta(seconds=30))  # the code that confirmed is spent
    answer = client.post(
        "/api/session",
        json={
            "email": "olga@works.gov.hk",
            "password": PASSWORD,
            "code": credentials.totp_now(secret, at=clock.now()),
        },
    )
    assert answer.status_code == 201
    assert answer.json()["second_factor"] is True
    assert "totp.enrolled" in audit_kinds(platform)


def test_a_code_is_accepted_once(
    client: TestClient[Litestar], platform: Platform, clock: ManualClock
) -> None:
    _, token = _user(platform, "Olga", "olga@works.gov.hk", Role.OFFICER, "Works Department")
    bearer = {"Authorization": f"Bearer {token}"}
    secret = client.post("/api/account/totp", headers=bearer).json()["secret"]
    confirming = credentials.totp_now(secret, at=clock.now())
    assert client.post(
        "/api/account/totp/confirm", json={"code": confirming}, headers=bearer
    ).is_success
    clock.advance(timedelta(seconds=30))
    code = credentials.totp_now(secret, at=clock.now())
    olga = {"email": "olga@works.gov.hk", "password": PASSWORD}
    _sign_in(client, **olga, code=code)

    clock.advance(timedelta(seconds=20))  # still within the code's window
    again = client.post("/api/session", json={**olga, "code": code})
    earlier = client.post("/api/session", json={**olga, "code": confirming})
    token_with_it = client.post(
        "/api/account/tokens", json={"name": "script", "code": code}, headers=bearer
    )

    for refused, status in ((again, 401), (earlier, 401), (token_with_it, 403)):
        assert refused.status_code == status, refused.text
        assert refused.json()["what"] == "This code from your authenticator was used already."
        assert "next code" in refused.json()["what_to_do"]
    with platform.sessions.begin() as session:
        failures = session.scalars(
            select(AuditEvent).where(AuditEvent.kind == "session.sign_in_failed")
        ).all()
        assert [event.payload["reason"] for event in failures] == ["code used already"] * 3
    clock.advance(timedelta(seconds=10))  # the next code
    _sign_in(client, **olga, code=credentials.totp_now(secret, at=clock.now()))


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_two_requests_racing_with_one_code_spend_it_once(platform: Platform) -> None:
    """Each request read the user before the other spent the code: only one may spend it.
    (SQLite runs one writing transaction at a time, so the race is PostgreSQL's.)"""
    user, _ = _user(platform, "Olga", "olga@works.gov.hk", Role.OFFICER, "Works Department")
    with platform.sessions.begin() as first, platform.sessions.begin() as second:
        racing = [session.get(User, user.id) for session in (first, second)]
        assert all(u is not None and u.totp_last_step is None for u in racing)
        assert spend_code(first, racing[0], 1000)  # type: ignore[arg-type]
        first.commit()
        assert not spend_code(second, racing[1], 1000)  # type: ignore[arg-type]


def test_an_overlong_password_is_refused_without_hashing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hashed: list[int] = []

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            hashed.append(len(password))
            return super().verify(hash, password)

    monkeypatch.setattr(credentials, "_hasher", Counting())
    stored = credentials.hash_password(PASSWORD)

    assert not credentials.password_matches(stored, "x" * 1_000_000)
    assert credentials.password_matches(stored, PASSWORD)
    assert hashed == [len(PASSWORD)]


def test_tokens_are_shown_once_listed_revoked_and_expire(
    client: TestClient[Litestar], people: People, clock: ManualClock
) -> None:
    alice = {"Authorization": f"Bearer {people.tokens['Alice']}"}
    made = client.post("/api/account/tokens", json={"name": "nightly", "days": 1}, headers=alice)
    assert made.status_code == 201
    token, about = made.json()["token"], made.json()["about"]
    mine = {"Authorization": f"Bearer {token}"}

    assert client.get("/api/account", headers=mine).json()["name"] == "Alice"
    listed = client.get("/api/account/tokens", headers=alice).json()
    assert [t["name"] for t in listed] == ["made by the operator", "nightly"]
    assert token not in json.dumps(listed)  # shown once, never again

    clock.advance(timedelta(days=1))
    expired = client.get("/api/account", headers=mine)
    assert expired.status_code == 401
    assert "'nightly' expired at" in expired.json()["what"]

    revoked = client.delete(f"/api/account/tokens/{listed[0]['id']}", headers=alice)
    assert revoked.json()["revoked_at"] is not None
    refused = client.get("/api/account", headers=alice)
    assert refused.status_code == 401
    assert "was revoked" in refused.json()["what"]
    assert about["second_factor"] is False


def test_publishing_needs_a_second_factor(
    client: TestClient[Litestar], people: People, clock: ManualClock, platform: Platform
) -> None:
    operator_token = {"Authorization": f"Bearer {people.tokens['Olivia']}"}
    draft = client.post(
        "/api/tenders",
        json={
            "reference": "T-2",
            "title": "Slope works",
            "deadline": format_time(clock.now() + timedelta(days=2)),
            "opening": "automatic",
        },
        headers=operator_token,
    ).json()
    plain = client.post("/api/account/tokens", json={"name": "plain"}, headers=operator_token)
    plain_token = {"Authorization": f"Bearer {plain.json()['token']}"}

    refused = client.post(f"/api/tenders/{draft['id']}/publish", headers=plain_token)

    assert refused.status_code == 403
    assert "without a second factor" in refused.json()["what"]
    assert "'code'" in refused.json()["what_to_do"]
    assert audit_kinds(platform)[-1] == "request.refused"
    # The operator's token vouches for its holder (starter accounts and scripts).
    published = client.post(f"/api/tenders/{draft['id']}/publish", headers=operator_token)
    assert published.status_code == 200, published.text


def test_setting_a_password_ends_the_other_browser_sessions_and_says_so(
    client: TestClient[Litestar], sam: User, platform: Platform
) -> None:
    _sign_in(client, "sam@example.com")
    elsewhere = client.cookies["tender_session"]
    here = _sign_in(client, "sam@example.com")

    changed = client.put(
        "/api/account/password",
        json={"password": "a new long passphrase", "current_password": PASSWORD},
        headers=here,
    )

    assert changed.status_code == 200, changed.text
    assert changed.json()["sessions_ended"] == 1
    assert "1 other browser session(s) of yours ended" in changed.json()["message"]
    assert client.get("/api/account").json()["name"] == "Sam"  # this one goes on
    client.cookies.set("tender_session", elsewhere)
    ended = client.get("/api/account")
    assert ended.status_code == 401
    assert "session has ended" in ended.json()["what"]
    with platform.sessions.begin() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.kind == "password.set")).one()
        assert event.payload["sessions_ended"] == 1


def test_token_names_are_bounded_and_emails_compared_in_nfc(
    client: TestClient[Litestar], people: People, platform: Platform
) -> None:
    alice = {"Authorization": f"Bearer {people.tokens['Alice']}"}

    def make(name: str) -> dict[str, Any]:
        answer = client.post("/api/account/tokens", json={"name": name}, headers=alice)
        return {"status": answer.status_code, **answer.json()}

    too_long = make("x" * 101)
    bidi = make("nightly\u202etpircs")
    control = make("nightly\x00")
    composed = make("Cafe\u0301 nightly")
    _user(platform, "Zoé", "Zo\u00e9@Example.com", Role.SUPPLIER, "Zeta Ltd")

    for refused in (too_long, bidi, control):
        assert refused["status"] == 422
        assert refused["details"]["field"] == "token name"
    assert bidi["details"]["characters"] == ["U+202E"]
    assert control["details"]["characters"] == ["U+0000"]
    assert composed["status"] == 201
    assert composed["about"]["name"] == "Caf\u00e9 nightly"  # stored in NFC
    _sign_in(client, "zoe\u0301@example.com")  # typed decomposed, in lower case
    too_long_email = client.post(
        "/api/session", json={"email": "x" * 321 + "@example.com", "password": PASSWORD}
    )
    assert too_long_email.status_code == 422
