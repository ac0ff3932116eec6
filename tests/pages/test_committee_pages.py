"""The opening committee's pages in a real browser: a member sees the tenders awaiting their
share, is refused before the deadline with the time left, releases after it, and once the
quorum is in the bids are opened and the page links to the opening record."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from tender.accounts.credentials import new_totp_secret
from tender.accounts.models import Role, User
from tender.accounts.service import AccountService
from tender.clock import ManualClock
from tender.committee.models import TENDER_KEY, CommitteeShare
from tender.committee.service import member_context
from tender.storage.committee import MemberKey, decrypt_share
from tender.tenders.models import Tender
from tests.helpers import Member, committee_service, committee_tender, upload
from tests.pages.browsing import assert_accessible, shoot
from tests.pages.conftest import PASSWORD, Person, Site, sign_in
from tests.pages.test_public_pages import assert_no_english_left

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@dataclass(frozen=True)
class Committee:
    """A committee tender two of whose three members open it, each with a second factor."""

    tender: Tender
    members: list[Member]
    people: list[Person]


def _member(site: Site, name: str, email: str, role: Role) -> tuple[Member, Person]:
    """A member with a committee key and an authenticator (a release needs a second factor)."""
    platform, key = site.platform, MemberKey.generate()
    with platform.sessions.begin() as session:
        user, _ = AccountService(session=session, clock=platform.clock).create_user(
            name=name,
            organisation="Independent Commission",
            role=role,
            email=email,
            password=PASSWORD,
        )
        user.totp_secret = new_totp_secret()
        user.totp_confirmed_at = platform.clock.now()
        committee_service(platform, session).register_key(
            actor=user, public_key=key.public_key_bytes
        )
        session.flush()
        session.expunge(user)
    return Member(user, key), Person(email, totp_secret=user.totp_secret)


def _form(site: Site) -> Committee:
    clock = site.platform.clock
    assert isinstance(clock, ManualClock)
    with site.platform.sessions.begin() as session:
        officer = session.scalars(select(User).where(User.name == "Olivia")).one()
        supplier = session.scalars(select(User).where(User.name == "Sam")).one()
        olivia_key = MemberKey.generate()  # the buyer's officer sits too, and reads the record
        committee_service(site.platform, session).register_key(
            actor=officer, public_key=olivia_key.public_key_bytes
        )
        session.flush()
        session.expunge_all()
    made = [
        _member(site, "Otto Observer", "otto@icac.example.gov.hk", Role.OFFICER),
        (Member(officer, olivia_key), site.officer),
        _member(site, "Audrey Au", "audrey@aud.example.gov.hk", Role.AUDITOR),
    ]
    members = [member for member, _ in made]
    tender = committee_tender(
        site.platform, officer, clock, members, quorum=2, hours=2, ref="HyD-2026-031"
    )
    upload(site.platform, supplier, tender.id, "offer.pdf", [b"%PDF-1.7 Sun Wah's offer"])
    return Committee(tender, members, [person for _, person in made])


@pytest.fixture(scope="module")
def committee(site: Site) -> Iterator[Committee]:
    # In a thread of its own, as the site is seeded: the bid intake runs an event loop.
    with ThreadPoolExecutor(max_workers=1) as worker:
        yield worker.submit(_form, site).result()


def _decrypted_share(site: Site, committee: Committee, member: Member) -> str:
    """What ``tender committee decrypt`` prints for ``member``: their share, decrypted with
    their own key (the platform never has it)."""
    tender_id = committee.tender.id
    with site.platform.sessions.begin() as session:
        row = session.get(CommitteeShare, (tender_id, TENDER_KEY, member.user.id))
        assert row is not None
        encrypted = row.encrypted_share
    held = decrypt_share(
        encrypted, member.key, context=member_context(tender_id, TENDER_KEY, member.user.id)
    )
    return base64.b64encode(held.to_bytes()).decode("ascii")


def _release(page: Page, site: Site, committee: Committee, share: str) -> None:
    page.goto(f"{site.base}/committee/tenders/{committee.tender.id}")
    page.get_by_label("Your decrypted share").fill(share)
    page.get_by_role("button", name="Release my share").click()


def test_a_member_sees_the_tenders_awaiting_their_share(
    page: Page, site: Site, committee: Committee
) -> None:
    sign_in(page, site, committee.people[0])
    page.goto(f"{site.base}/committee")

    row = page.locator("table.seats tbody tr").filter(has_text=committee.tender.reference)
    expect(row).to_have_count(1)
    assert "needed" in row.inner_text()
    assert_accessible(page)
    shoot(page, "committee-seats-en")
    page.get_by_role("link", name="繁體中文").click()
    assert page.locator("h1").inner_text() == "開標委員會"
    assert_no_english_left(page)
    assert_accessible(page)
    shoot(page, "committee-seats-zh")


def test_members_release_after_the_deadline_and_the_opening_record_appears(
    browser: Browser, page: Page, site: Site, committee: Committee
) -> None:
    clock = site.platform.clock
    assert isinstance(clock, ManualClock)
    otto, olivia = committee.members[0], committee.members[1]
    sign_in(page, site, committee.people[0])

    _release(page, site, committee, _decrypted_share(site, committee, otto))  # too early
    refusal = page.locator("#release-problem").inner_text()
    assert "too early" in refusal
    assert "left" in page.locator("#countdown").inner_text()
    assert page.get_by_label("Your decrypted share").input_value()  # the form keeps it
    assert_accessible(page)
    shoot(page, "committee-release-refused-en")

    clock.advance(committee.tender.files_until - clock.now() + timedelta(minutes=1))
    _release(page, site, committee, _decrypted_share(site, committee, otto))
    assert "You released your share" in page.locator("main").inner_text()
    otto_row = page.locator("table.members tbody tr").filter(has_text="Otto Observer")
    assert "Hong Kong time" in otto_row.inner_text()
    assert "1 of 3 members; 2 needed" in page.locator("#quorum").inner_text()
    assert_accessible(page)
    shoot(page, "committee-tender-en")
    page.get_by_role("link", name="繁體中文").click()
    assert_no_english_left(page)
    assert_accessible(page)
    shoot(page, "committee-tender-zh")

    other = browser.new_context(locale="en-GB").new_page()
    sign_in(other, site, committee.people[1])
    _release(other, site, committee, _decrypted_share(site, committee, olivia))
    assert "The quorum is in" in other.locator("main").inner_text()
    # The release asked for the opening; the worker runs it (here, as the tests of the
    # committee drive it).
    queues = site.platform.jobs.broker.queues  # the StubBroker's
    assert any(not queue.empty() for queue in queues.values())
    with ThreadPoolExecutor(max_workers=1) as worker:
        worker.submit(site.platform.opener.open_tender, committee.tender.id).result()
    other.reload()
    record = other.get_by_role("link", name="The opening record (PDF)")
    expect(record).to_be_visible()
    answer = other.request.get(site.base + (record.get_attribute("href") or ""))
    assert answer.ok
    assert answer.headers["content-type"].startswith("application/pdf")
    other.context.close()
    page.reload()  # Otto, of another organisation: told the bids opened; the record is not his
    assert "投標書已開啟" in page.locator("main").inner_text()
    expect(page.locator('a[href$="/opening/record.pdf"]')).to_have_count(0)
