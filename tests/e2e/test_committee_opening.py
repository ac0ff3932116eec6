"""Committee opening through the HTTP API, with the timed opening run by the worker: on
SQLite with the in-process broker and worker, and on PostgreSQL with Redis and a separate
`tender worker` process. The committee's members hold their own keys (as their key files
would); the platform never has them."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tender.accounts.models import Role, User
from tender.accounts.service import AccountService
from tender.client import (
    RefusedError,
    register_certificate,
    register_committee_key,
    release_committee_share,
)
from tender.demo import wait_for_status
from tender.notifications.messages import MessageKind
from tender.notifications.models import OutboxMessage
from tender.signing.testing import TestPKI, signed_pdf
from tender.storage.committee import MemberKey, decrypt_share, share_context
from tender.verifier.bundle import verify_bundle
from tender.verifier.checks import Check
from tests.e2e.conftest import BIDDING_WINDOW, Site
from tests.e2e.flows import database_url, e2e_settings  # noqa: F401 - the flows' fixtures


@dataclass(frozen=True)
class Holder:
    """A committee member as the platform's API sees them: their account, token and key."""

    user: User
    token: str
    key: MemberKey

    @property
    def auth(self) -> dict[str, str]:
        return Site.auth(self.token)


def _committee(site: Site) -> list[Holder]:
    """Three members, two officers of two organisations and an auditor, each registering a key
    of their own over the API."""
    with site.platform.sessions.begin() as session:
        accounts = AccountService(session=session, clock=site.platform.clock)
        made = [
            accounts.create_user(name=name, organisation=organisation, role=role)
            for name, organisation, role in (
                ("Olga Opener", "Procuring Entity", Role.OFFICER),
                ("Otto Observer", "Independent Commission", Role.OFFICER),
                ("Audrey Auditor", "Audit Commission", Role.AUDITOR),
            )
        ]
    holders = [Holder(user, token, MemberKey.generate()) for user, token in made]
    for holder in holders:
        register_committee_key(site.client, holder.token, holder.key)
    return holders


def _committee_tender(
    site: Site, holders: list[Holder], reference: str, bidder: str, pki: TestPKI, signer: str
) -> tuple[str, datetime]:
    """A published tender of ``holders``' committee, 2 of 3, closing after BIDDING_WINDOW, with
    one signed bid by ``bidder`` (a supplier's token)."""
    deadline = datetime.now(UTC) + BIDDING_WINDOW
    created = site.client.post(
        "/api/tenders",
        headers=site.auth(site.officer),
        json={
            "reference": reference,
            "title": "Harbour dredging",
            "deadline": deadline.isoformat(),
            "committee": [str(holder.user.id) for holder in holders],
            "quorum": 2,
        },
    )
    assert created.status_code == 201, created.text
    tender_id: str = created.json()["id"]
    published = site.client.post(
        f"/api/tenders/{tender_id}/publish", headers=site.auth(site.officer)
    )
    assert published.status_code == 200, published.text
    register_certificate(site.client, bidder, pki.signer(signer))
    bid = site.client.put(
        f"/api/tenders/{tender_id}/bids/bid.pdf",
        headers=site.auth(bidder),
        content=signed_pdf(pki, signer, f"The price of {reference}: HKD 1,000,000"),
    )
    assert bid.status_code == 201, bid.text
    return tender_id, deadline


def _wait_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


def _share_of(site: Site, holder: Holder, tender_id: str) -> bytes:
    """``holder``'s share as their key file decrypts it (what a wrong release would send)."""
    share = site.client.get(f"/api/tenders/{tender_id}/committee/share", headers=holder.auth)
    assert share.status_code == 200, share.text
    fields = share.json()
    context = share_context(
        tender_id=fields["tender_id"], key_name=fields["key"], member_id=fields["member_id"]
    )
    return decrypt_share(
        base64.b64decode(fields["encrypted_share"]), holder.key, context=context
    ).to_bytes()


def _bundle_checks(site: Site, reference: str, folder: Path) -> list[Check]:
    """The auditor's bundle of the tender, exported over the API and checked offline."""
    bundle = folder / "bundle.zip"
    bundle.write_bytes(
        site.client.get(
            "/api/audit/export", headers=site.auth(site.auditor), params={"tender": reference}
        ).content
    )
    return verify_bundle(bundle, site.client.get("/api/audit/public-key").text)


def _events(site: Site, kind: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = site.client.get(
        "/api/audit/events", headers=site.auth(site.auditor)
    ).json()
    return [event for event in events if event["kind"] == kind]


@pytest.mark.slow
def test_a_committee_tender_opens_by_itself_once_two_of_three_released_after_the_deadline(
    site: Site, test_pki: TestPKI, tmp_path: Path
) -> None:
    client = site.client
    olga, otto, audrey = _committee(site)
    tender_id, deadline = _committee_tender(
        site, [olga, otto, audrey], "COM-1", site.alice, test_pki, "supplier-a"
    )
    with pytest.raises(RefusedError) as early:
        release_committee_share(client, audrey.token, tender_id, audrey.key)

    _wait_until(deadline + timedelta(seconds=1))
    closed = client.get(f"/api/tenders/{tender_id}", headers=site.auth(site.officer)).json()
    wrong = client.post(
        f"/api/tenders/{tender_id}/committee/releases",
        headers=otto.auth,
        json={"share": base64.b64encode(_share_of(site, olga, tender_id)).decode()},
    )
    release_committee_share(client, audrey.token, tender_id, audrey.key)
    release_committee_share(client, olga.token, tender_id, olga.key)
    opened = wait_for_status(client, tender_id, site.officer, "opened", timeout=60)
    record = client.get(f"/api/tenders/{tender_id}/opening", headers=site.auth(site.officer)).json()
    checks = {c.name: c for c in _bundle_checks(site, "COM-1", tmp_path)}

    assert early.value.status == 409
    assert "too early" in early.value.what
    assert closed["status"] == "closed"
    assert wrong.status_code == 422
    assert "Otto Observer" in wrong.json()["what"]
    assert datetime.fromisoformat(opened["opening_started_at"]) >= deadline
    assert [b["indication"] for b in record["bids"]] == ["TOTAL_PASSED"]
    assert [m["member"] for m in record["key_release"]["released"]] == [
        "Audrey Auditor",
        "Olga Opener",
    ]
    refused = _events(site, "committee.share_refused")
    assert [(e["actor"], e["payload"].get("action")) for e in refused] == [
        (audrey.user.actor, "fetch"),
        (otto.user.actor, None),  # the wrong share, named
    ]
    assert refused[1]["payload"]["member"] == "Otto Observer"
    assert all(check.ok for check in checks.values()), [c for c in checks.values() if not c.ok]
    assert checks["committee COM-1 quorum"].detail.startswith("2 of the 3 members")
    assert "each of the 2 releases" in checks["committee COM-1 releases"].detail
    assert checks["tender key COM-1 unwrapped after deadline"].ok


@pytest.mark.slow
def test_a_quorum_never_reached_keeps_the_bids_sealed_and_the_members_told_once(
    site: Site, test_pki: TestPKI, tmp_path: Path
) -> None:
    client = site.client
    olga, otto, audrey = _committee(site)
    tender_id, deadline = _committee_tender(
        site, [olga, otto, audrey], "COM-2", site.bob, test_pki, "supplier-b"
    )

    _wait_until(deadline + timedelta(seconds=1))
    release_committee_share(client, otto.token, tender_id, otto.key)
    time.sleep(4)  # several reconciler rounds (one a second) and the timed opening have passed
    tender = client.get(f"/api/tenders/{tender_id}", headers=site.auth(site.officer)).json()
    committee = client.get(
        f"/api/tenders/{tender_id}/committee", headers=site.auth(site.officer)
    ).json()
    record = client.get(f"/api/tenders/{tender_id}/opening", headers=site.auth(site.officer))
    with site.platform.sessions.begin() as session:
        told = sorted(
            str(message.recipient_user_id)
            for message in session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.kind == MessageKind.COMMITTEE_RELEASE_DUE.value
                )
            )
        )
    checks = _bundle_checks(site, "COM-2", tmp_path)

    assert tender["status"] == "closed"
    assert tender["opening_started_at"] is None
    assert committee["released"] == 1
    assert "Not yet released: Olga Opener, Audrey Auditor" in committee["summary"]
    assert record.status_code == 409
    # Told at the deadline, when nobody had released yet; once each, whatever the rounds since.
    assert told == sorted(str(holder.user.id) for holder in (olga, otto, audrey))
    assert _events(site, "opening.started") == []
    assert _events(site, "tender.key_unwrapped") == []
    assert all(check.ok for check in checks), [c for c in checks if not c.ok]
    assert "committee COM-2 quorum" not in {check.name for check in checks}
