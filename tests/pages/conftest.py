"""The pages' fixtures: the real app served over HTTP (uvicorn, SQLite, SeaweedFS), seeded
through the services with a published tender that has documents, an addendum and an answered
question; and Debian's Chromium driven by Playwright.

Browser tests are marked ``browser``. In CI (CI=true) they fail when Chromium is missing (`.ci/run`
installs it); elsewhere they are skipped with the reason printed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from dramatiq.brokers.stub import StubBroker
from playwright.sync_api import Browser, Page, sync_playwright

from tender.accounts.credentials import new_totp_secret, totp_now
from tender.accounts.models import OrganisationKind, OrganisationStatus, Role, User
from tender.accounts.service import AccountService
from tender.awards.schemas import AwardCreate
from tender.awards.service import AwardService
from tender.clarifications.service import ClarificationService
from tender.clock import ManualClock
from tender.documents.addenda import AddendumService
from tender.documents.schemas import AddendumIn
from tender.documents.service import DocumentIntake
from tender.platform import Platform
from tender.runtime import serving
from tender.signing import TrustStore
from tender.signing.testing import TestPKI
from tender.storage.objectstore import S3Config
from tender.tenders.models import OpeningMethod, Tender
from tender.tenders.schemas import TenderCreate
from tests.conftest import IN_CI, platform_of, settings_on_a_copy
from tests.helpers import unit_of_work, upload

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
"""Where the browser tests leave a picture of each page in each language (git-ignored)."""

SPECIFICATION = b"%PDF-1.7 Tsing Yi Road resurfacing: specification\n" * 300
PRICE_SCHEDULE = b"item,quantity,unit,rate\nresurfacing,3200,m2,\n"
DRAWINGS = b"%PDF-1.7 revised drawings, sheet 4\n" * 120


PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Person:
    """Someone who signs in on the pages: their email, the password, and for an officer the
    authenticator's secret (codes are made at the site's clock)."""

    email: str
    totp_secret: str | None = None
    password: str = PASSWORD


@dataclass(frozen=True)
class Site:
    """The served platform, and what was seeded in it."""

    base: str
    platform: Platform
    awarded: Tender  # opened and awarded to Sun Wah Paving Ltd
    cancelled: Tender  # published, then cancelled with a reason
    road: Tender  # published: documents, an addendum, an answered question
    cleaning: Tender  # published, nothing more
    draft: Tender  # never shown to the public
    question: str
    answer: str
    addendum_text: str
    officer: Person
    supplier: Person  # Sam of Sun Wah Paving Ltd
    auditor: Person


async def _chunks(content: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(content), 4096):
        yield content[start : start + 4096]


def _document(
    platform: Platform, officer: User, tender_id: uuid.UUID, name: str, content: bytes
) -> None:
    intake = DocumentIntake(
        sessions=platform.sessions,
        store=platform.store,
        bucket=platform.settings.bucket,
        clock=platform.clock,
        retention=timedelta(days=1),
        max_bytes=len(content) + 1,
    )
    anyio.run(
        lambda: intake.upload(
            officer=officer, tender_id=tender_id, name=name, chunks=_chunks(content)
        )
    )


def _tender(
    platform: Platform,
    officer: User,
    reference: str,
    title: str,
    deadline: datetime,
    *,
    description: str = "",
    documents: dict[str, bytes] | None = None,
    publish: bool = True,
) -> Tender:
    """A tender opened automatically, with ``documents``, published unless told not to."""
    data = TenderCreate(
        reference=reference,
        title=title,
        description=description,
        deadline=deadline,
        opening=OpeningMethod.AUTOMATIC,
    )
    with unit_of_work(platform) as services:
        tender = services.tenders.create(actor=officer, data=data)
    for name, content in (documents or {}).items():
        _document(platform, officer, tender.id, name, content)
    if not publish:
        return tender
    with unit_of_work(platform) as services:
        return services.tenders.publish(actor=officer, tender_id=tender.id)


AWARD = AwardCreate(
    winners=["Sun Wah Paving Ltd"],
    value="1250000.50",
    currency="HKD",
    reasons="The lowest price of the two bids that passed every check.",
)


def _awarded(
    platform: Platform, clock: ManualClock, officer: User, suppliers: list[User]
) -> Tender:
    """A tender bid on by ``suppliers``, opened after its deadline (a day on), and awarded."""
    tender = _tender(
        platform,
        officer,
        "HyD-2026-003",
        "Slope maintenance at Shing Mun Road",
        clock.now() + timedelta(hours=1),
    )
    for supplier in suppliers:
        upload(platform, supplier, tender.id, "offer.pdf", [b"%PDF-1.7 " + supplier.name.encode()])
    clock.advance(timedelta(hours=2))
    platform.opener.open_tender(tender.id)
    clock.advance(timedelta(hours=22))
    with unit_of_work(platform) as services:
        AwardService(session=services.session, clock=clock).award(
            actor=officer, tender_id=tender.id, data=AWARD
        )
        return services.tenders.get(tender.id, viewer=None)


def seed(platform: Platform, clock: ManualClock) -> Site:
    """A buyer with an English and a Chinese name, two suppliers, and five tenders: one
    awarded and one cancelled (``clock`` moves on by a day for them), then one published with
    documents, an addendum and an answered question, one published with nothing more, and a
    draft."""
    with platform.sessions.begin() as session:
        accounts = AccountService(session=session, clock=clock)
        buyer = accounts.add_organisation(
            kind=OrganisationKind.BUYER,
            name_en="Highways Department",
            name_zh="路政署",
            status=OrganisationStatus.ACTIVE,
        )
        officer, _ = accounts.create_user(
            name="Olivia",
            organisation=buyer,
            role=Role.OFFICER,
            email="olivia@hyd.example.gov.hk",
            password=PASSWORD,
        )
        officer.totp_secret = new_totp_secret()
        officer.totp_confirmed_at = clock.now()
        supplier, _ = accounts.create_user(
            name="Sam",
            organisation="Sun Wah Paving Ltd",
            role=Role.SUPPLIER,
            email="sam@sunwah.example.hk",
            password=PASSWORD,
        )
        auditor, _ = accounts.create_user(
            name="Ada",
            organisation="Audit Commission",
            role=Role.AUDITOR,
            email="ada@aud.example.gov.hk",
            password=PASSWORD,
        )
        people = {
            "officer": Person(officer.email or "", totp_secret=officer.totp_secret),
            "supplier": Person(supplier.email or ""),
            "auditor": Person(auditor.email or ""),
        }
        rival, _ = accounts.create_user(
            name="Rita", organisation="Harbour Roads Ltd", role=Role.SUPPLIER
        )
    awarded = _awarded(platform, clock, officer, [supplier, rival])
    cancelled = _tender(
        platform,
        officer,
        "HyD-2026-005",
        "Repainting of railings on Castle Peak Road",
        clock.now() + timedelta(days=5),
    )
    with unit_of_work(platform) as services:
        cancelled = services.tenders.cancel(
            actor=officer, tender_id=cancelled.id, reason="The railings will be replaced instead."
        )
    now = clock.now()
    road = _tender(
        platform,
        officer,
        "HyD-2026-017",
        "Resurfacing of Tsing Yi Road",
        now + timedelta(days=3, hours=4),
        description="Resurfacing of 3.2 km of carriageway, with traffic management.\n"
        "Work is done at night, between 23:00 and 06:00.",
        documents={"specification.pdf": SPECIFICATION, "price-schedule.csv": PRICE_SCHEDULE},
    )
    _document(platform, officer, road.id, "drawings-rev-b.pdf", DRAWINGS)
    addendum_text = "Sheet 4 of the drawings is replaced; the deadline moves by one day."
    question = "May the night works start at 22:00 on Saturdays?"
    answer = "No: work may start at 23:00 at the earliest on every night of the week."
    with unit_of_work(platform) as services:
        session = services.session
        AddendumService(
            session=session, clock=clock, jobs=platform.jobs, deadline_horizon=timedelta(days=365)
        ).publish(
            actor=officer,
            tender_id=road.id,
            data=AddendumIn(
                text=addendum_text,
                documents=["drawings-rev-b.pdf"],
                deadline=road.deadline + timedelta(days=1),
            ),
        )
        clarifications = ClarificationService(session=session, clock=clock)
        asked = clarifications.ask(supplier=supplier, tender_id=road.id, question=question)
        clarifications.answer(
            officer=officer, tender_id=road.id, clarification_id=asked.id, answer=answer
        )
        clarifications.ask(
            supplier=supplier, tender_id=road.id, question="An unanswered question, not shown."
        )
    cleaning = _tender(
        platform,
        officer,
        "HyD-2026-018",
        "Cleaning of footbridges in Kwai Chung",
        now + timedelta(days=10),
    )
    draft = _tender(
        platform,
        officer,
        "HyD-2026-019",
        "Unpublished draft: lighting of Tsing Yi Road",
        now + timedelta(days=20),
        publish=False,
    )
    return Site(
        base="",
        platform=platform,
        awarded=awarded,
        cancelled=cancelled,
        road=road,
        cleaning=cleaning,
        draft=draft,
        question=question,
        answer=answer,
        addendum_text=addendum_text,
        **people,
    )


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    s3_config: S3Config,
    test_pki: TestPKI,
    platform_trust: TrustStore,
) -> Iterator[Site]:
    """The platform as ``tender up`` serves it, on SQLite and SeaweedFS, seeded (see
    :func:`seed`), with its clock set to now: the page's countdown runs in real time."""
    settings = settings_on_a_copy(
        tmp_path_factory.mktemp("pages"), sqlite_template, s3_config, allow_key_files=True
    )
    clock = ManualClock(datetime.now(UTC) - timedelta(days=1))  # the seed moves it a day on
    platform = platform_of(
        settings, s3_config, test_pki, broker=StubBroker(), clock=clock, trust=platform_trust
    )
    try:
        # In a thread of its own: Playwright's sync API may already run an event loop in
        # this one, and the document intake is async.
        with ThreadPoolExecutor(max_workers=1) as seeder:
            seeded = seeder.submit(seed, platform, clock).result()
        with serving(platform) as base:
            yield replace(seeded, base=base)
    finally:
        platform.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (Playwright's own browser download does not work here)."""
    if not CHROMIUM.exists():
        reason = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(f"{reason}; CI must run the browser tests", pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context (no cookies) reading English, unless the test says otherwise."""
    context = browser.new_context(locale="en-GB")
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(page: Page, site: Site, person: Person) -> None:
    """Sign ``person`` in on the sign-in page, as a person would (an officer with the code
    their authenticator shows now; the clock moves on a step so that no code is used twice)."""
    page.goto(f"{site.base}/sign-in")
    page.get_by_label("Email address").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    if person.totp_secret is not None:
        clock = site.platform.clock
        assert isinstance(clock, ManualClock)
        clock.advance(timedelta(seconds=30))
        page.get_by_label("Code from your authenticator app").fill(
            totp_now(person.totp_secret, at=clock.now())
        )
    page.get_by_role("button", name="Sign in").click()
