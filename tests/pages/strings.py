"""The English strings the pages mark for translation, as ``pybabel extract`` finds them (with
babel.cfg's extractors): from the templates and the pages' own modules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_python
from jinja2.ext import babel_extract

from tender import i18n
from tender.pages import rendering

PAGES = Path(rendering.__file__).parent
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")


Message = tuple[str, ...]
"""A message as marked: its text, or for ngettext its singular and plural."""


def _texts(found: object) -> Message:
    """The texts of an extracted message (ngettext's come with a None for the count)."""
    if isinstance(found, str):
        return (found,)
    return tuple(text for text in found or () if isinstance(text, str))  # type: ignore[attr-defined]


def _messages() -> Iterator[Message]:
    yield from filter(None, _marked())  # a call on a variable (_(name)) marks no text


def _marked() -> Iterator[Message]:
    for template in sorted((PAGES / "templates").rglob("*.html")):
        with template.open("rb") as source:
            for entry in babel_extract(source, tuple(DEFAULT_KEYWORDS), [], {}):
                if texts := _texts(entry[2]):  # not _(variable): its strings are marked N_()
                    yield texts
    for module in sorted(PAGES.glob("*.py")):
        with module.open("rb") as source:
            for found in extract_python(source, DEFAULT_KEYWORDS, [], {}):
                if texts := _texts(found[2]):  # not _(variable): its strings are marked N_()
                    yield texts


@cache
def page_messages() -> frozenset[Message]:
    """Every message the pages mark, as written (placeholders and all)."""
    return frozenset(_messages())


def in_chinese(message: Message) -> str:
    """``message`` as the Hong Kong Chinese catalog has it (itself when it has none)."""
    chinese = i18n.translations(i18n.HONG_KONG_CHINESE)
    if len(message) == 2:
        return chinese.ngettext(message[0], message[1], 2)
    return chinese.gettext(message[0])


@cache
def english_ui_strings() -> frozenset[str]:
    """The English words of the pages' messages that a Chinese page must not show: each
    message's text between its placeholders, leaving out messages whose Chinese keeps them (the
    platform's name); the shortest, "of", could as well be the data's."""
    return frozenset(
        words
        for message in page_messages()
        for text in message
        for part in PLACEHOLDER.split(text)
        # Words short enough to be part of the data too ("of") say nothing.
        if re.search("[A-Za-z]{4}", words := part.strip(" ,.:;()“”"))
        and words not in in_chinese(message)
    )
