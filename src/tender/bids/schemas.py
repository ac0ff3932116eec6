"""Shapes of the bids API: the receipt a supplier keeps."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


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


@dataclass(frozen=True)
class BidSummary:
    """What anyone may know about bids before the opening: how many, not who or what."""

    tender_id: uuid.UUID
    documents_received: int
    own_receipts: list[Receipt]
