"""Request and response shapes of the tenders API."""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tender.storage.sealing import format_for
from tender.tenders.models import Envelopes, OpeningMethod, Tender, TenderStatus

"""What a tender's public key is for: ``tender.storage.sealing`` streams, sealed with
``Sealer`` to the raw key (its algorithms are the format's, named in its header)."""

OPENING_TRUST = {
    OpeningMethod.COMMITTEE: "Committee opening: this tender's key was split into one share for "
    "each member of its opening committee, each share encrypted to that member's own key, and "
    "the whole key erased. The bids open by themselves once {quorum} members have released "
    "their shares after the deadline. Nothing the platform holds, no file and no database "
    "row, opens them before then; {quorum} members acting together, with a copy of the sealed "
    "bids, could.",
    OpeningMethod.AUTOMATIC: "Automatic opening: the platform opens the bids by itself after "
    "the deadline with this tender's key, which it keeps wrapped under its platform key. It "
    "refuses to unwrap the key before the deadline recorded in the audit log and logs every "
    "unwrap, but whoever holds both the platform key (the file platform.key of the embedded "
    "platform, or its PKCS#11 token) and the database could read the bids before the "
    "deadline. Committee opening leaves nobody that power alone.",
}
"""What each way of opening relies on, said where a tender is created and shown with it."""


@dataclass(frozen=True)
class TenderCreate:
    """A new tender. ``deadline`` must carry a time zone (it is stored in UTC).

    ``opening`` says who can open the bids after the deadline (see :data:`OPENING_TRUST`):
    ``committee`` (the default) names the members (``committee``: user ids of officers, of any
    organisation, or auditors, each with a registered committee key) and how many of them
    must release their shares (``quorum``, at least 2); ``automatic`` names neither.

    ``envelopes``: ``single`` (the default), or ``two``: each bid has a technical and a
    financial envelope, sealed to two keys; the financial envelopes open only for the bids
    qualified on their technical envelope (see README, "Two-envelope tenders").
    """

    reference: str
    title: str
    deadline: datetime
    description: str = ""
    # Fingerprint first: suppliers register each file's SHA-256 by the deadline and may upload
    # the file up to this many seconds after it. None (the default): files by the deadline.
    file_grace_seconds: int | None = None
    opening: OpeningMethod = OpeningMethod.COMMITTEE
    committee: tuple[uuid.UUID, ...] = ()
    quorum: int | None = None
    # Bids must arrive already sealed to the tender's public key (``tender submit --seal``):
    # the platform never holds their plaintext before the opening, and cannot pre-check them.
    supplier_sealed: bool = False
    envelopes: Envelopes = Envelopes.SINGLE


@dataclass(frozen=True)
class TenderEdit:
    """Changes to a draft: only the fields sent are changed."""

    reference: str | None = None
    title: str | None = None
    description: str | None = None
    deadline: datetime | None = None
    file_grace_seconds: int | None = None
    # file_grace_seconds None means "unchanged"; this turns fingerprint first off.
    files_by_deadline: bool = False

    def given(self) -> dict[str, Any]:
        """The fields to change, by name."""
        changes = {
            name: value
            for name in ("reference", "title", "description", "deadline", "file_grace_seconds")
            if (value := getattr(self, name)) is not None
        }
        if self.files_by_deadline:
            changes["file_grace_seconds"] = None
        return changes


@dataclass(frozen=True)
class Cancellation:
    """Why the tender is called off (suppliers read it)."""

    reason: str


@dataclass(frozen=True)
class TenderOut:
    id: uuid.UUID
    reference: str
    title: str
    description: str
    deadline: datetime
    file_grace_seconds: int | None
    status: TenderStatus
    created_at: datetime
    published_at: datetime | None
    opening_started_at: datetime | None
    opened_at: datetime | None
    awarded_at: datetime | None
    cancelled_at: datetime | None
    cancellation_reason: str | None
    opening: OpeningMethod
    quorum: int | None
    envelopes: Envelopes
    opening_trust: str  # what the way it is opened relies on, in words
    supplier_sealed: bool  # bids are sealed by suppliers before they are sent

    @classmethod
    def of(cls, tender: Tender, *, now: datetime) -> TenderOut:
        """``tender`` as seen at ``now`` (a published tender past its deadline is closed)."""
        return cls(
            id=tender.id,
            reference=tender.reference,
            title=tender.title,
            description=tender.description,
            deadline=tender.deadline,
            file_grace_seconds=tender.file_grace_seconds,
            status=tender.status_at(now),
            created_at=tender.created_at,
            published_at=tender.published_at,
            opening_started_at=tender.opening_started_at,
            opened_at=tender.opened_at,
            awarded_at=tender.awarded_at,
            cancelled_at=tender.cancelled_at,
            cancellation_reason=tender.cancellation_reason,
            opening=tender.opening,
            quorum=tender.quorum,
            envelopes=tender.envelopes,
            opening_trust=OPENING_TRUST[tender.opening].format(quorum=tender.quorum),
            supplier_sealed=tender.supplier_sealed,
        )


@dataclass(frozen=True)
class TenderPublicKey:
    """The key a tender's bids are sealed to, for suppliers who seal their own
    (``tender submit --seal``). ``fingerprint`` is the SHA-256 of the key (hex), to tell keys
    apart; the log's ``tender.created`` event names the key itself."""

    tender_id: uuid.UUID
    reference: str
    public_key: str  # base64
    fingerprint: str
    kind: str  # the sealed-stream format it seals to, e.g. "tender.storage sealed stream 2"
    supplier_sealed: bool

    envelope: str | None  # the envelope whose files it seals (two-envelope tenders)

    @classmethod
    def of(cls, tender: Tender, key: bytes, envelope: str | None) -> TenderPublicKey:
        return cls(
            tender_id=tender.id,
            reference=tender.reference,
            public_key=base64.b64encode(key).decode("ascii"),
            fingerprint=hashlib.sha256(key).hexdigest(),
            kind=f"tender.storage sealed stream {format_for(key)}",
            supplier_sealed=tender.supplier_sealed,
            envelope=envelope if tender.two_envelopes else None,
        )
