"""Every string a person reads has its Hong Kong Chinese translation, in Hong Kong words.

The strings are extracted here, as ``pybabel extract`` would with ``babel.cfg``, so nothing
generated is kept in the repository but the catalog itself.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from tender import i18n
from tender.i18n import HONG_KONG_CHINESE, read_catalog

ROOT = Path(__file__).parent.parent
SOURCES = ("src", "signing", "storage")

TAIWAN_TERMS = {
    "憑證": "電子證書 (certificate)",
    "數位": "電子 / 數碼 (digital)",
    "送件": "遞交 / 提交 (submit)",
    "軟體": "軟件 (software)",
    "網路": "網絡 (network, internet)",
    "登錄": "登記 (register)",
    "廢止": "撤銷 (revoke a certificate)",
    "上傳": "上載 (upload)",
    "位元組": "字節 (byte)",
}
"""Words of Taiwan usage with the word the Hong Kong Government writes instead. Only clear
cases: 檔案 (file), 資料 (data), 資訊 (information) and 程式 (program) are written in Hong
Kong too, so they are allowed."""

_PERCENT = re.compile(r"%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def _extracted() -> Iterator[tuple[str, str | tuple[str, ...]]]:
    """(where, msgid) of every marked string."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    for source in SOURCES:
        for file_name, line, message, _comments, _context in extract_from_dir(
            ROOT / source, method_map, options_map
        ):
            yield f"{source}/{file_name}:{line}", message


def _catalog() -> Catalog:
    return read_catalog(HONG_KONG_CHINESE)


def _placeholders(text: str) -> list[str]:
    """The %-style and {}-style placeholders of ``text``, in a comparable order."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError:  # a lone brace: not a format string
        fields = []
    return sorted(_PERCENT.findall(text) + [f"{{{name}}}" for name in fields])


def _texts(value: object) -> tuple[str, ...]:
    """The text, or the singular and plural texts, of a catalog entry's id or string."""
    return tuple(value) if isinstance(value, (tuple, list)) else (str(value or ""),)


def _faults(message: Message | None) -> str | None:
    if message is None:
        return "no translation"
    if message.fuzzy:
        return "fuzzy translation"
    ids, strings = _texts(message.id), _texts(message.string)
    if not all(strings):
        return "empty translation"
    if any(_placeholders(translated) != _placeholders(ids[0]) for translated in strings):
        return f"placeholders differ: {_placeholders(ids[0])} in English"
    return None


def test_every_marked_string_has_a_hong_kong_chinese_translation() -> None:
    catalog = _catalog()
    faults = sorted(
        {
            f"{where}: {fault}: {message!r}"
            for where, message in _extracted()
            if (fault := _faults(catalog.get(message))) is not None
        }
    )
    assert not faults, "\n".join(faults)


def test_the_catalog_uses_hong_kong_words_not_taiwan_ones() -> None:
    found = [
        f"{word} (write {instead}) in the translation of {message.id!r}"
        for message in _catalog()
        if message.id
        for translated in _texts(message.string)
        for word, instead in TAIWAN_TERMS.items()
        if word in translated
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{name} at {time:%H:%M}", ["{name}", "{time}"]),
        ("%(count)d of %s", ["%(count)d", "%s"]),
        ("a lone { brace", []),
    ],
)
def test_placeholders_are_found_in_either_style(text: str, expected: list[str]) -> None:
    assert _placeholders(text) == sorted(expected)


def test_a_string_translated_in_two_files_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / HONG_KONG_CHINESE / "LC_MESSAGES"
    folder.mkdir(parents=True)
    for name, translated in (("a.po", "遞交"), ("b.po", "提交")):
        (folder / name).write_text(f'msgid "Submit"\nmsgstr "{translated}"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "CATALOG_DIR", tmp_path)
    with pytest.raises(ValueError, match=r"'Submit' is translated twice; b\.po repeats it"):
        read_catalog(HONG_KONG_CHINESE)
