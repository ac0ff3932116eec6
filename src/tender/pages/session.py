"""Signing in and out on the pages, and who is reading a page.

The sign-in form posts email, password and (where the account needs one) the authenticator's
code; a refusal is shown on the form again with the email kept. Every page is given the
``viewer``: the signed-in caller, or None, so the header can say who is signed in and offer
the pages of their role. Forms that change something carry the session's CSRF token as a
hidden ``csrf_token`` field (:data:`~tender.accounts.authentication.CSRF_FIELD`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from tender.accounts.authentication import SESSION_COOKIE
from tender.accounts.dependencies import provide_caller, provide_sign_in_service
from tender.accounts.guards import EVERY_ROLE, PUBLIC, allow
from tender.accounts.models import Role
from tender.accounts.signin import Caller, SignedIn, SignInService, authenticate_cookie
from tender.clock import Clock
from tender.config import Settings
from tender.errors import Refusal
from tender.pages.errors import PAGE, failure_page
from tender.pages.rendering import render

ROLE_HOMES: Final = {
    Role.SUPPLIER: "/supplier",
    Role.OFFICER: "/officer",
    Role.AUDITOR: "/auditor",
    Role.ADMIN: "/",
}
"""Where each role lands after signing in: the pages of its work."""

MAX_FIELD: Final = 320  # an email address at most; a password or code is shorter


def same_site(address: str, otherwise: str = "/") -> str:
    """``address`` if it is a page of this site, else ``otherwise``: never send a reader on
    to another site ("//host", "/\\host") from a link's parameter."""
    ok = address.startswith("/") and not address.startswith(("//", "/\\"))
    return address if ok else otherwise


def provide_viewer(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[Session],
    clock: NamedDependency[Clock],
) -> Caller | None:
    """Who reads the page: the caller the middleware found on a signed-in page; on a public
    page (which the middleware skips), whoever the session cookie names, if it is valid."""
    if "auth" in request.scope and isinstance(request.scope["auth"], Caller):
        return request.scope["auth"]
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        return authenticate_cookie(db_session, cookie, now=clock.now())
    except Refusal:  # ended or expired: the page is shown as to anyone
        return None


VIEWER: Final = {"viewer": Provide(provide_viewer, sync_to_thread=False)}
"""The dependency every pages controller adds, so its templates know the viewer."""


@dataclass(frozen=True)
class SignInForm:
    email: Annotated[str, Body(max_length=MAX_FIELD)] = ""
    password: Annotated[str, Body(max_length=MAX_FIELD)] = ""
    code: Annotated[str, Body(max_length=16)] = ""
    next: Annotated[str, Body(max_length=2000)] = ""


FORM = Body(media_type=RequestEncodingType.URL_ENCODED)


class SessionPages(Controller):
    """The sign-in form, signing out, and each role's landing page."""

    opt = {PAGE: True}
    include_in_schema = False
    exception_handlers = {500: failure_page}
    dependencies = {
        **VIEWER,
        "sign_in": Provide(provide_sign_in_service, sync_to_thread=False),
        "caller": Provide(provide_caller, sync_to_thread=False),
    }

    @get("/sign-in", opt=PUBLIC, sync_to_thread=True)
    def sign_in_form(
        self,
        viewer: NamedDependency[Caller | None],
        next: Annotated[str, QueryParameter(max_length=2000)] = "",
    ) -> Template | Redirect:
        if viewer is not None:
            return Redirect(same_site(next, ROLE_HOMES[viewer.user.role]), status_code=303)
        return Template("sign_in.html", context={"viewer": None, "form": SignInForm(next=next)})

    @post("/sign-in", opt=PUBLIC, sync_to_thread=True)
    def sign_in(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[SignInForm, FORM],
        sign_in: NamedDependency[SignInService],
        settings: NamedDependency[Settings],
    ) -> Response[Any]:
        address = request.client.host if request.client else "unknown"
        outcome = sign_in.sign_in(
            email=data.email, password=data.password, code=data.code or None, address=address
        )
        if not isinstance(outcome, SignedIn):
            # Shown, not raised: the failure is counted and audited in this transaction.
            # The form keeps the email; the password is never sent back.
            page = render(
                "sign_in.html",
                viewer=None,
                form=SignInForm(email=data.email, next=data.next),
                refusal=outcome,
            )
            return Response(
                page,
                status_code=outcome.status_code,
                media_type=MediaType.HTML,
                headers=outcome.headers(),
            )
        cookie = Cookie(
            key=SESSION_COOKIE,
            value=outcome.cookie,
            path="/",
            expires=int(outcome.expires_at.timestamp()),
            httponly=True,
            samesite="lax",
            secure=settings.cookie_secure,
        )
        home = ROLE_HOMES[outcome.user.role]
        return Redirect(same_site(data.next, home), status_code=303, cookies=[cookie])

    @post("/sign-out", guards=allow(*EVERY_ROLE, to="sign out"), sync_to_thread=True)
    def sign_out(
        self, caller: NamedDependency[Caller], sign_in: NamedDependency[SignInService]
    ) -> Redirect:
        sign_in.sign_out(caller)
        return Redirect(
            "/", status_code=303, cookies=[Cookie(key=SESSION_COOKIE, value="", max_age=0)]
        )
