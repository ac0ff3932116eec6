"""``tender submit`` and ``tender receipts``: a supplier submits bid files and keeps receipts.

``submit`` streams the file (never read whole, so a bid of gigabytes needs no memory for it)
with a progress bar on standard error, prints the receipt in plain words, checks the
platform's signature over it, and saves it as JSON that ``tender receipt verify`` checks
offline. ``receipts`` lists the caller's receipts and says which version the opening counts.

Exit codes: 0 done; 1 the platform refused (its explanation is printed: what happened, why,
what to do), or a receipt's signature does not hold; 2 the command cannot run as given.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import httpx

from tender.bids.receipts import in_words
from tender.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    CommandError,
    SubParsers,
    add_json_flag,
    platform_client,
    print_json,
)
from tender.cli.supplier import add_platform_flags, api_token
from tender.client import (
    find_tender,
    own_receipts,
    platform_public_key,
    receipt_pdf,
    upload_bid,
)
from tender.clock import for_people
from tender.verifier.receipt import signed_payload

__all__ = ["register"]

_CHUNK = 1 << 20
_DETACHED_SUFFIX = ".p7s"
# Values shown to the supplier that must be the signed ones.
_SIGNED_VALUES = ("tender_reference", "file_name", "sha256", "size", "receipt_id")


def register(commands: SubParsers) -> None:
    """Add ``submit`` and ``receipts`` to the ``tender`` command."""
    submit = commands.add_parser(
        "submit",
        help="submit a bid file to a tender and keep its signed receipt",
        description="Upload FILE to the tender with reference REF (and its detached signature "
        "with --p7s), print the receipt, check the platform's signature over it and save it "
        "as JSON beside the file (or in --out). Exit code 0 when received, 1 if the platform "
        "refused it (late, closed, too large ...: its explanation is printed), 2 if the "
        "command cannot run as given.",
    )
    submit.add_argument("file", type=Path, metavar="FILE", help="the bid file")
    submit.add_argument("--tender", required=True, metavar="REF", help="the tender's reference")
    submit.add_argument(
        "--p7s",
        type=Path,
        metavar="SIG",
        help="detached signature over FILE ('tender sign' makes one), uploaded after it",
    )
    submit.add_argument(
        "--out", type=Path, metavar="DIR", help="folder for the receipts (default: beside FILE)"
    )
    submit.add_argument(
        "--envelope",
        choices=("technical", "financial"),
        help="a two-envelope tender's envelope for FILE (default: technical; financial files "
        "are opened only if your bid qualifies on its technical envelope)",
    )
    submit.add_argument(
        "--key",
        type=Path,
        metavar="platform.pub",
        help="the platform's public key to check receipts with (default: ask the platform)",
    )
    add_platform_flags(submit)
    submit.set_defaults(run=_submit)
    receipts = commands.add_parser(
        "receipts",
        help="list your receipts and which version of each file counts",
        description="List the receipts of the files you submitted (to one tender with "
        "--tender), saying for each whether that version counts for the opening; or, with "
        "--pdf ID, save one receipt as a PDF to file (the signed receipt is attached to it). "
        "Exit code 0 when done, 1 if the platform refused, 2 if the command cannot run as given.",
    )
    receipts.add_argument("--tender", metavar="REF", help="only this tender's receipts")
    receipts.add_argument("--pdf", metavar="ID", help="save the receipt with this id as a PDF")
    receipts.add_argument(
        "--out", type=Path, metavar="FILE", help="with --pdf: where (default: receipt-ID.pdf)"
    )
    add_platform_flags(receipts)
    add_json_flag(receipts)
    receipts.set_defaults(run=_receipts)


# ---- progress -----------------------------------------------------------------------------


@dataclass
class Progress:
    """How much of a file has gone: a bar redrawn in place on a terminal, else a plain line
    at every quarter (a log file or CI output should not fill with carriage returns)."""

    label: str
    total: int
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    done: int = 0
    _quarters_said: int = 0

    def advance(self, amount: int) -> None:
        self.done += amount
        share = self.done / self.total if self.total else 1.0
        if self.stream.isatty():
            filled = int(share * 30)
            self.stream.write(
                f"\r{self.label} [{'#' * filled}{' ' * (30 - filled)}] {share:4.0%} "
                f"{self.done:,} of {self.total:,} bytes"
            )
            self.stream.flush()
            return
        while self._quarters_said < 4 and share >= (self._quarters_said + 1) / 4:
            self._quarters_said += 1
            self.stream.write(
                f"{self.label}: {self._quarters_said * 25}% sent "
                f"({min(self.done, self.total):,} of {self.total:,} bytes)\n"
            )

    def finish(self) -> None:
        if self.stream.isatty():
            self.stream.write("\n")
        self.stream.write(f"{self.label}: sent; waiting for the platform's receipt ...\n")
        self.stream.flush()


def _chunks(content: BinaryIO, digest: Any, progress: Progress) -> Iterator[bytes]:
    """The file a chunk at a time, hashed as it goes so the receipt can be checked against
    what was sent."""
    while chunk := content.read(_CHUNK):
        digest.update(chunk)
        progress.advance(len(chunk))
        yield chunk
    progress.finish()


# ---- submit -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    receipt: dict[str, Any]
    sha256: str  # of the bytes this command sent


def _submit(args: argparse.Namespace) -> int:
    token = api_token(args.token_file)
    files: list[tuple[Path, str]] = [(args.file, args.file.name)]
    if args.p7s is not None:
        # The platform pairs a detached signature with its file by name: FILE's name + .p7s.
        files.append((args.p7s, args.file.name + _DETACHED_SUFFIX))
    for path, _ in files:
        if not path.is_file():
            raise CommandError(f"{path} is not a file; check the path")
    out_dir: Path | None = args.out
    if out_dir is not None and not out_dir.is_dir():
        raise CommandError(f"--out {out_dir} is not a folder; create it or choose another")
    # Uploads may take long; only connecting and a silent platform are bounded.
    with platform_client(
        args.url,
        timeout=httpx.Timeout(60, write=None),
        if_broken_off="nothing counts as submitted without a receipt: check your connection "
        "and submit again",
    ) as client:
        key = _verifier_key(client, args.key)
        tender = find_tender(client, token, args.tender)
        for path, name in files:
            sent = _send(client, token, tender, path, name, args.envelope)
            print(describe_receipt(sent.receipt))
            saved = _save(sent, key, (out_dir or path.parent) / _receipt_file_name(sent))
            print(saved)
            print()
    return EXIT_OK


def _verifier_key(client: httpx.Client, key_file: Path | None) -> str:
    if key_file is None:
        return platform_public_key(client)
    try:
        return key_file.read_text().strip()
    except OSError as error:
        raise CommandError(f"cannot read --key {key_file}: {error.strerror}") from None


def _send(
    client: httpx.Client,
    token: str,
    tender: dict[str, Any],
    path: Path,
    name: str,
    envelope: str | None,
) -> Sent:
    digest = hashlib.sha256()
    with path.open("rb") as content:
        size = path.stat().st_size
        progress = Progress(f"Uploading {name}", size)
        receipt = upload_bid(
            client,
            token,
            str(tender["id"]),
            name,
            _chunks(content, digest, progress),
            size,
            envelope=envelope,
        )
    return Sent(receipt, digest.hexdigest())


def _receipt_file_name(sent: Sent) -> str:
    # The receipt id keeps every version's receipt: a second upload does not overwrite the first.
    receipt = sent.receipt
    return f"{receipt['file_name']}.receipt-{str(receipt['receipt_id'])[:8]}.json"


def _save(sent: Sent, verifier_key: str, where: Path) -> str:
    """Check the receipt, save it, and say so; refuse (exit 1) if its signature does not hold
    or it is not a receipt for what was sent."""
    receipt = sent.receipt
    if receipt["sha256"] != sent.sha256:
        raise CommandError(
            f"the platform's receipt names SHA-256 {receipt['sha256']}, but the file sent has "
            f"{sent.sha256}: the file changed while it was uploaded, or the receipt is wrong. "
            "Submit it again, and do not change it while it uploads.",
            exit_code=EXIT_FAILED,
        )
    signed = receipt.get("signed_receipt")
    if not signed:
        where.write_text(json.dumps(receipt, ensure_ascii=False, indent=2) + "\n")
        return (
            f"Receipt saved to {where}, not yet signed by the platform (it signs receipts with "
            "its next checkpoint): run 'tender receipts' later to get the signed one."
        )
    payload = signed_payload(signed, verifier_key)
    mismatched = (
        ["signature"]
        if payload is None
        else [name for name in _SIGNED_VALUES if str(payload.get(name)) != str(receipt[name])]
    )
    if mismatched:
        raise CommandError(
            f"the receipt's platform signature does not hold ({', '.join(mismatched)} not as "
            "signed); it was NOT saved. Your file may still have been received: run 'tender "
            "receipts' and tell the procuring entity.",
            exit_code=EXIT_FAILED,
        )
    where.write_text(json.dumps(receipt, ensure_ascii=False, indent=2) + "\n")
    return (
        f"Receipt saved to {where}; its platform signature checks out. Keep it: 'tender "
        "receipt verify' proves with it, offline, what was received and when."
    )


# ---- receipts -----------------------------------------------------------------------------


def _receipts(args: argparse.Namespace) -> int:
    token = api_token(args.token_file)
    if args.out is not None and args.pdf is None:
        raise CommandError("--out goes with --pdf ID: it says where to save the PDF")
    try:
        with platform_client(args.url) as client:
            if args.pdf is not None:
                out: Path = args.out or Path(f"receipt-{args.pdf}.pdf")
                out.write_bytes(receipt_pdf(client, token, args.pdf))
                print(
                    f"Saved receipt {args.pdf} as {out}: a PDF to file, with the signed "
                    "receipt attached (receipt.json) for 'tender receipt verify'."
                )
                return EXIT_OK
            tender_id = (
                None if args.tender is None else find_tender(client, token, args.tender)["id"]
            )
            listed = own_receipts(client, token, tender_id)
    except OSError as error:
        raise CommandError(f"cannot write {error.filename}: {error.strerror}") from None
    if args.json:
        print_json(listed)
    elif not listed:
        print("You have no receipts" + ("" if args.tender is None else f" for {args.tender}") + ".")
    else:
        print(describe_receipts(listed))
    return EXIT_OK


def describe_receipts(listed: list[dict[str, Any]]) -> str:
    """The caller's receipts by tender, each version marked as counting or not."""
    lines: list[str] = []
    reference = None
    for entry in listed:
        receipt = entry["receipt"]
        if receipt["tender_reference"] != reference:
            reference = receipt["tender_reference"]
            lines += [*([""] if lines else []), f"Tender {reference}"]
        mark = "COUNTS" if entry["counts"] else str(entry["standing"]).upper()
        received = for_people(datetime.fromisoformat(receipt["received_at"]))
        lines += [
            f"  [{mark}] {receipt['file_name']}, received {received}",
            f"      receipt {receipt['receipt_id']}, SHA-256 {receipt['sha256']}",
            f"      {entry['explanation']}",
        ]
    return "\n".join(lines)


def describe_receipt(receipt: dict[str, Any]) -> str:
    """A receipt in plain words, for the supplier."""
    lines = ["Received by the platform:"]
    lines += [f"  {label + ':' if label else '':<21}{value}" for label, value in in_words(receipt)]
    return "\n".join(lines)
