"""Shapes of the bids API: the receipt a supplier keeps."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


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

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PreCheck:
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
    # A signed checkpoint covering the receipt's audit event, and the RFC 9162 inclusion proof
    # of that event in it (given when the bid is received).
    checkpoint: dict[str, Any] | None = None
    inclusion_proof: list[str] | None = None
    # All of the above, signed by the platform: a compact JWS (EdDSA) whose payload is the
    # RFC 8785 JSON of the receipt. It alone is what `tender receipt verify` trusts.
    signed_receipt: str | None = None


@dataclass(frozen=True)
class BidSummary:
    """What anyone may know about bids before the opening: how many, not who or what."""

    tender_id: uuid.UUID
    documents_received: int
    own_receipts: list[Receipt]
