"""``tender submit`` and ``tender receipts``: a supplier submits bid files and keeps receipts.

``submit`` streams the file (never read whole, so a bid of gigabytes needs no memory for it)
with a progress bar on standard error, prints the receipt in plain words, checks the
platform's signature over it, and saves it as JSON that ``tender receipt verify`` checks
offline. ``receipts`` lists the caller's receipts and says which version the opening counts.

``submit --seal`` is for supplier-sealed tenders: the signature is pre-checked here (the
platform cannot read the file), the file is sealed here to the tender's public key while it
streams, and only the sealed bytes leave this computer, with the plain file's SHA-256.

Exit codes: 0 done; 1 the platform refused (its explanation is printed: what happened, why,
what to do), a receipt's signature does not hold, or (``--seal``) the signature fails the
pre-check here; 2 the command cannot run as given.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
from tender.cli.supplier import (
    BINDING_NOT_CHECKED,
    add_check_flags,
    add_platform_flags,
    api_token,
    describe,
    signer_binding,
    trust_store,
)
from tender.client import (
    find_tender,
    own_receipts,
    platform_public_key,
    receipt_pdf,
    tender_public_key,
    upload_bid,
)
from tender.clock import for_people
from tender.i18n import gettext as _
from tender.signing import Indication, verify_document
from tender.storage.sealing import Sealer, seal
from tender.verifier.receipt import signed_payload

__all__ = ["register"]

_CHUNK = 1 << 20
_DETACHED_SUFFIX = ".p7s"
# Values shown to the supplier that must be the signed ones.
_SIGNED_VALUES = (
    "tender_reference",
    "file_name",
    "sha256",
    "sealed_sha256",
    "size",
    "receipt_id",
)


def register(commands: SubParsers) -> None:
    """Add ``submit`` and ``receipts`` to the ``tender`` command."""
    submit = commands.add_parser(
        "submit",
        help=_("submit a bid file to a tender and keep its signed receipt"),
        description=_(
            "Upload FILE to the tender with reference REF (and its detached signature "
            "with --p7s), print the receipt, check the platform's signature over it and save it "
            "as JSON beside the file (or in --out). With --seal, for a supplier-sealed tender: "
            "pre-check the signature here and send FILE sealed to the tender's key. Exit code 0 "
            "when received, 1 if the platform refused it (late, closed, too large ...: its "
            "explanation is printed) or, with --seal, the pre-check here failed, 2 if the command "
            "cannot run as given."
        ),
    )
    submit.add_argument("file", type=Path, metavar="FILE", help=_("the bid file"))
    submit.add_argument("--tender", required=True, metavar="REF", help=_("the tender's reference"))
    submit.add_argument(
        "--p7s",
        type=Path,
        metavar="SIG",
        help=_("detached signature over FILE ('tender sign' makes one), uploaded after it"),
    )
    submit.add_argument(
        "--out", type=Path, metavar="DIR", help=_("folder for the receipts (default: beside FILE)")
    )
    submit.add_argument(
        "--envelope",
        choices=("technical", "financial"),
        help=_(
            "a two-envelope tender's envelope for FILE (default: technical; financial files "
            "are opened only if your bid qualifies on its technical envelope)"
        ),
    )
    submit.add_argument(
        "--key",
        type=Path,
        metavar="platform.pub",
        help=_("the platform's public key to check receipts with (default: ask the platform)"),
    )
    submit.add_argument(
        "--seal",
        action="store_true",
        help=_(
            "seal FILE (and SIG) on this computer to the tender's public key and send only "
            "the sealed bytes, for a tender that takes supplier-sealed bids: the platform cannot "
            "read them before the opening, so the signature is pre-checked here first (with "
            "--trust, --revocation, --organisation-certificate, as 'tender verify')"
        ),
    )
    submit.add_argument(
        "--send-anyway",
        action="store_true",
        help=_(
            "with --seal: send even if the signature does not pass the pre-check here (the "
            "opening's verdict is the one that counts)"
        ),
    )
    add_check_flags(submit)
    add_platform_flags(submit)
    submit.set_defaults(run=_submit)
    receipts = commands.add_parser(
        "receipts",
        help=_("list your receipts and which version of each file counts"),
        description=_(
            "List the receipts of the files you submitted (to one tender with "
            "--tender), saying for each whether that version counts for the opening; or, with "
            "--pdf ID, save one receipt as a PDF to file (the signed receipt is attached to it). "
            "Exit code 0 when done, 1 if the platform refused, 2 if the command cannot run as "
            "given."
        ),
    )
    receipts.add_argument("--tender", metavar="REF", help=_("only this tender's receipts"))
    receipts.add_argument("--pdf", metavar="ID", help=_("save the receipt with this id as a PDF"))
    receipts.add_argument(
        "--out", type=Path, metavar="FILE", help=_("with --pdf: where (default: receipt-ID.pdf)")
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
                + _("{done:,} of {total:,} bytes").format(done=self.done, total=self.total)
            )
            self.stream.flush()
            return
        while self._quarters_said < 4 and share >= (self._quarters_said + 1) / 4:
            self._quarters_said += 1
            self.stream.write(
                _("{label}: {percent} sent ({done:,} of {total:,} bytes)").format(
                    label=self.label,
                    percent=f"{self._quarters_said * 25}%",
                    done=min(self.done, self.total),
                    total=self.total,
                )
                + "\n"
            )

    def finish(self) -> None:
        if self.stream.isatty():
            self.stream.write("\n")
        self.stream.write(
            _("{label}: sent; waiting for the platform's receipt ...").format(label=self.label)
            + "\n"
        )
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
    sha256: str  # of the file this command sent
    sealed_sha256: str | None = None  # of the sealed bytes it sent, if it sealed the file


def _submit(args: argparse.Namespace) -> int:
    token = api_token(args.token_file)
    files: list[tuple[Path, str]] = [(args.file, args.file.name)]
    if args.p7s is not None:
        # The platform pairs a detached signature with its file by name: FILE's name + .p7s.
        files.append((args.p7s, args.file.name + _DETACHED_SUFFIX))
    for path, _name in files:
        if not path.is_file():
            raise CommandError(_("{path} is not a file; check the path").format(path=path))
    out_dir: Path | None = args.out
    if out_dir is not None and not out_dir.is_dir():
        raise CommandError(
            _("--out {out_dir} is not a folder; create it or choose another").format(
                out_dir=out_dir
            )
        )
    if args.send_anyway and not args.seal:
        raise CommandError(
            _(
                "--send-anyway goes with --seal: without it the platform pre-checks the signature "
                "itself and tells you in the receipt"
            )
        )
    if args.seal:
        _precheck_here(args)
    # Uploads may take long; only connecting and a silent platform are bounded.
    with platform_client(
        args.url,
        timeout=httpx.Timeout(60, write=None),
        if_broken_off=_(
            "nothing counts as submitted without a receipt: check your connection and submit again"
        ),
    ) as client:
        key = _verifier_key(client, args.key)
        tender = find_tender(client, token, args.tender)
        seal_to = _key_to_seal_to(client, tender, args.envelope) if args.seal else None
        for path, name in files:
            sent = _send(client, token, tender, path, name, args.envelope, seal_to)
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
        raise CommandError(
            _("cannot read --key {key_file}: {strerror}").format(
                key_file=key_file, strerror=error.strerror
            )
        ) from None


def _precheck_here(args: argparse.Namespace) -> None:
    """Verify the signature here, as the opening will, before the file is sealed: nobody can
    tell the supplier about a sealed file's signature before the opening, when it is too late
    to send a better one. One that does not pass is not sent (exit 1) unless --send-anyway:
    the supplier may know better than this computer's trust folder, and the opening's verdict
    is the one that counts."""
    trust = trust_store(args.trust, args.revocation)
    binding = signer_binding(args.organisation_certificate)
    with ExitStack() as files:
        content = files.enter_context(args.file.open("rb"))
        detached = None if args.p7s is None else files.enter_context(args.p7s.open("rb"))
        report = verify_document(
            content,
            detached_signature=detached,
            trust=trust,
            at=datetime.now(UTC),
            expected_signers=binding,
        )
    print(_("Signature pre-check on this computer (the platform cannot read a sealed file):"))
    print(describe(report))
    if binding is None:
        print(_(BINDING_NOT_CHECKED))
    if report.indication is Indication.TOTAL_PASSED:
        print()
        return
    if not args.send_anyway:
        raise CommandError(
            _(
                "the signature does not pass the pre-check (see above), so nothing was sealed or "
                "sent. Fix the signature ('tender sign') and submit again; or, if you are sure the "
                "opening will accept it, add --send-anyway."
            ),
            exit_code=EXIT_FAILED,
        )
    print(_("Sending it all the same (--send-anyway); the opening decides.\n"))


def _key_to_seal_to(client: httpx.Client, tender: dict[str, Any], envelope: str | None) -> bytes:
    if not tender.get("supplier_sealed"):
        raise CommandError(
            _(
                "tender {tender} seals bids itself when they arrive and takes no "
                "sealed ones; submit without --seal"
            ).format(tender=tender["reference"])
        )
    return tender_public_key(client, str(tender["id"]), envelope=envelope)


def _send(
    client: httpx.Client,
    token: str,
    tender: dict[str, Any],
    path: Path,
    name: str,
    envelope: str | None,
    seal_to: bytes | None,
) -> Sent:
    """Send one file (to ``envelope`` of a two-envelope tender), or with ``seal_to`` the file
    sealed here to that key, declaring its SHA-256 (read once first: the header goes before
    the body)."""
    digest = hashlib.sha256()
    size = path.stat().st_size
    declared = None if seal_to is None else _sha256_of(path)
    with path.open("rb") as content:
        chunks = _chunks(content, digest, Progress(f"Uploading {name}", size))
        if seal_to is None:
            receipt = upload_bid(
                client, token, str(tender["id"]), name, chunks, size, envelope=envelope
            )
            return Sent(receipt, digest.hexdigest())
        sealed_digest = hashlib.sha256()
        receipt = upload_bid(
            client,
            token,
            str(tender["id"]),
            name,
            _hashed(seal(chunks, seal_to), sealed_digest),
            Sealer.sealed_size(size, recipient_public_key=seal_to),
            envelope=envelope,
            plaintext_sha256=declared,
        )
    return Sent(receipt, digest.hexdigest(), sealed_digest.hexdigest())


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as content:
        while chunk := content.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _hashed(chunks: Iterator[bytes], digest: Any) -> Iterator[bytes]:
    for chunk in chunks:
        digest.update(chunk)
        yield chunk


def _receipt_file_name(sent: Sent) -> str:
    # The receipt id keeps every version's receipt: a second upload does not overwrite the first.
    receipt = sent.receipt
    return f"{receipt['file_name']}.receipt-{str(receipt['receipt_id'])[:8]}.json"


def _save(sent: Sent, verifier_key: str, where: Path) -> str:
    """Check the receipt, save it, and say so; refuse (exit 1) if its signature does not hold
    or it is not a receipt for what was sent."""
    receipt = sent.receipt
    if receipt.get("sealed_sha256") != sent.sealed_sha256:
        raise CommandError(
            _(
                "the platform's receipt names sealed SHA-256 {receipt}, but "
                "the sealed bytes sent have {sealed_sha256}: the receipt is not for what was "
                "sent. Submit it again, and tell the procuring entity."
            ).format(receipt=receipt.get("sealed_sha256"), sealed_sha256=sent.sealed_sha256),
            exit_code=EXIT_FAILED,
        )
    if receipt["sha256"] != sent.sha256:
        raise CommandError(
            _(
                "the platform's receipt names SHA-256 {receipt}, but the file sent has "
                "{sha256}: the file changed while it was uploaded, or the receipt is wrong. "
                "Submit it again, and do not change it while it uploads."
            ).format(receipt=receipt["sha256"], sha256=sent.sha256),
            exit_code=EXIT_FAILED,
        )
    signed = receipt.get("signed_receipt")
    if not signed:
        where.write_text(json.dumps(receipt, ensure_ascii=False, indent=2) + "\n")
        return _(
            "Receipt saved to {where}, not yet signed by the platform (it signs receipts with "
            "its next checkpoint): run 'tender receipts' later to get the signed one."
        ).format(where=where)
    payload = signed_payload(signed, verifier_key)
    mismatched = (
        ["signature"]
        if payload is None
        else [name for name in _SIGNED_VALUES if str(payload.get(name)) != str(receipt.get(name))]
    )
    if mismatched:
        raise CommandError(
            _(
                "the receipt's platform signature does not hold ({mismatched} not as "
                "signed); it was NOT saved. Your file may still have been received: run 'tender "
                "receipts' and tell the procuring entity."
            ).format(mismatched=", ".join(mismatched)),
            exit_code=EXIT_FAILED,
        )
    where.write_text(json.dumps(receipt, ensure_ascii=False, indent=2) + "\n")
    return _(
        "Receipt saved to {where}; its platform signature checks out. Keep it: 'tender "
        "receipt verify' proves with it, offline, what was received and when."
    ).format(where=where)


# ---- receipts -----------------------------------------------------------------------------


def _receipts(args: argparse.Namespace) -> int:
    token = api_token(args.token_file)
    if args.out is not None and args.pdf is None:
        raise CommandError(_("--out goes with --pdf ID: it says where to save the PDF"))
    try:
        with platform_client(args.url) as client:
            if args.pdf is not None:
                out: Path = args.out or Path(f"receipt-{args.pdf}.pdf")
                out.write_bytes(receipt_pdf(client, token, args.pdf))
                print(
                    _(
                        "Saved receipt {pdf} as {out}: a PDF to file, with the signed "
                        "receipt attached (receipt.json) for 'tender receipt verify'."
                    ).format(pdf=args.pdf, out=out)
                )
                return EXIT_OK
            tender_id = (
                None if args.tender is None else find_tender(client, token, args.tender)["id"]
            )
            listed = own_receipts(client, token, tender_id)
    except OSError as error:
        raise CommandError(
            _("cannot write {filename}: {strerror}").format(
                filename=error.filename, strerror=error.strerror
            )
        ) from None
    if args.json:
        print_json(listed)
    elif not listed:
        print(
            _("You have no receipts.")
            if args.tender is None
            else _("You have no receipts for {tender}.").format(tender=args.tender)
        )
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
            lines += [*([""] if lines else []), _("Tender {reference}").format(reference=reference)]
        mark = "COUNTS" if entry["counts"] else str(entry["standing"]).upper()
        received = for_people(datetime.fromisoformat(receipt["received_at"]))
        lines += [
            _("  [{mark}] {file_name}, received {received}").format(
                mark=mark, file_name=receipt["file_name"], received=received
            ),
            _("      receipt {receipt_id}, SHA-256 {sha256}").format(
                receipt_id=receipt["receipt_id"], sha256=receipt["sha256"]
            ),
            f"      {entry['explanation']}",
        ]
    return "\n".join(lines)


def describe_receipt(receipt: dict[str, Any]) -> str:
    """A receipt in plain words, for the supplier."""
    lines = [_("Received by the platform:")]
    lines += [f"  {label + ':' if label else '':<21}{value}" for label, value in in_words(receipt)]
    return "\n".join(lines)
