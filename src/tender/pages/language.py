"""Which language a reader gets: the one they chose with the language switch (a cookie), else
the best their browser asks for (Accept-Language), else English. It is in force for the whole
request, so what the services say (a refusal) follows it too."""

from __future__ import annotations

from typing import Any, Final

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from tender.i18n import ENGLISH, HONG_KONG_CHINESE, negotiate, use_locale

LANGUAGE_COOKIE: Final = "lang"
LANGUAGE_TAGS: Final = {ENGLISH: "en", HONG_KONG_CHINESE: "zh-Hant-HK"}
"""The BCP 47 tag of each locale: for ``<html lang>``, the language switch and its cookie."""


def accepted_languages(header: str) -> list[str]:
    """The languages of an Accept-Language header, best first (``q=0`` ones left out)."""
    weighted: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")):
        tag, _, parameters = item.strip().partition(";")
        quality = 1.0
        name, _, value = parameters.strip().partition("=")
        if name.strip() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def reader_locale(scope: Scope) -> str:
    """The locale of the request in ``scope``: the saved choice, then Accept-Language."""
    connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope)
    return negotiate(
        connection.cookies.get(LANGUAGE_COOKIE),
        *accepted_languages(connection.headers.get("accept-language", "")),
    )


def speak_the_readers_language(app: ASGIApp) -> ASGIApp:
    """Middleware: each HTTP request is served in its reader's language (see the module)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        with use_locale(reader_locale(scope)):
            await app(scope, receive, send)

    return middleware
