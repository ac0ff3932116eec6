"""The font of the PDFs the platform writes (a bid's receipt, the opening record), so that
Chinese names and Chinese text print as written.

The PDF standard fonts (Helvetica, Courier) have Latin letters only. Noto Sans CJK, from
Debian's ``fonts-noto-cjk`` package, has Latin letters and Chinese characters both; its Hong
Kong face draws the characters in Hong Kong's forms. fpdf2 embeds only the glyphs a PDF uses,
so a receipt stays some kilobytes. Hashes stay in Courier, whose digits line up.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

from fpdf import FPDF

__all__ = [
    "FONT_FAMILY",
    "FONT_FILES",
    "HONG_KONG_FACE",
    "MissingFontError",
    "require_platform_font",
    "use_platform_font",
]

FONT_FAMILY: Final = "NotoSansCJK"
FONT_FILES: Final = {
    "": Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    "B": Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
}
"""The font collection of each style fpdf2 is asked for ("" regular, "B" bold), where Debian's
fonts-noto-cjk installs them."""
HONG_KONG_FACE: Final = 4
"""The face of the collections named "Noto Sans CJK HK" (0 JP, 1 KR, 2 SC, 3 TC, 4 HK)."""


class MissingFontError(RuntimeError):
    """A font file the PDFs need is not installed."""


def require_platform_font(files: Mapping[str, Path] = FONT_FILES) -> None:
    """:class:`MissingFontError` unless every file of ``files`` is there: the platform checks
    at start, rather than fail at its first receipt or opening."""
    for path in files.values():
        if not path.is_file():
            raise MissingFontError(
                f"The font {path} is missing, so no receipt or opening record PDF can be "
                "written: install Debian's fonts-noto-cjk package (apt-get install "
                "fonts-noto-cjk)"
            )


def use_platform_font(pdf: FPDF, files: Mapping[str, Path] = FONT_FILES) -> str:
    """Add the platform's font to ``pdf`` in each style of ``files`` and give its family name,
    for ``pdf.set_font``; :class:`MissingFontError` if a file is not there."""
    require_platform_font(files)
    for style, path in files.items():
        pdf.add_font(FONT_FAMILY, style, path, collection_font_number=HONG_KONG_FACE)
    return FONT_FAMILY
