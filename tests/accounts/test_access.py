"""Who sees and acts on which tender, through the real app: drafts stay with their
organisation, an officer of another organisation can do nothing to a tender, an auditor reads
what the appointment covers, and an admin never reads bid content."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tender.accounts.models import (
    AuditorAppointment,
    OrganisationKind,
    OrganisationStatus,
    Role,
)
from tender.accounts.service import AccountService
from tender.app import create_app
from tender.clock import ManualClock, format_time
from tender.platform import Platform
from tender.signing.testing import TestPKI
from tests.conftest import People
from tests.helpers import audit_kinds, opened_with_one_valid_bid


class Outsiders:
    """Accounts beside ``people``: an officer of another buying department, a platform admin
    and an auditor appointed to that other department only."""

    def __init__(self, platform: Platform) -> None:
        self.tokens: dict[str, str] = {}
        with platform.sessions.begin() as session:
            accounts = AccountService(session=session, clock=platform.clock)
            other = accounts.add_organisation(
                kind=OrganisationKind.BUYER,
                name_en="Other Department",
                name_zh="另一部門",
                status=OrganisationStatus.ACTIVE,
            )
            for name, org, role in (
                ("Otto", other, Role.OFFICER),
                ("Ada", "Platform Operator", Role.ADMIN),
                ("Ann", "Audit Office", Role.AUDITOR),
            ):
                user, self.tokens[name] = accounts.create_user(
                    name=name, organisation=org, role=role
                )
            # Ann audits the other department only.
            appointment = session.query(AuditorAppointment).filter_by(auditor_id=user.id).one()
            appointment.organisation_id = other.id

    def headers(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


@pytest.fixture
def outsiders(platform: Platform, people: People) -> Outsiders:
    return Outsiders(platform)


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(platform)) as client:
        yield client


def _as(people: People, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {people.tokens[name]}"}


def _draft(client: TestClient[Litestar], people: People, clock: ManualClock) -> str:
    answer = client.post(
        "/api/tenders",
        json={
            "reference": "T-9",
            "title": "Harbour dredging",
            "deadline": format_time(clock.now() + timedelta(days=3)),
            "opening": "automatic",
        },
        headers=_as(people, "Olivia"),
    )
    assert answer.status_code == 201, answer.text
    tender_id: str = answer.json()["id"]
    return tender_id


def test_a_draft_is_seen_by_its_own_officers_only(
    client: TestClient[Litestar], people: People, outsiders: Outsiders, clock: ManualClock
) -> None:
    tender_id = _draft(client, people, clock)

    def listed(headers: dict[str, str]) -> list[str]:
        return [t["id"] for t in client.get("/api/tenders", headers=headers).json()]

    assert listed(_as(people, "Olivia")) == [tender_id]
    assert client.get(f"/api/tenders/{tender_id}", headers=_as(people, "Olivia")).is_success
    for headers in (_as(people, "Alice"), outsiders.headers("Otto"), outsiders.headers("Ada")):
        assert listed(headers) == []
        assert client.get(f"/api/tenders/{tender_id}", headers=headers).status_code == 404
    # An auditor appointed to every organisation reads drafts; one appointed elsewhere does not.
    assert listed(_as(people, "Aaron")) == [tender_id]
    assert listed(outsiders.headers("Ann")) == []

    client.post(f"/api/tenders/{tender_id}/publish", headers=_as(people, "Olivia"))
    for headers in (_as(people, "Alice"), outsiders.headers("Otto"), outsiders.headers("Ann")):
        assert listed(headers) == [tender_id]  # published: everyone sees it


def test_a_supplier_asking_for_receipts_of_a_draft_learns_nothing_of_it(
    client: TestClient[Litestar], people: People, clock: ManualClock
) -> None:
    tender_id = _draft(client, people, clock)
    asked = client.get(
        "/api/receipts", params={"tender_id": tender_id}, headers=_as(people, "Alice")
    )
    assert asked.status_code == 404  # the same answer as for a tender that does not exist
    assert "T-9" not in asked.text


def test_an_officer_of_another_organisation_cannot_publish(
    platform: Platform,
    client: TestClient[Litestar],
    people: People,
    outsiders: Outsiders,
    clock: ManualClock,
) -> None:
    tender_id = _draft(client, people, clock)

    refused = client.post(f"/api/tenders/{tender_id}/publish", headers=outsiders.headers("Otto"))

    assert refused.status_code == 404  # another organisation's draft is not even named
    assert "draft of another organisation" in refused.json()["why"]
    status = client.get(f"/api/tenders/{tender_id}", headers=_as(people, "Olivia")).json()
    assert status["status"] == "draft"
    assert audit_kinds(platform)[-1] == "request.refused"


def test_only_its_officers_and_appointed_auditors_read_the_opening(
    platform: Platform,
    client: TestClient[Litestar],
    people: People,
    outsiders: Outsiders,
    clock: ManualClock,
    test_pki: TestPKI,
) -> None:
    tender = opened_with_one_valid_bid(platform, people, clock, test_pki)
    opening = f"/api/tenders/{tender.id}/opening"
    record = client.get(opening, headers=_as(people, "Olivia")).json()
    paths = [
        opening,
        f"{opening}/record.pdf",
        f"{opening}/documents/{record['bids'][0]['receipt_id']}",
    ]
    refused_before = audit_kinds(platform).count("request.refused")

    for path in paths:
        assert client.get(path, headers=_as(people, "Olivia")).status_code == 200
        assert client.get(path, headers=_as(people, "Aaron")).status_code == 200
        other = client.get(path, headers=outsiders.headers("Otto"))
        assert other.status_code == 403, path
        assert "Other Department" in other.json()["why"]
        assert client.get(path, headers=outsiders.headers("Ann")).status_code == 403
        admin = client.get(path, headers=outsiders.headers("Ada"))
        assert admin.status_code == 403  # an admin never reads bid content
        assert "'admin'" in admin.json()["why"]

    assert audit_kinds(platform).count("request.refused") == refused_before + 3 * len(paths)
