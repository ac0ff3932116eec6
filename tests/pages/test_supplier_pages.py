"""The supplier's pages in a real browser: a company registers and confirms its email with the
emailed link, signs in, registers its signing certificate; sees its tenders, asks a question,
reads a receipt and downloads it, withdraws; a refused form keeps what was typed; every page
in English and in Chinese, with no English left."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote, urlsplit

import pytest
from playwright.sync_api import Page
from sqlalchemy import select

from tender.accounts.models import OrganisationStatus, Role, User
from tender.accounts.registration import RegistrationService
from tender.accounts.service import AccountService
from tender.bids.schemas import Receipt
from tender.notifications.models import OutboxMessage
from tender.signing.testing import P12_PASSPHRASE, TestPKI
from tests.helpers import sign_text, two_envelope_tender, upload
from tests.pages.browsing import assert_accessible, shoot
from tests.pages.conftest import PASSWORD, Person, Site, sign_in
from tests.pages.test_public_pages import assert_no_english_left

T = TypeVar("T")

pytestmark = [pytest.mark.browser, pytest.mark.integration]

NEW_SUPPLIER = Person("dora@delta.example")
TOO_LONG_QUESTION = "Is the night work paid at the night rate? " * 130  # over 5,000 characters


def _in_a_thread(work: Callable[[], T]) -> T:
    """``work`` in a thread of its own: Playwright's sync API runs an event loop in this one,
    and signing and the bid intake start their own."""
    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(work).result()


def _user(site: Site, email: str) -> User:
    with site.platform.sessions.begin() as session:
        user = session.scalars(select(User).where(User.email == email)).one()
        session.expunge(user)
        return user


def _confirmation_path(site: Site, email: str) -> str:
    """The path of the link in the confirmation email sent to ``email`` (from the outbox)."""
    with site.platform.sessions.begin() as session:
        body = session.scalars(
            select(OutboxMessage.body).where(OutboxMessage.to_address == email)
        ).one()
    found = re.search(r"(https?://\S+/confirm-email\?token=\S+)", body)
    assert found is not None, body
    link = urlsplit(found.group(1))
    return f"{link.path}?{link.query}"


def _activate(site: Site, email: str) -> None:
    """What the platform's administrator does once the email is confirmed."""
    with site.platform.sessions.begin() as session:
        admin, _ = AccountService(session=session, clock=site.platform.clock).create_user(
            name="Adam", organisation="Platform Operator", role=Role.ADMIN
        )
        user = session.scalars(select(User).where(User.email == email)).one()
        RegistrationService(
            session=session, clock=site.platform.clock, open_registration=False, confirm_url=""
        ).set_status(
            actor=admin, organisation_id=user.organisation_id, status=OrganisationStatus.ACTIVE
        )


def _fill_registration(page: Page, email: str) -> None:
    page.get_by_label("Company name in English").fill("Delta Engineering Ltd")
    page.get_by_label("Company name in Chinese (if it has one)").fill("德達工程有限公司")
    page.get_by_label("Business registration number").fill("12345678")
    page.get_by_label("Company contact email").fill("office@delta.example")
    page.get_by_label("Your name").fill("Dora")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)


@pytest.fixture(scope="module")
def sams_receipt(site: Site) -> Receipt:
    """Sam's bid file for the cleaning tender (open for bids)."""
    sam = _user(site, site.supplier.email)
    offer = b"%PDF-1.7 Sun Wah's offer for cleaning footbridges\n" * 50
    return _in_a_thread(
        lambda: upload(site.platform, sam, site.cleaning.id, "cleaning-offer.pdf", [offer])
    )


def test_a_company_registers_confirms_its_email_and_signs_in(page: Page, site: Site) -> None:
    page.goto(f"{site.base}/sign-in")
    page.get_by_role("link", name="Register your company").click()
    assert_accessible(page)
    shoot(page, "register-en")
    _fill_registration(page, NEW_SUPPLIER.email)
    page.get_by_role("button", name="Register").click()

    page.wait_for_url(f"{site.base}/register/sent?*")
    assert page.get_by_role("heading", level=1).inner_text() == "Check your email"
    assert NEW_SUPPLIER.email in page.locator("main").inner_text()
    assert_accessible(page)
    shoot(page, "register-sent-en")

    page.goto(f"{site.base}{_confirmation_path(site, NEW_SUPPLIER.email)}")
    assert_accessible(page)
    shoot(page, "confirm-email-en")
    page.get_by_role("button", name="Confirm my email address").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Your email address is confirmed"
    assert "administrator" in page.locator("main").inner_text()  # it waits for activation
    shoot(page, "email-confirmed-en")

    _activate(site, NEW_SUPPLIER.email)
    sign_in(page, site, NEW_SUPPLIER)
    page.wait_for_url(f"{site.base}/supplier")
    assert "You have not bid on any tender yet." in page.locator("main").inner_text()
    assert site.cleaning.title in page.locator("main").inner_text()  # open for bids


def test_a_confirmation_link_works_once(page: Page, site: Site) -> None:
    page.goto(f"{site.base}/confirm-email?token=not-a-token")
    page.get_by_role("button", name="Confirm my email address").click()

    assert "This confirmation link is not known." in page.get_by_role("alert").inner_text()
    assert_accessible(page)


def test_a_refused_registration_keeps_what_was_typed_but_the_password(
    page: Page, site: Site
) -> None:
    page.goto(f"{site.base}/register")
    _fill_registration(page, site.supplier.email)  # Sam's: an email signs in to one account
    page.get_by_label("Company name in English").fill("Epsilon Works Ltd")
    page.get_by_label("Business registration number").fill("87654321")
    page.get_by_role("button", name="Register").click()

    assert "already exists" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Company name in English").input_value() == "Epsilon Works Ltd"
    assert page.get_by_label("Company name in Chinese (if it has one)").input_value() == (
        "德達工程有限公司"
    )
    assert page.get_by_label("Email address").input_value() == site.supplier.email
    assert page.get_by_label("Password", exact=True).input_value() == ""
    assert_accessible(page)
    shoot(page, "register-refused-en")


def test_a_supplier_registers_a_signing_certificate(
    page: Page, site: Site, test_pki: TestPKI, tmp_path: Path
) -> None:
    sign_in(page, site, site.supplier)
    page.get_by_role("link", name="Signing certificates").click()
    assert "has not registered a certificate yet" in page.locator("main").inner_text()
    assert_accessible(page)
    shoot(page, "certificates-en")

    page.get_by_role("button", name="Get a text to sign").click()
    href = page.locator("#challenge-download").get_attribute("href") or ""
    challenge = unquote(href.removeprefix("data:text/plain;charset=utf-8,"))
    assert challenge.startswith("Tender: registration of a signing certificate\n")
    assert_accessible(page)
    shoot(page, "certificate-challenge-en")

    expired = tmp_path / "expired.p7s"
    expired.write_bytes(
        _in_a_thread(lambda: sign_text(challenge, test_pki.signer("supplier-expired")))
    )
    page.get_by_label("The signature file (.p7s)").set_input_files(expired)
    page.get_by_role("button", name="Register the certificate").click()
    assert "The certificate cannot be registered." in page.get_by_role("alert").inner_text()
    assert_accessible(page)
    shoot(page, "certificate-refused-en")

    signature = tmp_path / "challenge.txt.p7s"  # the same challenge: the refusal spent nothing
    signature.write_bytes(_in_a_thread(lambda: sign_text(challenge, test_pki.signer("supplier-b"))))
    page.get_by_label("The signature file (.p7s)").set_input_files(signature)
    page.get_by_role("button", name="Register the certificate").click()

    page.wait_for_url(f"{site.base}/supplier/certificates?registered=true")
    shown = page.locator("main").inner_text()
    assert "The certificate is registered" in shown
    assert test_pki.certificate("supplier-b").sha256.hex() in shown  # its fingerprint

    forged = page.request.post(  # another site's form, which cannot read the CSRF token
        f"{site.base}/supplier/certificates",
        multipart={
            "challenge_id": "x",
            "signature": {"name": "a.p7s", "mimeType": "application/pkcs7", "buffer": b"x"},
        },
    )
    assert forged.status == 403


@pytest.mark.skipif(shutil.which("openssl") is None, reason="OpenSSL is not installed")
def test_a_certificate_is_registered_with_a_signature_made_as_the_page_says_with_openssl(
    page: Page, site: Site, test_pki: TestPKI, tmp_path: Path
) -> None:
    sign_in(page, site, site.supplier)
    page.goto(f"{site.base}/supplier/certificates")
    page.get_by_role("button", name="Get a text to sign").click()
    with page.expect_download() as challenge:
        page.get_by_role("link", name="challenge.txt").click()
    challenge.value.save_as(tmp_path / "challenge.txt")

    # The page's two commands, with the passwords given rather than asked for.
    commands = page.locator("pre code", has_text="openssl").inner_text().splitlines()
    passwords = [
        ["-passin", f"pass:{P12_PASSPHRASE.decode()}", "-passout", "pass:a pass phrase"],
        ["-passin", "pass:a pass phrase"],
    ]
    shutil.copy(test_pki.p12_path("supplier-c"), tmp_path / "my-ecert.p12")
    for command, password in zip(commands, passwords, strict=True):
        subprocess.run([*command.split(), *password], cwd=tmp_path, check=True)
    page.get_by_label("The signature file (.p7s)").set_input_files(tmp_path / "challenge.txt.p7s")
    page.get_by_role("button", name="Register the certificate").click()

    page.wait_for_url(f"{site.base}/supplier/certificates?registered=true")
    assert test_pki.certificate("supplier-c").sha256.hex() in page.locator("main").inner_text()


def test_my_tenders_shows_bids_their_state_and_the_outcome(
    page: Page, site: Site, sams_receipt: Receipt
) -> None:
    sign_in(page, site, site.supplier)

    bid_on = page.locator(
        "section", has=page.get_by_role("heading", name="Tenders you have bid on")
    )
    assert site.awarded.title in bid_on.inner_text()
    assert "Awarded to your company." in bid_on.inner_text()
    assert site.cleaning.title in bid_on.inner_text()
    assert "1 file received that counts for the opening." in bid_on.inner_text()
    open_for_bids = page.locator(
        "section", has=page.get_by_role("heading", name="Tenders open for bids")
    )
    assert site.road.title in open_for_bids.inner_text()
    assert site.draft.title not in page.locator("main").inner_text()
    assert_accessible(page)
    shoot(page, "my-tenders-en")

    page.get_by_role("link", name=site.awarded.title).click()
    outcome = page.locator("section", has=page.get_by_role("heading", name="Outcome"))
    assert "The tender was awarded to your company." in outcome.inner_text()
    assert "offer.pdf" in outcome.inner_text()  # Sam's own file's verdict
    assert "Harbour Roads" not in outcome.inner_text()  # never another supplier's
    assert_accessible(page)
    shoot(page, "supplier-tender-awarded-en")


def test_a_supplier_asks_a_question_and_a_refused_one_keeps_its_text(
    page: Page, site: Site
) -> None:
    sign_in(page, site, site.supplier)
    page.goto(f"{site.base}/supplier/tenders/{site.road.id}")
    page.get_by_label("Your question to the procuring entity").fill(TOO_LONG_QUESTION)
    page.get_by_role("button", name="Send the question").click()

    assert page.get_by_role("alert").is_visible()
    assert page.get_by_label("Your question to the procuring entity").input_value() == (
        TOO_LONG_QUESTION
    )
    assert_accessible(page)
    shoot(page, "question-refused-en")

    page.get_by_label("Your question to the procuring entity").fill(
        "Is asphalt from Tuen Mun fine?"
    )
    page.get_by_role("button", name="Send the question").click()

    page.wait_for_url(re.compile(r".*asked=true.*"))
    questions = page.locator("section", has=page.get_by_role("heading", name="Your questions"))
    assert "Your question was sent." in questions.inner_text()
    assert "Is asphalt from Tuen Mun fine?" in questions.inner_text()
    assert site.answer in questions.inner_text()  # the earlier one, answered
    assert "Not answered yet." in questions.inner_text()


def test_a_supplier_reads_a_receipt_and_downloads_it(
    page: Page, site: Site, sams_receipt: Receipt
) -> None:
    sign_in(page, site, site.supplier)
    page.goto(f"{site.base}/supplier/tenders/{site.cleaning.id}")
    assert sams_receipt.sha256 in page.locator("main").inner_text()
    assert page.get_by_role("timer").is_visible()  # the countdown to the deadline
    assert page.get_by_role("link", name="Upload bid documents").get_attribute("href") == (
        f"/supplier/tenders/{site.cleaning.id}/upload"
    )
    assert_accessible(page)
    shoot(page, "supplier-tender-en")

    page.get_by_role("link", name="cleaning-offer.pdf").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Receipt for cleaning-offer.pdf"
    assert "This version counts for the opening" in page.locator("main").inner_text()
    assert_accessible(page)
    shoot(page, "receipt-en")

    with page.expect_download() as pdf:
        page.get_by_role("link", name="The receipt as a PDF").click()
    assert Path(pdf.value.path()).read_bytes().startswith(b"%PDF")
    with page.expect_download() as json_file:
        page.get_by_role("link", name="The signed receipt (JSON)").click()
    assert sams_receipt.receipt_id.hex[:8] in json_file.value.suggested_filename
    assert '"signed_receipt"' in Path(json_file.value.path()).read_text()

    page.get_by_role("link", name="Verify a receipt").click()
    page.get_by_label("The receipt (JSON)").set_input_files(json_file.value.path())
    page.get_by_role("button", name="Verify the receipt").click()
    assert page.get_by_role("heading", name="The receipt holds").is_visible()


def test_a_supplier_withdraws_and_after_the_deadline_is_told_why_not(
    page: Page, site: Site
) -> None:
    sam = _user(site, site.supplier.email)
    _in_a_thread(lambda: upload(site.platform, sam, site.cleaning.id, "annex.pdf", [b"annex"]))
    sign_in(page, site, site.supplier)
    page.goto(f"{site.base}/supplier/tenders/{site.cleaning.id}")
    page.get_by_label("What to withdraw").select_option("annex.pdf")
    page.get_by_role("button", name="Withdraw").click()

    assert page.get_by_role("heading", level=1).inner_text() == "Your withdrawal is recorded"
    assert "annex.pdf" in page.locator("main").inner_text()
    with page.expect_download() as saved:
        page.get_by_role("link", name="Save the withdrawal's signed receipt (JSON)").click()
    assert '"signed_receipt"' in Path(saved.value.path()).read_text()
    assert_accessible(page)
    shoot(page, "withdrawn-en")
    page.get_by_role("link", name="Back to the tender").click()
    bid = page.locator("section", has=page.get_by_role("heading", name="Your bid"))
    assert "No: withdrawn" in bid.inner_text()

    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    late = page.request.post(
        f"{site.base}/supplier/tenders/{site.awarded.id}/withdrawal",
        form={"csrf_token": csrf, "file_name": ""},
    )
    assert late.status == 409
    page.set_content(late.text())
    assert "closed at" in page.get_by_role("alert").inner_text()  # the service's words


def _without_the_datas_words(page: Page) -> Page:
    """``page`` without the words that are data in any language: a certificate's names, as its
    authority wrote them, and the text to sign, which is signed byte for byte."""
    page.locator(".distinguished-name, pre.challenge").evaluate_all(
        "found => found.forEach(element => element.remove())"
    )
    return page


def test_every_supplier_page_is_in_chinese_with_no_english_left(
    page: Page, site: Site, sams_receipt: Receipt
) -> None:
    sign_in(page, site, site.supplier)
    page.get_by_role("link", name="繁體中文").click()
    pages = {
        "my-tenders": "/supplier",
        "supplier-tender": f"/supplier/tenders/{site.road.id}",
        "supplier-tender-awarded": f"/supplier/tenders/{site.awarded.id}",
        "receipt": f"/supplier/receipts/{sams_receipt.receipt_id}",
        "certificates": "/supplier/certificates",
    }
    for name, path in pages.items():
        page.goto(f"{site.base}{path}")
        assert page.locator("html").get_attribute("lang") == "zh-Hant-HK"
        assert_accessible(page)
        shoot(page, f"{name}-zh")
        assert_no_english_left(_without_the_datas_words(page))
    page.get_by_role("button", name="取得須簽署的文字").click()
    shoot(page, "certificate-challenge-zh")
    assert_no_english_left(_without_the_datas_words(page))

    page.get_by_role("button", name="登出").click()
    for name, path in {
        "register": "/register",
        "register-sent": "/register/sent?email=dora%40delta.example",
        "confirm-email": "/confirm-email?token=abc",
    }.items():
        page.goto(f"{site.base}{path}")
        assert page.locator("html").get_attribute("lang") == "zh-Hant-HK"
        assert_no_english_left(page)
        assert_accessible(page)
        shoot(page, f"{name}-zh")
    page.get_by_role("button", name="確認我的電郵地址").click()  # an unknown link: refused
    shoot(page, "confirm-email-refused-zh")


def test_a_company_registers_and_confirms_in_chinese(page: Page, site: Site) -> None:
    page.goto(f"{site.base}/language?to=zh-Hant-HK&back=/register")
    page.get_by_label("公司英文名稱").fill("Kwong Fat Roadworks Ltd")
    page.locator("#name_zh").fill("廣發路面工程有限公司")
    page.get_by_label("商業登記號碼").fill("24681357")
    page.get_by_label("公司聯絡電郵").fill("office@kwongfat.example")
    page.get_by_label("你的姓名").fill("陳大文")
    page.get_by_label("電郵地址").fill("chan@kwongfat.example")
    page.get_by_label("密碼", exact=True).fill(PASSWORD)
    page.get_by_label("你收到的電郵所用語言").select_option("zh-Hant-HK")
    page.get_by_role("button", name="註冊").click()

    assert page.get_by_role("heading", level=1).inner_text() == "請查看你的電郵"
    page.goto(f"{site.base}{_confirmation_path(site, 'chan@kwongfat.example')}")
    page.get_by_role("button", name="確認我的電郵地址").click()

    assert page.get_by_role("heading", level=1).inner_text() == "你的電郵地址已確認"
    assert_no_english_left(page)
    assert_accessible(page)
    shoot(page, "email-confirmed-zh")


def test_a_two_envelope_tenders_receipts_name_their_envelope(page: Page, site: Site) -> None:
    officer, sam = _user(site, site.officer.email), _user(site, site.supplier.email)
    tender = two_envelope_tender(
        site.platform, officer, site.platform.clock, ref="HyD-2026-020", seconds=86_400
    )
    _in_a_thread(
        lambda: upload(site.platform, sam, tender.id, "price.pdf", [b"%PDF"], envelope="financial")
    )
    sign_in(page, site, site.supplier)
    page.goto(f"{site.base}/supplier/tenders/{tender.id}")
    assert "Envelope: financial" in page.locator("table.receipts").inner_text()

    page.get_by_role("link", name="price.pdf").click()
    assert "opened only if the bid qualifies" in page.locator(".facts").inner_text()
