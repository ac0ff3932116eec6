"""Request and response shapes of the qualification API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class BidStanding:
    """A bid whose technical envelope was opened, and the verdict on it so far (None: none
    yet). A bid is named by its supplier's id."""

    supplier_id: uuid.UUID
    supplier_organisation: str
    qualified: bool | None
    reason: str | None


@dataclass(frozen=True)
class VerdictIn:
    """The officer's verdict on one bid's technical envelope, with the reason (kept in the
    audit log and the opening record)."""

    supplier_id: uuid.UUID
    qualified: bool
    reason: str


@dataclass(frozen=True)
class VerdictOut:
    supplier_id: uuid.UUID
    qualified: bool
    reason: str
    decided_at: datetime
    audit_seq: int


@dataclass(frozen=True)
class Qualification:
    """A two-envelope tender's bids and verdicts, and whether the financial opening was
    requested (and has finished)."""

    tender_id: uuid.UUID
    bids: list[BidStanding]
    financial_opening_requested_at: datetime | None
    financial_opening_finished_at: datetime | None


@dataclass(frozen=True)
class FinancialOpeningOut:
    tender_id: uuid.UUID
    requested_at: datetime
    finished_at: datetime | None
    explanation: str
