"""Which language a reader gets."""

from __future__ import annotations

import pytest

from tender.i18n import ENGLISH, HONG_KONG_CHINESE, current_locale, negotiate, use_locale


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
