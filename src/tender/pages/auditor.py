"""The auditors' pages: each tender's audit log in plain words with its hashes, the log checked
against its signed, locked checkpoints, each opened bid's signature report, and the export
bundle; and, for anyone (a receipt needs no account to check), a receipt verified by upload.
Thin: the audit trail, opening and tender services and the offline receipt verifier decide;
these pages say it to people."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Final

from litestar import Controller, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Template

from tender.accounts.guards import PUBLIC, allow
from tender.accounts.models import Role, User
from tender.accounts.signin import Caller
from tender.audit.checkpointer import Checkpointer
from tender.auditors.dependencies import provide_trail_service
from tender.auditors.service import TrailService
from tender.config import Settings
from tender.i18n import current_locale
from tender.i18n import gettext as _
from tender.i18n import gettext_noop as N_  # noqa: N812 (the name extractors look for)
from tender.opening.dependencies import provide_opening_service
from tender.opening.service import OpeningService
from tender.pages.errors import PAGE, failure_page
from tender.pages.session import VIEWER
from tender.signing.messages import explain
from tender.signing.report import Indication, SubIndication
from tender.storage.objectstore import ObjectStore
from tender.tenders.access import oversees
from tender.tenders.dependencies import provide_tender_service
from tender.tenders.models import TenderStatus
from tender.tenders.service import TenderService
from tender.verifier.checks import Check
from tender.verifier.receipt import read_receipt, signed_payload, verify_receipt

MAX_EVENTS: Final = 5000  # the API's largest page; a tender's log is far shorter
MAX_UPLOAD: Final = 4 * 1024**3 + 1024**2  # a bid file (the platform's largest) and a receipt
OPENED: Final = frozenset({TenderStatus.OPENED, TenderStatus.AWARDED})

EVENTS: Final = {
    "tender.created": N_("The tender was created"),
    "tender.published": N_("The tender was published"),
    "tender.edited": N_("The tender was edited"),
    "tender.cancelled": N_("The tender was cancelled"),
    "tender.awarded": N_("The tender was awarded"),
    "tender.document_added": N_("A tender document was added"),
    "tender.amended": N_("An addendum was issued"),
    "clarification.asked": N_("A supplier asked a question"),
    "clarification.answered": N_("The buyer answered a question"),
    "bid.fingerprinted": N_("A bid file's fingerprint was registered"),
    "bid.received": N_("A bid file was received and sealed"),
    "bid.superseded": N_("A bid file was replaced by a later version"),
    "bid.withdrawn": N_("A bid was withdrawn"),
    "bid.refused": N_("A bid file was refused"),
    "storage.orphaned": N_("A stored file belonging to no bid was found"),
    "opening.started": N_("The opening started"),
    "tender.key_released": N_("The tender's key was released for the opening"),
    "tender.key_unwrapped": N_("The tender's key was unlocked"),
    "tender.key_refused": N_("Unlocking the tender's key was refused"),
    "committee.formed": N_("The opening committee was formed"),
    "committee.share_released": N_("A committee member released their share"),
    "committee.share_refused": N_("A committee member's share was refused"),
    "sealed.revealed": N_("Who sent which bid was revealed at the opening"),
    "opening.halted": N_("The opening stopped"),
    "bid.opened": N_("A bid was opened and its signature checked"),
    "opening.finished": N_("The opening finished and its record was written"),
    "bid.read": N_("An opened bid document was read"),
    "bid.qualification": N_("A bid's technical envelope was judged"),
    "financial_opening.requested": N_("The financial opening was asked for"),
    "financial_opening.started": N_("The financial opening started"),
    "financial_opening.finished": N_("The financial opening finished"),
    "request.refused": N_("A request was refused"),
}
"""Each kind of a tender's audit event, in plain words (others are shown by their name)."""

RECEIPT_CHECKS: Final = {
    "platform key": (
        N_("The platform's public key"),
        N_("The platform's public key is readable."),
        N_("The platform's public key cannot be read, so nothing could be checked."),
    ),
    "platform signature": (
        N_("The platform's signature"),
        N_("The platform signed this receipt, and nothing in it changed since."),
        N_(
            "This is not a receipt the platform signed, or it was changed after it was signed: "
            "do not rely on it."
        ),
    ),
    "format": (
        N_("The kind of receipt"),
        N_("It is a kind of receipt the platform issues."),
        N_("It is not a kind of receipt the platform issues."),
    ),
    "shown values": (
        N_("What the receipt shows"),
        N_("Every value the receipt shows is the one the platform signed."),
        N_(
            "A value the receipt shows is not the one the platform signed: the receipt was "
            "edited after it was issued."
        ),
    ),
    "audit event": (
        N_("Its entry in the audit log"),
        N_("The audit log's entry for this bid records this receipt's file and hash."),
        N_("The audit log's entry does not record this receipt's file and hash."),
    ),
    "on time": (
        N_("Received by the deadline"),
        N_("The platform received it by the deadline."),
        N_("The receipt does not show it was received by the deadline."),
    ),
    "your file": (
        N_("Your file"),
        N_("The file you chose is the one the platform received."),
        N_("The file you chose is not the one the platform received (its size or hash differ)."),
    ),
    "checkpoint present": (
        N_("A signed checkpoint"),
        N_("The receipt carries a checkpoint of the audit log."),
        N_("The receipt carries no checkpoint of the audit log."),
    ),
    "checkpoint signature": (
        N_("The checkpoint's signature"),
        N_("The platform signed the checkpoint of the audit log that the receipt carries."),
        N_("The checkpoint the receipt carries is not signed by the platform."),
    ),
    "inclusion": (
        N_("The proof that it is in the log"),
        N_("The proof shows the bid's entry is in the signed audit log."),
        N_("The proof does not show the bid's entry in the signed audit log."),
    ),
    "time-stamp": (
        N_("The time-stamp"),
        N_("An independent time-stamping authority dated the checkpoint."),
        N_("The checkpoint's time-stamp could not be confirmed."),
    ),
}
"""Each check of a receipt: its title, and what it means when it holds and when it fails."""

TRAIL_CHECKS: Final = {
    "hash chain": N_("Every event is chained to the one before it"),
    "stored columns": N_("Every event's stored fields agree with what was hashed"),
    "locked checkpoints": N_("Checkpoints are kept in locked storage"),
    "stored Merkle nodes": N_("The stored proof tree agrees with the events"),
}
_CHECKPOINT = re.compile(r"checkpoint (\d+) (signature|root)")
_CONSISTENCY = re.compile(r"consistency (\d+) -> (\d+)")


@dataclass(frozen=True)
class ReceiptUpload:
    receipt: UploadFile
    bid: UploadFile | None = None


@dataclass(frozen=True)
class Finding:
    """One check as a person reads it: what was checked, whether it holds, what that means,
    and the verifier's own words (technical, in English)."""

    title: str
    ok: bool
    meaning: str
    detail: str


def receipt_findings(checks: list[Check]) -> list[Finding]:
    findings = []
    for check in checks:
        title, holds, fails = RECEIPT_CHECKS.get(check.name, (check.name, "", ""))
        findings.append(Finding(_(title), check.ok, _(holds if check.ok else fails), check.detail))
    return findings


@dataclass
class CheckpointFinding:
    """What the verification says of one signed checkpoint."""

    size: int
    signed: Check | None = None
    root: Check | None = None

    @property
    def ok(self) -> bool:
        return all(c is not None and c.ok for c in (self.signed, self.root))


def trail_findings(
    checks: list[Check],
) -> tuple[list[Finding], list[CheckpointFinding], list[Check]]:
    """The verification in three parts: the log's own checks, each checkpoint's, and the
    consistency proofs between checkpoints."""
    log: list[Finding] = []
    checkpoints: dict[int, CheckpointFinding] = {}
    consistency: list[Check] = []
    for check in checks:
        if match := _CHECKPOINT.fullmatch(check.name):
            found = checkpoints.setdefault(int(match[1]), CheckpointFinding(int(match[1])))
            if match[2] == "signature":
                found.signed = check
            else:
                found.root = check
        elif _CONSISTENCY.fullmatch(check.name):
            consistency.append(check)
        else:
            title = TRAIL_CHECKS.get(check.name)
            log.append(Finding(_(title) if title else check.name, check.ok, "", check.detail))
    return log, sorted(checkpoints.values(), key=lambda c: c.size), consistency


def signature_words(bid: dict[str, Any]) -> str:
    """A bid's signature verdict in a sentence, in the reader's language."""
    try:
        indication = Indication(bid["indication"])
        sub = SubIndication(bid["sub_indication"]) if bid.get("sub_indication") else None
    except ValueError:
        return str(bid.get("reason", ""))
    english, chinese = explain(indication, sub)
    return english if current_locale() == "en" else chinese


class AuditorPages(Controller):
    """Pages of auditors."""

    path = "/auditor"
    opt = {PAGE: True}
    include_in_schema = False
    exception_handlers = {500: failure_page}
    dependencies = {
        **VIEWER,
        "trail": Provide(provide_trail_service, sync_to_thread=False),
        "tenders": Provide(provide_tender_service, sync_to_thread=False),
        "opening": Provide(provide_opening_service, sync_to_thread=False),
    }

    @get("/", guards=allow(Role.AUDITOR, to="read the audit trail"), sync_to_thread=True)
    def home(
        self,
        user: NamedDependency[User],
        viewer: NamedDependency[Caller | None],
        tenders: NamedDependency[TenderService],
    ) -> Template:
        now = tenders.clock.now()
        return Template(
            "auditor/home.html",
            context={
                "viewer": viewer,
                "tenders": [(t, t.status_at(now)) for t in tenders.list(viewer=user)],
            },
        )

    @get(
        "/tenders/{tender_id:uuid}",
        guards=allow(Role.AUDITOR, to="read the audit trail"),
        sync_to_thread=True,
    )
    def tender_log(
        self,
        tender_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        viewer: NamedDependency[Caller | None],
        tenders: NamedDependency[TenderService],
        trail: NamedDependency[TrailService],
        opening: NamedDependency[OpeningService],
    ) -> Template:
        tender = tenders.get(tender_id, viewer=user)
        events = trail.events(tender_id=tender.id, after=0, limit=MAX_EVENTS)
        record = (
            opening.stored_record(reader=user, tender_id=tender.id)
            if tender.status in OPENED and oversees(tenders.session, user, tender)
            else None
        )
        return Template(
            "auditor/tender.html",
            context={
                "viewer": viewer,
                "tender": tender,
                "status": tender.status_at(tenders.clock.now()),
                "events": [(event, EVENTS.get(event["kind"])) for event in events],
                "bids": [(bid, signature_words(dict(bid))) for bid in record["bids"]]
                if record
                else None,
            },
        )

    @get(
        "/checkpoints", guards=allow(Role.AUDITOR, to="verify the audit trail"), sync_to_thread=True
    )
    def checkpoints(
        self,
        viewer: NamedDependency[Caller | None],
        trail: NamedDependency[TrailService],
        store: NamedDependency[ObjectStore],
        settings: NamedDependency[Settings],
        checkpointer: NamedDependency[Checkpointer],
    ) -> Template:
        checks = trail.verify(store=store, bucket=settings.bucket, verifier=checkpointer.verifier)
        log, checkpoints, consistency = trail_findings(checks)
        return Template(
            "auditor/checkpoints.html",
            context={
                "viewer": viewer,
                "holds": bool(checks) and all(check.ok for check in checks),
                "log": log,
                "checkpoints": checkpoints,
                "consistency": consistency,
                "signer": checkpointer.verifier.name,
            },
        )


class ReceiptPages(Controller):
    """Receipt verification by upload, for anyone: a receipt is checked with the platform's
    public key alone, as ``tender receipt verify`` checks it offline."""

    path = "/verify"
    opt = {**PUBLIC, PAGE: True}
    include_in_schema = False
    exception_handlers = {500: failure_page}
    dependencies = {**VIEWER}

    @get("/", sync_to_thread=False)
    def form(self, viewer: NamedDependency[Caller | None]) -> Template:
        return Template("auditor/verify.html", context={"viewer": viewer, "findings": None})

    @post("/", sync_to_thread=True, request_max_body_size=MAX_UPLOAD, status_code=200)
    def verify(
        self,
        data: Annotated[ReceiptUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        viewer: NamedDependency[Caller | None],
        checkpointer: NamedDependency[Checkpointer],
    ) -> Template:
        key = checkpointer.signer.verifier_key()
        try:
            signed, visible = read_receipt(data.receipt.file.read().decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            signed, visible = "", None
        bid = data.bid if data.bid is not None and data.bid.filename else None
        checks = verify_receipt(
            signed,
            key,
            visible=visible,
            tsa_trust=checkpointer.timestamp_trust,
            own_file=bid.file if bid is not None else None,
        )
        return Template(
            "auditor/verify.html",
            context={
                "viewer": viewer,
                "findings": receipt_findings(checks),
                "holds": all(check.ok for check in checks),
                "signed": signed_payload(signed, key),
                "receipt_name": data.receipt.filename,
                "bid_name": bid.filename if bid is not None else None,
            },
        )
