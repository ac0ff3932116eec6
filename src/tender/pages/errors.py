"""Error pages: a refusal met on a page (no such tender, no such address) is answered with a
page in the reader's language that says what happened and what to do, instead of the API's
JSON. The app's own handlers still decide the answer and audit it; this only dresses it."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from typing import Any, Final
from urllib.parse import urlencode

from litestar import MediaType, Request, Response
from litestar.response import Redirect
from litestar.types import ExceptionHandler

from tender.i18n import gettext as _
from tender.i18n import use_locale
from tender.pages.rendering import render
from tender.web import reader_locale

PAGE: Final = "page"
"""``opt`` of the routes that are pages: their refusals are answered with error pages."""
API_PREFIX: Final = "/api/"
FORM_PAGE: Final = "form_page"
"""``opt`` of a page's form route: the template that shows the form again, with what the user
typed and why it was refused, when the service refuses it (see :func:`remember_form`)."""
_FORM_STATE: Final = "submitted_form"


def remember_form(request: Request[Any, Any, Any], form: object) -> None:
    """Keep what the user typed in ``form`` (a dataclass), so that if the service refuses it,
    the form is shown again filled in; called by a form's handler before the service."""
    request.state[_FORM_STATE] = asdict(form) if is_dataclass(form) else {}  # type: ignore[arg-type]


def wants_a_page(request: Request[Any, Any, Any]) -> bool:
    """Whether ``request`` is for a page: a page's route, or, for an address that no route
    answers outside the API, a browser asking for HTML rather than JSON."""
    handler: Any = request.scope.get("route_handler")  # none when no route matched
    if handler is not None:
        return bool(handler.opt.get(PAGE))
    if request.url.path.startswith(API_PREFIX):
        return False
    return request.accept.best_match(["application/json", "text/html"]) == "text/html"


def error_page(status: int, what: str, why: str, todo: str) -> Response[str]:
    return Response(
        render("error.html", status=status, what=what, why=why, todo=todo),
        status_code=status,
        media_type=MediaType.HTML,
    )


def not_found_page() -> Response[str]:
    """The page for an address with nothing at it, in the reader's language."""
    return error_page(
        404,
        _("There is nothing at this address."),
        _(
            "No page or tender is found here: the address may be mistyped, or the tender may "
            "not be published."
        ),
        _("Check the address, or search the list of tenders."),
    )


def _dressed(handler: ExceptionHandler[Any]) -> ExceptionHandler[Any]:
    def answer(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        response = handler(request, exc)
        if not wants_a_page(request):
            return response
        if response.status_code == 401:  # a page for the signed-in: sign in, then come back
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return Redirect(f"/sign-in?{urlencode({'next': here})}", status_code=303)
        form_page = _form_page(request)
        if form_page is not None and response.status_code not in (403, 404):
            with use_locale(reader_locale(request.scope)):
                return _form_again(request, form_page, response)
        # An address no route answers passes no middleware: the reader's language is set here.
        with use_locale(reader_locale(request.scope)):
            return _page_for(response)

    return answer


def _form_page(request: Request[Any, Any, Any]) -> str | None:
    handler: Any = request.scope.get("route_handler")
    template = handler.opt.get(FORM_PAGE) if handler is not None else None
    return template if isinstance(template, str) and _FORM_STATE in request.state else None


def _form_again(
    request: Request[Any, Any, Any], template: str, response: Response[Any]
) -> Response[str]:
    """The refused form, shown again with what was typed and the refusal above it."""
    body = response.content if isinstance(response.content, dict) else {}
    page = Response(
        render(
            template,
            request=request,
            viewer=request.scope.get("auth"),
            form=request.state[_FORM_STATE],
            refusal={
                "what": body.get("what", ""),
                "why": body.get("why", ""),
                "todo": body.get("what_to_do", ""),
            },
            **request.path_params,
        ),
        status_code=response.status_code,
        media_type=MediaType.HTML,
    )
    page.headers.update(response.headers)
    return page


def _page_for(response: Response[Any]) -> Response[str]:
    body = response.content if isinstance(response.content, dict) else {}
    if response.status_code == 404:  # the API's words name routes; a reader needs others
        page = not_found_page()
    else:
        page = error_page(
            response.status_code or 500,
            str(body.get("what", _("The platform could not show this page."))),
            str(body.get("why", "")),
            str(body.get("what_to_do", _("Go back and try again."))),
        )
    page.headers.update(response.headers)
    return page


def with_error_pages(
    handlers: dict[int | type[Exception], ExceptionHandler[Any]],
) -> dict[int | type[Exception], ExceptionHandler[Any]]:
    """The app's exception ``handlers``, each answering with an error page for a page."""
    return {kind: _dressed(handler) for kind, handler in handlers.items()}


def failure_page(request: Request[Any, Any, Any], exc: Exception) -> Response[str]:
    """A page's own failure (a fault of the platform, 500): said plainly; the operators get
    the details in the log (Litestar logs every exception)."""
    with use_locale(reader_locale(request.scope)):
        return error_page(
            500,
            _("Something went wrong on the platform's side."),
            _(
                "The page could not be shown because of a fault in the platform, not anything "
                "you did."
            ),
            _(
                "Try again in a minute or two. If it keeps happening, tell the platform's "
                "operators."
            ),
        )
