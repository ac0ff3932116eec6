"""Bounds on text people type: one place that every schema and service taking text uses.

Text is stored in Unicode NFC (so that the same words typed on two keyboards compare equal),
within a maximum length, and without characters that hide or reorder what a reader sees:
control characters (C0 and C1; a long text may keep newlines and tabs) and the bidirectional
embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), which can make a file
name or a reference read differently from what it is ("Trojan Source").
"""

from __future__ import annotations

import unicodedata
from typing import Final

from tender.errors import Invalid
from tender.i18n import gettext as _

BIDI_CONTROLS: Final = frozenset(chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
LONG_TEXT_KEEPS: Final = frozenset("\n\t")
"""Control characters a long (multi-line) text may hold. A carriage return is dropped from
CR LF line ends, not refused: browsers send form text that way."""

REFERENCE_MAX: Final = 80
TITLE_MAX: Final = 300
DESCRIPTION_MAX: Final = 20_000
REASON_MAX: Final = 5_000
NAME_MAX: Final = 255
EMAIL_MAX: Final = 320  # RFC 5321's longest address (64 + @ + 255)


def _named(char: str) -> str:
    return f"U+{ord(char):04X} {unicodedata.name(char, 'control character')}"


def clean(text: str, *, field: str, max_length: int, long: bool = False) -> str:
    """``text`` in NFC, with surrounding white space removed; refused (422) if it is longer
    than ``max_length`` characters or holds a control or bidirectional-override character
    (``long``: a multi-line text, which may hold newlines and tabs)."""
    normal = unicodedata.normalize("NFC", text.replace("\r\n", "\n") if long else text).strip()
    allowed = LONG_TEXT_KEEPS if long else frozenset()
    bad = sorted(
        {
            char
            for char in normal
            if char in BIDI_CONTROLS or (unicodedata.category(char) == "Cc" and char not in allowed)
        }
    )
    if bad:
        raise Invalid(
            _("The {field} holds characters that cannot be accepted: {value}.").format(
                field=_(field), value=", ".join(_named(char) for char in bad)
            ),
            _(
                "Control characters and bidirectional overrides make text read differently "
                "from what it is, so the platform refuses them."
            ),
            _(
                "Remove them from the {field} (retype it, or paste it as plain text) and send "
                "it again."
            ).format(field=_(field)),
            details={"field": field, "characters": [f"U+{ord(char):04X}" for char in bad]},
        )
    if len(normal) > max_length:
        raise Invalid(
            _("The {field} is {normal} characters long.").format(
                field=_(field), normal=len(normal)
            ),
            _("A {field} may be at most {max_length} characters long.").format(
                field=_(field), max_length=max_length
            ),
            _("Shorten the {field} and send it again.").format(field=_(field)),
            details={"field": field, "length": len(normal), "max_length": max_length},
        )
    return normal


def required(text: str, *, field: str, max_length: int, long: bool = False) -> str:
    """Like :func:`clean` for a text that must not be empty."""
    cleaned = clean(text, field=field, max_length=max_length, long=long)
    if not cleaned:
        raise Invalid(
            _("The {field} is empty.").format(field=_(field)),
            _("A {field} is needed: people find and cite things by it.").format(field=_(field)),
            _("Fill in the {field} and send it again.").format(field=_(field)),
            details={"field": field},
        )
    return cleaned


def optional(text: str | None, *, field: str, max_length: int, long: bool = False) -> str | None:
    """Like :func:`clean` for a text that may be left out: None when it is absent or blank."""
    return (
        None if text is None else clean(text, field=field, max_length=max_length, long=long) or None
    )


def email(address: str, *, field: str) -> str:
    """An email address as stored and compared (:func:`required`, then case-folded: people
    type ``Dora@Delta.example`` and ``dora@delta.example`` for one mailbox); refused unless
    it reads as name@domain."""
    cleaned = required(address, field=field, max_length=EMAIL_MAX).casefold()
    name, _at, domain = cleaned.rpartition("@")
    if not name or not domain or any(char.isspace() for char in cleaned):
        raise Invalid(
            _("{address!r} is not an email address.").format(address=address),
            _("The {field} is where the platform's notices and links are sent.").format(
                field=_(field)
            ),
            _("Give an address such as name@example.com."),
            details={"field": field},
        )
    return cleaned


def reference_key(reference: str) -> str:
    """How references are compared: ``RFT-1`` and ``rft-1`` are one reference."""
    return unicodedata.normalize("NFC", reference).casefold()
