"""Which language a reader gets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tender.clock import for_people
from tender.i18n import (
    ENGLISH,
    HONG_KONG_CHINESE,
    accepted_languages,
    current_locale,
    negotiate,
    use_locale,
)


@pytest.mark.parametrize(
    ("preferences", "expected"),
    [
        ((None, "zh-HK"), HONG_KONG_CHINESE),
        (("zh-Hant",), HONG_KONG_CHINESE),
        (("zh-TW",), HONG_KONG_CHINESE),  # the Traditional Chinese the platform has
        (("fr", "en-GB"), ENGLISH),
        (("en", "zh-HK"), ENGLISH),  # a saved choice comes first
        (("de", "not a language!"), ENGLISH),
        ((), ENGLISH),
    ],
)
def test_a_reader_gets_the_first_language_they_prefer_that_the_platform_speaks(
    preferences: tuple[str | None, ...], expected: str
) -> None:
    assert negotiate(*preferences) == expected


def test_a_language_is_in_force_only_within_its_block() -> None:
    with use_locale(HONG_KONG_CHINESE):
        assert current_locale() == HONG_KONG_CHINESE
    assert current_locale() == ENGLISH
    with pytest.raises(ValueError, match="unknown locale"):
        use_locale("xx").__enter__()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", ["fr-CH", "fr", "en", "de"]),
        ("en;q=0.2, zh-HK", ["zh-HK", "en"]),
        ("zh-HK;q=0, en", ["en"]),  # q=0: not acceptable
        ("en;q=oops, zh-HK", ["zh-HK"]),
        (None, []),
    ],
)
def test_accept_language_is_read_best_first(header: str | None, expected: list[str]) -> None:
    assert accepted_languages(header) == expected


def test_times_for_people_are_written_per_language_in_hong_kong_time_beside_utc() -> None:
    moment = datetime(2026, 11, 27, 9, 5, 7, tzinfo=UTC)

    english = for_people(moment)
    with use_locale(HONG_KONG_CHINESE):
        chinese = for_people(moment)

    assert english == "2026-11-27 17:05:07 Hong Kong time (2026-11-27 09:05:07 UTC)"
    assert chinese == "2026年11月27日 17:05:07（香港時間）／2026-11-27 09:05:07 UTC"  # noqa: RUF001
