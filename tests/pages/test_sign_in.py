"""Signing in and out on the pages, in a real browser: each role lands on its own pages, a
refusal is explained on the form with the email kept, and a form posted without the session's
CSRF token is refused."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.pages.browsing import assert_accessible, shoot
from tests.pages.conftest import Site, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_a_wrong_password_is_explained_and_the_email_kept(page: Page, site: Site) -> None:
    page.goto(f"{site.base}/sign-in")
    page.get_by_label("Email address").fill(site.supplier.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()

    alert = page.get_by_role("alert")
    assert "The sign-in failed." in alert.inner_text()
    assert page.get_by_label("Email address").input_value() == site.supplier.email
    assert page.get_by_label("Password").input_value() == ""
    assert_accessible(page)
    shoot(page, "sign-in-refused-en")


def test_a_supplier_signs_in_sees_their_name_and_signs_out(page: Page, site: Site) -> None:
    sign_in(page, site, site.supplier)

    assert page.url == f"{site.base}/supplier"  # the supplier's own pages
    page.goto(f"{site.base}/")  # a public page knows who reads it too
    assert "Signed in as Sam" in page.locator(".account").inner_text()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{site.base}/")
    assert page.get_by_role("link", name="Sign in").is_visible()


def test_an_officer_signs_in_with_the_code_of_the_authenticator(page: Page, site: Site) -> None:
    sign_in(page, site, site.officer)

    assert page.url == f"{site.base}/officer"
    page.goto(f"{site.base}/")
    assert "Signed in as Olivia" in page.locator(".account").inner_text()
    assert page.get_by_role("link", name="Tenders I run").is_visible()


def test_a_page_for_the_signed_in_sends_a_stranger_to_sign_in_and_back(
    page: Page, site: Site
) -> None:
    page.goto(f"{site.base}/sign-out-check-target")  # no such page: 404, not a sign-in
    assert page.get_by_role("heading", level=1).inner_text() == "There is nothing at this address."
    page.goto(f"{site.base}/sign-in?next=/tenders/{site.road.id}")
    sign_in_target = page.url
    assert "next=" in sign_in_target
    page.get_by_label("Email address").fill(site.supplier.email)
    page.get_by_label("Password").fill(site.supplier.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{site.base}/tenders/{site.road.id}")


def test_a_form_without_the_sessions_csrf_token_is_refused(page: Page, site: Site) -> None:
    sign_in(page, site, site.supplier)
    refused = page.request.post(f"{site.base}/sign-out", form={"csrf_token": "guessed"})
    assert refused.status == 403
    page.goto(f"{site.base}/")
    assert "Signed in as Sam" in page.locator(".account").inner_text()
