"""The JSON documents the platform writes and auditors read, as named types.

These describe what the platform produces; a verifier still checks every field it reads,
since a document in an auditor's hands may have been altered. Times are the log's text form,
ISO 8601 UTC with microseconds and a ``Z`` (``2026-11-27T13:40:19.123456Z``).
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class LoggedEvent(TypedDict):
    """An audit event's chained fields. Their RFC 8785 JSON is the event's body: the bytes the
    chain hash and the Merkle leaf cover, stored as they were hashed, and exported as they are
    (one line of ``events.jsonl`` each; see :mod:`.chain`)."""

    seq: int
    at: str
    actor: str
    tender_id: str | None
    kind: str
    payload: dict[str, Any]


class ExportedEvent(LoggedEvent):
    """One audit event as the API and receipts show it: its body's fields, with its hashes
    (derived from the bodies; ``events.jsonl`` leaves them out)."""

    prev_hash: str
    hash: str
    leaf_hash: str


class CheckpointCopy(TypedDict):
    """The Object-Locked copy of a signed checkpoint (``checkpoints/<size>.json``)."""

    note: str  # the C2SP signed note
    timestamp_token: str  # base64 of the RFC 3161 token over SHA-256(note)
    issued_at: str
    reason: str


class CheckpointSummary(TypedDict):
    """What a receipt or an opening record carries of a checkpoint."""

    size: int
    root: str
    note: str
    timestamp_token: str


class PreCheckJSON(TypedDict):
    """The advisory signature pre-check in a receipt."""

    indication: str | None
    sub_indication: str | None
    signer_subject: str | None
    message_en: str
    message_zh: str
    advisory: bool


class ReceiptPayload(TypedDict):
    """The payload of a signed receipt (format ``tender-receipt/2``), a compact JWS.

    ``audit_event`` is the ``bid.received`` event as logged: before the opening it holds only a
    commitment to who sent what; ``committed_fields`` and ``commitment_salt`` open it.
    """

    format: str
    receipt_id: str
    tender_id: str
    tender_reference: str
    supplier: str
    supplier_organisation: str
    file_name: str
    sha256: str
    size: int
    received_at: str
    deadline: str
    sealed_object_version: str
    retained_until: str
    audit_seq: int
    audit_hash: str
    signature_precheck: PreCheckJSON | None
    leaf_index: int
    commitment_salt: str | None
    committed_fields: dict[str, Any] | None
    checkpoint: CheckpointSummary | None
    inclusion_proof: list[str] | None
    audit_event: ExportedEvent
    # Only for a file received in a fingerprint-first tender's grace period, after the deadline.
    fulfils_fingerprint: NotRequired[FulfilledFingerprint]
    files_until: NotRequired[str]
    # Only for a file its supplier sealed: the SHA-256 of the sealed bytes received (``sha256``
    # is then the plain file's, as declared, and ``size`` the sealed bytes').
    sealed_sha256: NotRequired[str]
    # Only for a file of a two-envelope tender: "technical" or "financial".
    envelope: NotRequired[str]


class FulfilledFingerprint(TypedDict):
    """The fingerprint, registered by the deadline, that a file received after it matches."""

    receipt_id: str
    received_at: str
    sha256: str


class FingerprintPayload(TypedDict):
    """The payload of a signed fingerprint receipt (format ``tender-fingerprint/1``): as a
    file's receipt, for the ``bid.fingerprinted`` event, without size or storage fields."""

    format: str
    receipt_id: str
    tender_id: str
    tender_reference: str
    supplier: str
    supplier_organisation: str
    file_name: str
    sha256: str
    received_at: str
    deadline: str
    files_until: str
    audit_seq: int
    audit_hash: str
    leaf_index: int
    commitment_salt: str
    committed_fields: dict[str, Any]
    checkpoint: CheckpointSummary | None
    inclusion_proof: list[str] | None
    audit_event: ExportedEvent


class WithdrawalPayload(TypedDict):
    """The payload of a signed withdrawal receipt (format ``tender-withdrawal/1``): the
    ``bid.withdrawn`` event, the receipts it withdrew, and its proof of inclusion."""

    format: str
    receipt_id: str
    tender_id: str
    tender_reference: str
    supplier: str
    supplier_organisation: str
    file_name: str | None
    withdrawn: list[str]
    withdrawn_at: str
    deadline: str
    audit_seq: int
    audit_hash: str
    leaf_index: int
    commitment_salt: str
    committed_fields: dict[str, Any]
    checkpoint: CheckpointSummary | None
    inclusion_proof: list[str] | None
    audit_event: ExportedEvent


class RecordTender(TypedDict):
    id: str
    reference: str
    title: str
    deadline: str
    opening_started_at: str
    opened_at: str
    files_until: NotRequired[str]  # a fingerprint-first tender: the end of the files' grace


class RecordFingerprint(TypedDict):
    """A fingerprint registered by the deadline whose file never came (or came with other
    bytes): recorded, and nothing opened for it."""

    receipt_id: str
    supplier_organisation: str
    file_name: str
    sha256: str
    received_at: str


class RecordNotOpened(TypedDict):
    """A bid document received but not opened: superseded by a later version of the same
    file (which is the one in ``bids``, the version that counted), or withdrawn by its
    supplier before the deadline."""

    receipt_id: str
    supplier_organisation: str
    file_name: str
    sha256: str
    received_at: str
    why: str  # "superseded" or "withdrawn"
    at: str  # when it was superseded or withdrawn


class RecordRelease(TypedDict):
    """A committee member who released their share of the tender's key, and when."""

    member: str
    organisation: str
    released_at: str


class RecordKeyRelease(TypedDict):
    """How the tender's key was released for the opening: by the platform (``automatic``), or
    by its committee's members (``committee``: ``quorum`` of the ``members`` were needed;
    ``released`` lists who released, in order, and when)."""

    opening: str
    quorum: NotRequired[int]
    members: NotRequired[int]
    released: NotRequired[list[RecordRelease]]


class RecordBid(TypedDict):
    """One opened bid document in the opening record."""

    receipt_id: str
    supplier: str
    supplier_organisation: str
    file_name: str
    size: int
    received_at: str
    receipt_sha256: str
    computed_sha256: str | None
    hash_matches: bool
    indication: str
    sub_indication: str | None
    signer_subject: str | None
    reason: str
    signature_report: dict[str, Any]
    # Only for a file its supplier sealed: the SHA-256 of the sealed bytes received
    # (``receipt_sha256`` is then the plain file's, as the supplier declared it).
    sealed_sha256: NotRequired[str]


class RecordVerdict(TypedDict):
    """The officer's qualification verdict on one supplier's bid (two-envelope tenders)."""

    supplier_id: str
    supplier_organisation: str
    qualified: bool
    reason: str
    decided_by: str
    decided_at: str
    seq: int  # the bid.qualification event


class AuditHead(TypedDict):
    seq: int
    hash: str


class OpeningRecordDocument(TypedDict):
    """The opening record (format ``tender-opening-record/1``), written as JSON and as PDF."""

    format: str
    tender: RecordTender
    bids: list[RecordBid]
    fingerprints_without_file: NotRequired[list[RecordFingerprint]]
    # Absent from records of openings before withdrawals existed.
    not_opened: NotRequired[list[RecordNotOpened]]
    # Absent from records of openings before committees existed.
    key_release: NotRequired[RecordKeyRelease]
    # Two-envelope tenders: which envelopes this part of the record opened; the financial
    # part also lists the qualification verdicts and names the technical part by its SHA-256.
    envelope: NotRequired[str]
    qualification: NotRequired[list[RecordVerdict]]
    technical_record_sha256: NotRequired[str]
    audit_head: AuditHead
    checkpoint: CheckpointSummary


class BundleManifest(TypedDict):
    """``manifest.json`` of an audit bundle (format ``tender-audit-bundle/2``)."""

    format: str
    exported_at: str
    vkey: str
    origin: str
    tender: str | None
    files: dict[str, str]  # name -> SHA-256
