"""Supplier self-registration through the real app: pending until the emailed link confirms
the address and an administrator activates the organisation (or at once with open
registration); administrators manage organisations and users, with a second factor."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from tender.accounts.models import Role
from tender.accounts.service import AccountService
from tender.app import create_app
from tender.config import Settings
from tender.notifications.models import OutboxMessage
from tender.platform import Platform
from tests.conftest import People
from tests.helpers import audit_kinds

PASSWORD = "a long passphrase of words"
REGISTRATION = {
    "organisation": {
        "name_en": "Delta Engineering Ltd",
        "name_zh": "德達工程有限公司",
        "br_number": "12345678",
        "contact_email": "office@delta.example",
    },
    "user": {
        "name": "Dora",
        "email": "dora@delta.example",
        "password": PASSWORD,
        "language": "zh-Hant-HK",
    },
}


@pytest.fixture
def open_registration() -> bool:
    return False


@pytest.fixture
def settings(settings: Settings, open_registration: bool) -> Settings:
    return settings.with_overrides(cookie_secure=False, open_registration=open_registration)


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(platform)) as client:
        yield client


@pytest.fixture
def admin(platform: Platform, people: People) -> dict[str, str]:
    """An administrator's operator-made (second-factor) token."""
    with platform.sessions.begin() as session:
        _, token = AccountService(session=session, clock=platform.clock).create_user(
            name="Ada", organisation="Platform Operator", role=Role.ADMIN
        )
    return {"Authorization": f"Bearer {token}"}


def _confirmation_token(platform: Platform) -> str:
    with platform.sessions.begin() as session:
        message = session.scalars(select(OutboxMessage)).one()
    assert message.to_address == "dora@delta.example"
    assert "確認" in message.subject  # in the language Dora chose
    found = re.search(r"/confirm-email\?token=(\S+)", message.body)
    assert found is not None
    return found.group(1)


def _sign_in(client: TestClient[Litestar]) -> int:
    answer = client.post("/api/session", json={"email": "dora@delta.example", "password": PASSWORD})
    return answer.status_code


def test_a_registration_waits_for_the_email_and_an_administrator(
    client: TestClient[Litestar], platform: Platform, admin: dict[str, str]
) -> None:
    registered = client.post("/api/registrations", json=REGISTRATION)
    assert registered.status_code == 201, registered.text
    org = registered.json()["organisation"]
    assert org["status"] == "pending"
    assert "an administrator activates" in registered.json()["what_next"]
    assert _sign_in(client) == 401  # pending

    confirmed = client.post(
        "/api/registrations/confirm", json={"token": _confirmation_token(platform)}
    )
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "pending"
    again = client.post("/api/registrations/confirm", json={"token": _confirmation_token(platform)})
    assert again.status_code == 404  # a link works once

    activated = client.post(f"/api/admin/organisations/{org['id']}/activate", headers=admin)
    assert activated.json()["status"] == "active"
    assert _sign_in(client) == 201
    kinds = audit_kinds(platform)
    assert {"user.email_confirmed", "organisation.status_changed"} <= set(kinds)


@pytest.mark.parametrize("open_registration", [True])
def test_with_open_registration_the_confirmation_activates(
    client: TestClient[Litestar], platform: Platform
) -> None:
    registered = client.post("/api/registrations", json=REGISTRATION)
    assert "The organisation is then active" in registered.json()["what_next"]

    confirmed = client.post(
        "/api/registrations/confirm", json={"token": _confirmation_token(platform)}
    )

    assert confirmed.json()["status"] == "active"
    assert _sign_in(client) == 201


def test_a_business_is_registered_once(client: TestClient[Litestar]) -> None:
    assert client.post("/api/registrations", json=REGISTRATION).status_code == 201
    other_user = {**REGISTRATION["user"], "email": "someone@else.example"}
    other_name = {**REGISTRATION["organisation"], "name_en": "Delta Two Ltd"}
    twice = client.post("/api/registrations", json={"organisation": other_name, "user": other_user})
    assert twice.status_code == 409
    assert "business registration number" in twice.json()["what"]


def test_administrators_manage_organisations_and_users_and_suspend_them(
    client: TestClient[Litestar], people: People, admin: dict[str, str]
) -> None:
    alice = {"Authorization": f"Bearer {people.tokens['Alice']}"}
    assert client.get("/api/admin/organisations", headers=alice).status_code == 403
    orgs = {o["name_en"]: o for o in client.get("/api/admin/organisations", headers=admin).json()}
    assert orgs["Alpha Ltd"]["kind"] == "supplier"

    added = client.post(
        "/api/admin/users",
        json={
            "organisation_id": orgs["Procuring Entity"]["id"],
            "role": "officer",
            "name": "Owen",
            "email": "owen@entity.example",
        },
        headers=admin,
    )
    assert added.status_code == 201, added.text
    owen = {"Authorization": f"Bearer {added.json()['token']}"}
    assert client.get("/api/account", headers=owen).json()["organisation"] == "Procuring Entity"

    suspended = client.post(
        f"/api/admin/organisations/{orgs['Alpha Ltd']['id']}/suspend", headers=admin
    )
    assert suspended.json()["status"] == "suspended"
    refused = client.get("/api/account", headers=alice)
    assert refused.status_code == 401
    assert "Alpha Ltd, is suspended" in refused.json()["what"]


@pytest.mark.parametrize(
    ("part", "key", "field", "max_length", "typed", "stored"),
    [
        ("organisation", "name_en", "English name", 200, "Cafe\u0301 Ltd", "Caf\u00e9 Ltd"),
        ("organisation", "name_zh", "Chinese name", 200, "德達 Cafe\u0301", "德達 Caf\u00e9"),
        ("organisation", "br_number", "business registration number", 40, "E\u0301-1", "\u00c9-1"),
        (
            "organisation",
            "contact_email",
            "contact email",
            320,
            "Cafe\u0301@d.example",
            "caf\u00e9@d.example",
        ),
        (
            "organisation",
            "contact_phone",
            "contact phone",
            40,
            "+852 e\u0301 1234",
            "+852 \u00e9 1234",
        ),
        ("user", "name", "name", 200, "Zoe\u0301", "Zo\u00e9"),
        ("user", "email", "email", 320, "Zoe\u0301@Delta.example", "zo\u00e9@delta.example"),
    ],
)
def test_what_a_registration_types_is_bounded_and_stored_in_nfc(
    client: TestClient[Litestar],
    admin: dict[str, str],
    part: str,
    key: str,
    field: str,
    max_length: int,
    typed: str,
    stored: str,
) -> None:
    def register(value: str) -> dict[str, Any]:
        body = {**REGISTRATION, part: {**REGISTRATION[part], key: value}}
        answer = client.post("/api/registrations", json=body)
        return {"status": answer.status_code, **answer.json()}

    too_long = register("x" * (max_length - 10) + "@d.example" + "x")
    bidi = register("dora\u202egro.example@d.example")
    control = register("dora\x07@d.example")
    composed = register(typed)

    for refused in (too_long, bidi, control):
        assert refused["status"] == 422
        assert refused["details"]["field"] == field
    assert too_long["details"]["max_length"] == max_length
    assert bidi["details"]["characters"] == ["U+202E"]
    assert control["details"]["characters"] == ["U+0007"]
    assert composed["status"] == 201, composed
    if part == "organisation":
        assert composed["organisation"][key] == stored
    else:
        users = client.get("/api/admin/users", headers=admin).json()
        assert stored in {user[key] for user in users}
