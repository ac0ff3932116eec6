"""How pages are rendered: one Jinja2 environment with the i18n extension on tender.i18n's
gettext (templates say ``{{ _("...") }}``), and times, sizes and countdowns per locale."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_currency, format_decimal
from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from tender import i18n
from tender.accounts.models import Role
from tender.accounts.signin import Caller
from tender.clock import HONG_KONG
from tender.pages.language import LANGUAGE_TAGS

TEMPLATES: Final = Path(__file__).parent / "templates"
STATIC: Final = Path(__file__).parent / "static"

# Dates and numbers as Hong Kong writes them; English in Hong Kong's style (27 November 2026).
FORMAT_LOCALES: Final = {i18n.ENGLISH: "en_HK", i18n.HONG_KONG_CHINESE: "zh_Hant_HK"}


def _formatting_locale() -> Locale:
    return Locale.parse(FORMAT_LOCALES[i18n.current_locale()])


def hong_kong_time(moment: datetime) -> str:
    """``moment`` in Hong Kong time, written as the reader's language writes dates."""
    local, locale = moment.astimezone(HONG_KONG), _formatting_locale()
    return i18n.gettext("%(date)s, %(time)s Hong Kong time") % {
        "date": format_date(local.date(), format="full", locale=locale),
        "time": format_time(local.time(), format="short", locale=locale),
    }


def utc_time(moment: datetime) -> str:
    """``moment`` in UTC, in one form for every language (2026-11-27 09:00 UTC)."""
    return format_datetime(moment.astimezone(UTC), "yyyy-MM-dd HH:mm 'UTC'", locale="en")


def short_date(moment: datetime) -> str:
    """The day of ``moment`` in Hong Kong, short (27 Nov 2026; 2026年11月27日)."""
    return format_date(
        moment.astimezone(HONG_KONG).date(), format="medium", locale=_formatting_locale()
    )


def file_size(size: int) -> str:
    """A size in bytes as people read it (12.3 KB)."""
    value, unit = float(size), i18n.gettext("bytes")
    for larger in ("KB", "MB", "GB"):
        if value < 1024:
            break
        value, unit = value / 1024, larger
    digits = "#,##0" if unit == i18n.gettext("bytes") else "#,##0.0"
    return f"{format_decimal(value, digits, locale=_formatting_locale())} {unit}"


def money(value: str, currency: str) -> str:
    """An amount (a decimal string, as awards keep it) in ``currency`` as the reader's language
    writes money (HK$1,250,000.50)."""
    return format_currency(Decimal(value), currency, locale=_formatting_locale())


def countdown_words() -> str:
    """What is left until a deadline; the page's script counts it down in the same words."""
    return i18n.gettext("{days} days {hours} h {minutes} min {seconds} s left")


def time_left(seconds: float) -> str:
    """What is left until a deadline, in words (2 days 3 h 4 min 5 s left)."""
    if seconds <= 0:
        return i18n.gettext("The deadline has passed.")
    whole = int(seconds)
    return countdown_words().format(
        days=whole // 86400,
        hours=whole % 86400 // 3600,
        minutes=whole % 3600 // 60,
        seconds=whole % 60,
    )


def role_pages(viewer: Caller | None) -> list[tuple[str, str]]:
    """The pages of the viewer's work, for the header: (address, title in the reader's
    language). Committee members are officers and auditors."""
    if viewer is None:
        return []
    pages = {
        Role.SUPPLIER: [("/supplier", i18n.gettext("My tenders and bids"))],
        Role.OFFICER: [
            ("/officer", i18n.gettext("Tenders I run")),
            ("/committee", i18n.gettext("Opening committee")),
        ],
        Role.AUDITOR: [
            ("/auditor", i18n.gettext("Audit")),
            ("/committee", i18n.gettext("Opening committee")),
        ],
        Role.ADMIN: [],
    }
    return pages[viewer.user.role]


def environment() -> Environment:
    """The pages' Jinja2 environment (see the module)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the i18n extension
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    env.filters.update(
        hong_kong_time=hong_kong_time,
        utc_time=utc_time,
        short_date=short_date,
        file_size=file_size,
        money=money,
        time_left=time_left,
    )
    env.globals["language_tag"] = lambda: LANGUAGE_TAGS[i18n.current_locale()]
    env.globals["languages"] = LANGUAGE_TAGS
    env.globals["role_pages"] = role_pages
    env.globals["countdown_words"] = countdown_words
    return env


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment()))


def render(name: str, **context: Any) -> str:
    """A page rendered outside a route handler (error pages, from exception handlers)."""
    return _ENVIRONMENT.get_template(name).render(**context)


_ENVIRONMENT: Final = environment()
