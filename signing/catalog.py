"""gettext catalogues read as they are kept, ``.po`` files, with Babel: there is no compiled
``.mo`` file to forget to rebuild.

The signature reports carry their own Hong Kong Chinese (``locale/`` beside this module), so
that this library says its verdicts in both languages without the platform; the platform reads
its own catalogues, and this one with them, through the same two functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from io import BytesIO
from pathlib import Path
from typing import Final

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

__all__ = ["DOMAIN", "SIGNING_CATALOG_DIR", "compiled", "read_catalog"]

DOMAIN: Final = "messages"
SIGNING_CATALOG_DIR: Final = Path(__file__).parent / "locale"
"""The signature reports' catalogues, one folder per locale (``zh_Hant_HK/LC_MESSAGES``)."""


def read_catalog(paths: Iterable[Path], locale: str) -> Catalog:
    """Every translation in the ``.po`` files ``paths``, read together; an English string may
    be translated in one file only, so that two translations cannot disagree."""
    merged = Catalog(locale=locale, domain=DOMAIN)
    for path in paths:
        with path.open("rb") as po:
            part = read_po(po, locale=locale, domain=DOMAIN)
        for message in part:
            if not message.id:
                continue  # the file's header
            if merged.get(message.id) is not None:
                raise ValueError(f"{message.id!r} is translated twice; {path.name} repeats it")
            merged[message.id] = message
    return merged


def compiled(catalog: Catalog) -> Translations:
    """``catalog`` as gettext translations, compiled in memory."""
    binary = BytesIO()
    write_mo(binary, catalog)
    binary.seek(0)
    return Translations(binary, domain=DOMAIN)
