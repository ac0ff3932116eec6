"""The languages people read the platform in: English, and Traditional Chinese as written in Hong
Kong (zh-Hant-HK, with Hong Kong government terms: 電子證書, 簽署, 遞交).

Strings are marked with :func:`gettext` (imported as ``_``) and translated from gettext catalogs
kept as ``.po`` files under ``src/tender/locale``, one per part of the platform (``pybabel
extract`` / ``update`` with ``babel.cfg``). The catalogs are read as they are, with Babel, when
first needed: there is no compiled ``.mo`` file to forget to rebuild. The language in force is
per request (or per command), held in a context variable, so a service deep in a call says its
refusal in the language of whoever asked without being told.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Final

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.support import NullTranslations

from tender.signing import catalog
from tender.signing.catalog import SIGNING_CATALOG_DIR

__all__ = [
    "DEFAULT_LOCALE",
    "ENGLISH",
    "HONG_KONG_CHINESE",
    "LOCALES",
    "accepted_languages",
    "babel_locale",
    "catalog_files",
    "current_locale",
    "gettext",
    "gettext_noop",
    "in_each_language",
    "negotiate",
    "ngettext",
    "read_catalog",
    "translations",
    "use_locale",
]

ENGLISH: Final = "en"
HONG_KONG_CHINESE: Final = "zh_Hant_HK"
LOCALES: Final = (ENGLISH, HONG_KONG_CHINESE)
"""Every language the platform speaks, by Babel locale identifier; English is the source."""
DEFAULT_LOCALE: Final = ENGLISH
CATALOG_DIR: Final = Path(__file__).parent / "locale"

_current: ContextVar[str] = ContextVar("tender_locale", default=DEFAULT_LOCALE)


def catalog_files(locale: str) -> list[Path]:
    """The ``.po`` files of ``locale``: one per part of the platform (the pages of each role,
    the refusals, ...), so that work on one part does not edit another's file; and the
    signature reports' own, which the library ``signing`` keeps beside itself."""
    return [
        *sorted((CATALOG_DIR / locale / "LC_MESSAGES").glob("*.po")),
        *sorted((SIGNING_CATALOG_DIR / locale / "LC_MESSAGES").glob("*.po")),
    ]


def read_catalog(locale: str) -> Catalog:
    """Every translation of ``locale``, from all its ``.po`` files (a string translated in two
    of them is refused)."""
    return catalog.read_catalog(catalog_files(locale), locale)


@cache
def translations(locale: str) -> NullTranslations:
    """The catalog of ``locale`` (English needs none: its strings are the source)."""
    if locale == DEFAULT_LOCALE or not catalog_files(locale):
        return NullTranslations()
    return catalog.compiled(read_catalog(locale))


def current_locale() -> str:
    return _current.get()


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    """Speak ``locale`` (one of :data:`LOCALES`) within the block."""
    if locale not in LOCALES:
        raise ValueError(f"unknown locale {locale!r}; the platform speaks {', '.join(LOCALES)}")
    token = _current.set(locale)
    try:
        yield
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    """``message`` in the current language."""
    return translations(_current.get()).gettext(message)


def gettext_noop(message: str) -> str:
    """``message`` as it is, marked for the catalog (imported as ``N_``): for a text kept in
    a table and translated where it is said."""
    return message


def in_each_language(say: Callable[[], str]) -> tuple[str, str]:
    """What ``say`` says in English and in Hong Kong Chinese, for texts shown or stored in
    both languages side by side."""
    with use_locale(ENGLISH):
        english = say()
    with use_locale(HONG_KONG_CHINESE):
        chinese = say()
    return english, chinese


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural form, for ``count``, in the current language."""
    return translations(_current.get()).ngettext(singular, plural, count)


def negotiate(*preferences: str | None) -> str:
    """The first of ``preferences`` the platform speaks (a saved choice, then each language
    of an Accept-Language header, best first), else English. "zh-HK", "zh-Hant" and "zh-TW"
    readers get Hong Kong Chinese: it is the Traditional Chinese the platform has."""
    for preference in preferences:
        if not preference:
            continue
        try:
            locale = Locale.parse(preference.replace("-", "_"))
        except (ValueError, TypeError, UnknownLocaleError):  # whatever a header or cookie says
            continue
        if locale.language == "zh" and (
            locale.script == "Hant" or locale.territory in {"HK", "MO", "TW"}
        ):
            return HONG_KONG_CHINESE
        if locale.language == "en":
            return ENGLISH
    return DEFAULT_LOCALE


def accepted_languages(header: str | None) -> list[str]:
    """The languages of an Accept-Language header, best first (by their ``q`` weights; ties
    keep the header's order); those weighted 0 are refused, so left out."""
    weighted: list[tuple[float, str]] = []
    for item in (header or "").split(","):
        language, _, parameters = item.strip().partition(";")
        weight = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.strip().partition("=")
            if name == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if language and language != "*" and weight > 0:
            weighted.append((weight, language))
    return [language for _, language in sorted(weighted, key=lambda pair: -pair[0])]


def babel_locale() -> Locale:
    """The Babel locale in force, for formatting dates, times and numbers."""
    return Locale.parse(_current.get())
