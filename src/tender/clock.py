"""The clock that decides lateness, and how times are written.

The clock is passed in everywhere, so tests can set the time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol, runtime_checkable

from babel.dates import format_datetime

from tender.i18n import babel_locale
from tender.i18n import gettext as _

ARRIVED_AT = "arrived_at"
"""The key of a request's state that holds when its last byte arrived (see
``tender.web.arrival_stamp``)."""


HONG_KONG = timezone(timedelta(hours=8), "HKT")
"""Hong Kong time: UTC+8 all year since 1979, so a fixed offset needs no time-zone database."""


def for_people(moment: datetime) -> str:
    """A time as the people of this platform read it, in the language in force: Hong Kong
    time, then UTC (the time receipts and the audit trail keep)."""
    # The pattern is a CLDR one, in the catalog: each language writes its dates its own way.
    local = format_datetime(
        moment.astimezone(HONG_KONG), _("yyyy-MM-dd HH:mm:ss"), locale=babel_locale()
    )
    utc = f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S}"
    return _("{local} Hong Kong time ({utc} UTC)").format(local=local, utc=utc)


def format_time(moment: datetime) -> str:
    """The one text form of a time in the audit trail, receipts and records:
    ISO 8601 in UTC with microseconds and a ``Z``, e.g. ``2026-11-27T13:40:19.123456Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@runtime_checkable  # dependency injection checks what it is given
class Clock(Protocol):
    """Something that tells the current time as a timezone-aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The server's clock (kept right by NTP in production)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to; for tests."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(UTC)
