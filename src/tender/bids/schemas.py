"""Shapes of the bids API: the receipt a supplier keeps."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tender.verifier.formats import CheckpointSummary, PreCheckJSON

PLAINTEXT_SHA256_HEADER = "X-Tender-Plaintext-SHA256"
"""Header of an upload to a supplier-sealed tender: the SHA-256 of the plain file it seals,
declared by the supplier (``tender submit --seal`` computes it)."""


@dataclass(frozen=True)
class PreCheck:
    """What the opening is expected to say about the file's signature.

    Advisory: the opening verifies again, and its verdict is the one that counts.
    ``indication`` is None when no check could be made (the messages say why).
    """

    indication: str | None
    sub_indication: str | None
    signer_subject: str | None
    message_en: str
    message_zh: str
    advisory: bool = True

    def to_json(self) -> PreCheckJSON:
        return {
            "indication": self.indication,
            "sub_indication": self.sub_indication,
            "signer_subject": self.signer_subject,
            "message_en": self.message_en,
            "message_zh": self.message_zh,
            "advisory": self.advisory,
        }

    @classmethod
    def from_json(cls, data: PreCheckJSON) -> PreCheck:
        return cls(**data)


@dataclass(frozen=True)
class Receipt:
    """Proof of what the platform received, and when (the server's clock decides)."""

    receipt_id: uuid.UUID
    tender_id: uuid.UUID
    tender_reference: str
    supplier: str
    supplier_organisation: str
    file_name: str
    sha256: str
    size: int
    received_at: datetime
    deadline: datetime
    sealed_object_version: str
    retained_until: datetime
    audit_seq: int
    audit_hash: str
    signature_precheck: PreCheck | None
    leaf_index: int
    # The log's bid.received event holds only a commitment to who sent what (it is sealed
    # until the opening); with the salt, this receipt proves the commitment is to these fields.
    commitment_salt: str | None
    committed_fields: dict[str, Any] | None
    # A signed checkpoint covering the receipt's audit event, and the RFC 9162 inclusion proof
    # of that event in it (given when the bid is received).
    checkpoint: CheckpointSummary | None = None
    inclusion_proof: list[str] | None = None
    # All of the above, signed by the platform: a compact JWS (EdDSA) whose payload is the
    # RFC 8785 JSON of the receipt. It alone is what `tender receipt verify` trusts.
    signed_receipt: str | None = None
    # A file received after the deadline of a fingerprint-first tender: the fingerprint,
    # registered by the deadline, that it matches, and the end of the files' grace.
    fulfils_fingerprint: FingerprintMatch | None = None
    # A file its supplier sealed (supplier-sealed tenders): the SHA-256 of the sealed bytes
    # received; ``sha256`` is then the plain file's as the supplier declared it, which the
    # opening checks, and ``size`` the sealed bytes'.
    sealed_sha256: str | None = None
    # A two-envelope tender's file: the envelope it is in ("technical", opened at the deadline,
    # or "financial", opened only if the bid qualifies). None for a single-envelope tender.
    envelope: str | None = None


@dataclass(frozen=True)
class FingerprintMatch:
    receipt_id: uuid.UUID
    received_at: datetime
    sha256: str
    files_until: datetime


@dataclass(frozen=True)
class FingerprintIn:
    """A bid file's SHA-256 (64 hex digits), registered before the deadline of a
    fingerprint-first tender; the file itself may follow within the tender's grace period."""

    file_name: str
    sha256: str


@dataclass(frozen=True)
class FingerprintReceipt:
    """Proof that the platform received a file's fingerprint, and when."""

    receipt_id: uuid.UUID
    tender_id: uuid.UUID
    tender_reference: str
    supplier: str
    supplier_organisation: str
    file_name: str
    sha256: str
    received_at: datetime
    deadline: datetime
    files_until: datetime
    audit_seq: int
    audit_hash: str
    leaf_index: int
    commitment_salt: str
    committed_fields: dict[str, Any]
    checkpoint: CheckpointSummary | None = None
    inclusion_proof: list[str] | None = None
    signed_receipt: str | None = None


@dataclass(frozen=True)
class Withdrawal:
    """Withdraw a bid before the deadline: one file (``file_name``), or the whole bid (None)."""

    file_name: str | None = None


@dataclass(frozen=True)
class WithdrawalReceipt:
    """Proof that the platform took a supplier's withdrawal, and when: the documents (and, for
    a fingerprint-first tender, the fingerprints) it withdrew are not opened."""

    receipt_id: uuid.UUID  # the withdrawal's id
    tender_id: uuid.UUID
    tender_reference: str
    supplier: str
    supplier_organisation: str
    file_name: str | None  # None: the whole bid
    withdrawn: list[uuid.UUID]  # receipt ids of the documents and fingerprints withdrawn
    withdrawn_at: datetime
    deadline: datetime
    audit_seq: int
    audit_hash: str
    leaf_index: int
    commitment_salt: str
    committed_fields: dict[str, Any]
    checkpoint: CheckpointSummary | None = None
    inclusion_proof: list[str] | None = None
    signed_receipt: str | None = None


@dataclass(frozen=True)
class BidSummary:
    """What the caller may know about a tender's bids: never who or what before the opening;
    how many only for officers and auditors (a supplier sees only its own receipts)."""

    tender_id: uuid.UUID
    documents_received: int | None
    own_receipts: list[Receipt]
    own_fingerprints: list[FingerprintReceipt] = field(default_factory=list)


@dataclass(frozen=True)
class OwnReceipt:
    """One of the caller's receipts and whether that version counts for the opening: the
    latest upload of a file name received in time counts, unless withdrawn; an earlier one is
    superseded."""

    receipt: Receipt
    counts: bool
    standing: str  # "counts", "superseded" or "withdrawn"
    standing_since: datetime  # when it was received, superseded or withdrawn
    explanation: str


@dataclass(frozen=True)
class UploadStart:
    """A resumable upload of one bid file, sent in parts: its name and its size in bytes (for
    a two-envelope tender, its envelope; for a supplier-sealed tender, the plain file's
    SHA-256, as ``X-Tender-Plaintext-SHA256`` is for a streamed upload)."""

    file_name: str
    size: int
    envelope: str | None = None
    plaintext_sha256: str | None = None


@dataclass(frozen=True)
class UploadState:
    """How far a resumable upload has come: ``received`` bytes of ``size`` arrived, so the
    next part starts at that offset. Kept while parts keep arriving; an upload nothing reaches
    until ``expires_at`` is dropped, and starts again."""

    upload_id: uuid.UUID
    tender_id: uuid.UUID
    file_name: str
    size: int
    received: int
    part_size: int  # a good size for each part (any size is taken)
    expires_at: datetime
