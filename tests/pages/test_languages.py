"""The pages' languages without a browser: every string they mark has its Hong Kong Chinese,
and a reader's language comes from their choice, then their browser's."""

from __future__ import annotations

import pytest

from tender.i18n import ENGLISH, HONG_KONG_CHINESE
from tender.web import reader_locale
from tests.pages.strings import in_chinese, page_messages


def test_every_string_of_the_pages_has_its_hong_kong_chinese() -> None:
    untranslated = [m for m in page_messages() if in_chinese(m) in m]

    assert len(page_messages()) > 50  # the extraction found the templates' strings
    assert untranslated == []


def test_a_translation_keeps_the_placeholders_of_its_english() -> None:
    placeholders = r"%\(\w+\)[sd]|\{\w+\}"
    import re

    changed = [
        m
        for m in page_messages()
        if sorted(re.findall(placeholders, m[-1]))
        != sorted(re.findall(placeholders, in_chinese(m)))
    ]

    assert changed == []


def scope(*headers: tuple[str, str]) -> dict[str, object]:
    return {
        "type": "http",
        "headers": [(name.encode(), value.encode()) for name, value in headers],
    }


@pytest.mark.parametrize(
    ("headers", "locale"),
    [
        ((), ENGLISH),
        ((("accept-language", "zh-HK,en;q=0.5"),), HONG_KONG_CHINESE),
        ((("accept-language", "fr,zh-TW;q=0.8"),), HONG_KONG_CHINESE),
        ((("cookie", "lang=en"), ("accept-language", "zh-HK")), ENGLISH),  # the choice wins
        ((("cookie", "x=1; lang=zh-Hant-HK"),), HONG_KONG_CHINESE),
        ((("cookie", "lang=klingon"), ("accept-language", "zh-HK")), HONG_KONG_CHINESE),
    ],
)
def test_the_reader_gets_their_choice_then_their_browsers_language(
    headers: tuple[tuple[str, str], ...], locale: str
) -> None:
    assert reader_locale(scope(*headers)) == locale  # type: ignore[arg-type]
