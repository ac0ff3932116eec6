"""How the pages name their languages. Which one a reader gets is decided per request by
:func:`tender.web.reader_locale`: their choice (the switch's cookie), else their browser's."""

from __future__ import annotations

from typing import Final

from tender.i18n import ENGLISH, HONG_KONG_CHINESE

LANGUAGE_TAGS: Final = {ENGLISH: "en", HONG_KONG_CHINESE: "zh-Hant-HK"}
"""The BCP 47 tag of each locale: for ``<html lang>``, the language switch and its cookie."""
