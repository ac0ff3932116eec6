"""The opening record as a PDF a person reads, sealed with the platform's PAdES signature.

The JSON record (:func:`tender.opening.record.build_record`) is the authoritative one; the PDF
shows the same facts on A4 pages, in the language in force. Its font
(:mod:`tender.bids.pdf_fonts`) shows Chinese names and Chinese text as written; hashes are in
Courier.

The PDF is a pure function of the record (its creation date is the opening's finish time), so
an opening that is resumed and renders again writes the same bytes.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from io import BytesIO
from typing import Any, BinaryIO, Final

from fpdf import FPDF, FontFace
from pyhanko.sign.signers import Signer
from pyhanko.sign.timestamps import TimeStamper

from tender.bids.pdf_fonts import FONT_FAMILY, use_platform_font
from tender.i18n import current_locale
from tender.i18n import gettext as _
from tender.i18n import gettext_noop as N_  # noqa: N812 (the name extractors look for)
from tender.signing import Indication, TrustStore, sign_pdf

__all__ = ["SEAL_FIELD_NAME", "render_record_pdf", "seal_record_pdf"]

SEAL_FIELD_NAME: Final = "PlatformSeal"
"""Name of the signature field that holds the platform's seal."""

log = logging.getLogger(__name__)

_MONO: Final = FontFace(family="Courier", size_pt=7.5)
_SMALL: Final = FontFace(family=FONT_FAMILY, size_pt=8)
_BODY: Final = _SMALL
_HEADINGS: Final = FontFace(family=FONT_FAMILY, emphasis="BOLD", size_pt=8, fill_color=230)
_COLUMNS: Final = (
    "#",
    N_("Supplier"),
    N_("File"),
    N_("Size (bytes)"),
    N_("Received at (UTC)"),
    N_("Verdict"),
)
_COLUMN_WIDTHS: Final = (8, 40, 32, 18, 28, 54)  # millimetres, adding up to the text width
_LINE_HEIGHT: Final = 4.0  # millimetres, in the bids table
_PADDING: Final = 1.0
_LONGEST_SHOWN: Final = 200  # characters of a checkpoint field printed whole


def render_record_pdf(record: Mapping[str, Any], output: BinaryIO) -> None:
    """Write the opening ``record`` (as built by ``build_record``) to ``output`` as a PDF.

    A4 pages: the tender and its times, a table with every opened document (supplier,
    file, size, received at, full SHA-256, verdict and its reason), the totals, and the
    audit log head and, if the record has one, ``record["checkpoint"]`` (a mapping such as
    ``checkpoint_summary`` makes).
    """
    tender = record["tender"]
    writer = _Writer(tender["reference"])
    pdf = writer.pdf
    pdf.set_title(_("Opening record of tender {reference}").format(reference=tender["reference"]))
    pdf.set_creation_date(_parse_time(tender["opened_at"]))
    pdf.add_page()

    envelope = record.get("envelope")
    pdf.set_font(FONT_FAMILY, "B", 18)
    pdf.cell(
        text=_("Opening record")
        if envelope is None
        else _("Opening record: {envelope} envelopes").format(envelope=envelope),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    writer.fields(
        [
            (_("Tender reference"), tender["reference"]),
            (_("Title"), tender["title"]),
            (_("Tender ID"), tender["id"]),
            (_("Deadline"), _utc(tender["deadline"])),
            *(
                [
                    (
                        _("Files received until"),
                        _("{time} (fingerprint first)").format(time=_utc(tender["files_until"])),
                    )
                ]
                if "files_until" in tender
                else []
            ),
            (_("Opening started"), _utc(tender["opening_started_at"])),
            (_("Opening finished"), _utc(tender["opened_at"])),
            (_("Record format"), record["format"]),
        ]
    )

    bids: list[dict[str, Any]] = record["bids"]
    writer.heading(_("Bid documents ({count})").format(count=len(bids)))
    if bids:
        writer.bids_table(bids)
    else:
        writer.paragraph(_("No bid document was submitted."))

    verdicts: list[dict[str, Any]] = record.get("qualification", [])
    if verdicts:
        writer.heading(_("Qualification verdicts ({count})").format(count=len(verdicts)))
        writer.paragraph(
            _(
                "The officer's verdict on each bid's technical envelope, recorded before the "
                "financial opening was requested. Only qualified bids' financial envelopes were "
                "opened; the others stay sealed and were never decrypted."
            )
        )
        for verdict in verdicts:
            writer.fields(
                [
                    (_("Supplier"), verdict["supplier_organisation"]),
                    (_("Verdict"), _("qualified") if verdict["qualified"] else _("not qualified")),
                    (_("Reason"), verdict["reason"]),
                    (
                        _("Recorded"),
                        _("{time} by {person}").format(
                            time=_utc(verdict["decided_at"]), person=verdict["decided_by"]
                        ),
                    ),
                ]
            )

    missing: list[dict[str, Any]] = record.get("fingerprints_without_file", [])
    if missing:
        writer.heading(_("Fingerprints without their file ({count})").format(count=len(missing)))
        writer.paragraph(
            _(
                "These fingerprints were received by the deadline, but no file with that "
                "SHA-256 was received by the end of the files' grace: nothing was opened for "
                "them."
            )
        )
        for fingerprint in missing:
            writer.fields(
                [
                    (_("Supplier"), fingerprint["supplier_organisation"]),
                    (_("File"), fingerprint["file_name"]),
                    ("SHA-256", fingerprint["sha256"]),
                    (_("Fingerprint received"), _utc(fingerprint["received_at"])),
                ]
            )

    not_opened: list[dict[str, Any]] = record.get("not_opened", [])
    if not_opened:
        writer.heading(_("Received but not opened ({count})").format(count=len(not_opened)))
        writer.paragraph(
            _(
                "A superseded file was replaced by a later version of the same name (the "
                "version that counted is the one opened above); a withdrawn file was withdrawn "
                "by its supplier before the deadline. Both stay sealed and stored, and were not "
                "opened."
            )
        )
        for document in not_opened:
            writer.fields(
                [
                    (_("Supplier"), document["supplier_organisation"]),
                    (_("File"), document["file_name"]),
                    ("SHA-256", document["sha256"]),
                    (_("Received"), _utc(document["received_at"])),
                    (_why_not_opened(document["why"]), _utc(document["at"])),
                ]
            )

    release = record.get("key_release")
    if release is not None and release["opening"] == "committee":
        writer.heading(_("Key released by the opening committee"))
        writer.paragraph(
            _(
                "The tender's key was split among {members} committee members; {quorum} of them "
                "had to release their shares after the deadline for the bids to be opened. "
                "These members released theirs:"
            ).format(members=release["members"], quorum=release["quorum"])
        )
        for member in release["released"]:
            writer.fields(
                [
                    (_("Member"), f"{member['member']} ({member['organisation']})"),
                    (_("Released"), _utc(member["released_at"])),
                ]
            )
    elif release is not None:
        writer.heading(_("Key released by the platform"))
        writer.paragraph(
            _(
                "This tender was opened automatically: its key was unwrapped by the platform's "
                "key after the deadline."
            )
        )

    writer.heading(_("Totals"))
    indications = [bid["indication"] for bid in bids]
    writer.fields(
        [
            (_("Documents"), str(len(bids))),
            (_("Passed"), str(indications.count(Indication.TOTAL_PASSED.value))),
            (_("Failed"), str(indications.count(Indication.TOTAL_FAILED.value))),
            (_("Indeterminate"), str(indications.count(Indication.INDETERMINATE.value))),
        ]
    )

    writer.heading(_("Audit trail"))
    head = record["audit_head"]
    writer.fields(
        [
            (_("Log head"), _("event {seq}").format(seq=head["seq"])),
            (_("Event hash"), head["hash"]),
        ]
    )
    checkpoint = record.get("checkpoint")
    if checkpoint is not None:
        writer.checkpoint(checkpoint)

    writer.heading(_("Seal"))
    writer.paragraph(
        _(
            "This record is sealed with the platform's electronic seal (PAdES signature field "
            "{field}). Check it with `tender verify` or any PAdES validator; any change to the "
            "file after sealing breaks the seal. The JSON opening record, whose SHA-256 is in "
            "the audit log, is the authoritative copy of these facts."
        ).format(field=SEAL_FIELD_NAME)
    )
    output.write(bytes(pdf.output()))


def _why_not_opened(why: str) -> str:
    """Why a received document was not opened ("superseded", "withdrawn"), as a label."""
    return {"superseded": _("Superseded"), "withdrawn": _("Withdrawn")}.get(why, why.capitalize())


def seal_record_pdf(
    pdf: BinaryIO,
    output: BinaryIO,
    signer: Signer,
    *,
    timestamper: TimeStamper | None = None,
    validation_trust: TrustStore | None = None,
) -> None:
    """Seal the rendered record ``pdf`` (seekable) into ``output`` with the platform's
    invisible PAdES signature in the field :data:`SEAL_FIELD_NAME`.

    With ``timestamper`` the seal gets an RFC 3161 time-stamp (PAdES B-T). With
    ``validation_trust`` too — a trust store holding the seal certificate's chain, with the
    revocation folder and the hosts CRLs and OCSP responses may be fetched from — the
    revocation data of the seal's chain goes into the PDF's DSS and a document time-stamp
    over it (PAdES B-LTA, which includes B-LT), so the seal can be validated for as long as
    the record is kept, after the seal certificate expires and its CA's services are gone.

    A record must be written whatever happens to that extra data: if the seal's chain does
    not validate against ``validation_trust`` (a configuration fault, logged as an error),
    the record is sealed without it (PAdES B-T). Runs its own event loop
    (:func:`tender.signing.sign_pdf`): from async code, call
    :func:`tender.signing.async_sign_pdf` with the same field name instead.
    """
    if validation_trust is not None:
        start, long_term = pdf.tell(), BytesIO()  # a record is a few pages: kilobytes
        try:
            sign_pdf(
                pdf,
                long_term,
                signer,
                field_name=SEAL_FIELD_NAME,
                timestamper=timestamper,
                validation_trust=validation_trust,
            )
        except Exception:  # any failure of the extra data: the record is sealed regardless
            log.exception(
                "the seal's (or its time-stamp's) certificate chain does not validate against "
                "the configured trust store: sealing the opening record without long-term "
                "validation data"
            )
            pdf.seek(start)
        else:
            output.write(long_term.getvalue())
            return
    sign_pdf(pdf, output, signer, field_name=SEAL_FIELD_NAME, timestamper=timestamper)


class _Writer:
    """Lays out the record's parts."""

    def __init__(self, reference: str) -> None:
        self.pdf = _RecordPdf(
            footer_text=_("Tender {reference} - opening record").format(reference=reference)
        )
        use_platform_font(self.pdf)
        # Courier (the hashes, the checkpoint's note) covers Windows-1252: Latin-1 plus the
        # typographic dash and quotes (the em dash of a signed note).
        self.pdf.core_fonts_encoding = "windows-1252"
        self.pdf.set_author(_("Tender e-procurement platform"))
        self.pdf.set_lang(current_locale().replace("_", "-"))
        self.pdf.set_margins(15, 15, 15)
        self.pdf.set_auto_page_break(auto=True, margin=15)

    def heading(self, text: str) -> None:
        self.pdf.ln(4)
        self.pdf.set_font(FONT_FAMILY, "B", 12)
        self.pdf.cell(text=text, new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(1)

    def paragraph(self, text: str) -> None:
        self.pdf.set_font(FONT_FAMILY, "", 9)
        self.pdf.multi_cell(0, 4.5, text, new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(1)

    def fields(self, rows: list[tuple[str, str]]) -> None:
        """Label/value lines, values wrapped in their own column."""
        for label, value in rows:
            self.pdf.set_font(FONT_FAMILY, "B", 9)
            self.pdf.cell(38, 5, label)
            self.pdf.set_font(FONT_FAMILY, "", 9)
            self.pdf.multi_cell(0, 5, str(value), align="L", new_x="LMARGIN", new_y="NEXT")

    def bids_table(self, bids: list[dict[str, Any]]) -> None:
        """One block of rows per document: the facts, its full SHA-256, the verdict's reason.

        Laid out here, line by line, rather than by fpdf2's table, whose line breaking takes
        time quadratic in a line's length: a record of a thousand bids took seconds to draw.
        The rows look the same (boxed cells, grey headings repeated on each page).
        """
        span = sum(_COLUMN_WIDTHS)
        self._headings()
        for number, bid in enumerate(bids, start=1):
            self._table_row(
                [
                    str(number),
                    str(bid["supplier_organisation"]),
                    str(bid["file_name"]),
                    f"{bid['size']:,}",
                    _parse_time(bid["received_at"]).strftime("%Y-%m-%d\n%H:%M:%S.%f"),
                    _verdict(bid),
                ],
                _COLUMN_WIDTHS,
                _BODY,
            )
            self._table_row([f"SHA-256 {bid['receipt_sha256']}"], (span,), _MONO)
            # Only a mismatch is worth a second line: otherwise both are the same hash.
            if bid["computed_sha256"] != bid["receipt_sha256"]:
                opened = bid["computed_sha256"] or _("not computed (the file did not unseal)")
                self._table_row([_("Opened  {sha256}").format(sha256=opened)], (span,), _SMALL)
            details = _("Reason: {reason}").format(reason=bid["reason"])
            if bid.get("signer_subject"):
                details += "\n" + _("Signer: {subject}").format(subject=bid["signer_subject"])
            self._table_row([details], (span,), _SMALL)

    def _headings(self) -> None:
        self._table_row([_(column) for column in _COLUMNS], _COLUMN_WIDTHS, _HEADINGS, heading=True)

    def _table_row(
        self,
        cells: Sequence[str],
        widths: Sequence[float],
        style: FontFace,
        *,
        heading: bool = False,
    ) -> None:
        """One row of boxed cells, each wrapped to its width, all as high as the highest; on
        a new page if it does not fit, after the headings again."""
        pdf = self.pdf
        self._use(style)
        lines = [
            self._wrap(text, width - 2 * _PADDING)
            for text, width in zip(cells, widths, strict=True)
        ]
        height = max(len(each) for each in lines) * _LINE_HEIGHT + 2 * _PADDING
        if not heading and pdf.will_page_break(height):
            pdf.add_page()
            self._headings()
            self._use(style)
        x, y = pdf.l_margin, pdf.get_y()
        margin, pdf.c_margin = pdf.c_margin, 0  # the padding is the cell's only margin
        try:
            for width, cell_lines in zip(widths, lines, strict=True):
                pdf.rect(x, y, width, height, style="DF" if style.fill_color is not None else "D")
                for number, line in enumerate(cell_lines):
                    pdf.set_xy(x + _PADDING, y + _PADDING + number * _LINE_HEIGHT)
                    pdf.cell(width - 2 * _PADDING, _LINE_HEIGHT, line)
                x += width
        finally:
            pdf.c_margin = margin
        pdf.set_xy(pdf.l_margin, y + height)

    def _use(self, style: FontFace) -> None:
        emphasis = "B" if style.emphasis is not None and "B" in str(style.emphasis.style) else ""
        self.pdf.set_font(style.family or FONT_FAMILY, emphasis, style.size_pt or 8)
        if style.fill_color is not None:
            self.pdf.set_fill_color(style.fill_color)

    def _wrap(self, text: str, width: float) -> list[str]:
        """``text`` in lines no wider than ``width`` in the current font: broken at its own
        line breaks, then between words, and within a word only if it is wider than a line.
        Each word is measured once (linear in the text's length)."""
        measure = self.pdf.get_string_width
        space = measure(" ")
        lines: list[str] = []
        for paragraph in text.split("\n"):
            line, line_width = "", 0.0
            for word in paragraph.split(" "):
                word_width = measure(word)
                if line and line_width + space + word_width <= width:
                    line, line_width = f"{line} {word}", line_width + space + word_width
                    continue
                if line:
                    lines.append(line)
                line, line_width = word, word_width
                while line_width > width and len(line) > 1:  # a word wider than a line
                    cut, cut_width = 0, 0.0
                    while cut < len(line) and cut_width + measure(line[cut]) <= width:
                        cut_width += measure(line[cut])
                        cut += 1
                    cut = max(cut, 1)
                    lines.append(line[:cut])
                    line = line[cut:]
                    line_width = measure(line)
            lines.append(line)
        return lines

    def checkpoint(self, checkpoint: Mapping[str, Any]) -> None:
        """The checkpoint's fields: short ones as they are, multi-line text (the signed note)
        verbatim, and long blobs (the time-stamp token) by size and SHA-256 only, since a
        page of base64 helps no reader and the JSON record holds it whole."""
        self.pdf.ln(1)
        self.pdf.set_font(FONT_FAMILY, "B", 9)
        self.pdf.cell(text=_("Checkpoint at opening"), new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(1)
        for key, value in checkpoint.items():
            text = str(value)
            if "\n" in text:
                self.fields([(key, "")])
                self.pdf.set_font("Courier", "", 7.5)
                self.pdf.multi_cell(0, 3.5, text, new_x="LMARGIN", new_y="NEXT")
            elif len(text) > _LONGEST_SHOWN:
                digest = hashlib.sha256(text.encode()).hexdigest()
                self.fields(
                    [
                        (
                            key,
                            _("SHA-256 {digest}\n({length} characters, whole in the JSON)").format(
                                digest=digest, length=len(text)
                            ),
                        )
                    ]
                )
            else:
                self.fields([(key, text)])


class _RecordPdf(FPDF):
    """A4 portrait with a footer naming the tender and the page."""

    def __init__(self, *, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self._footer_text = footer_text

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(FONT_FAMILY, "", 7)
        self.cell(
            0,
            4,
            _("{footer} - page {page} of {pages}").format(
                footer=self._footer_text, page=self.page_no(), pages="{nb}"
            ),
            align="C",
        )


def _verdict(bid: Mapping[str, Any]) -> str:
    if bid["sub_indication"]:
        return f"{bid['indication']}\n{bid['sub_indication']}"
    return str(bid["indication"])


def _parse_time(text: str) -> datetime:
    """A time in the trail's text form (``format_time``), back as an aware datetime."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _utc(text: str) -> str:
    """A trail time for people: ``2026-11-27 13:40:19.123456 UTC``."""
    return _parse_time(text).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
