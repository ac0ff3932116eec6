"""Request and response shapes of the awards API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from tender.awards.models import TenderAward


@dataclass(frozen=True)
class AwardCreate:
    """The award: the winning suppliers' organisations (as the opening record names them), the
    value as a decimal string ("1250000.00"), its ISO 4217 currency ("HKD") and the reasons."""

    winners: list[str]
    value: str
    currency: str
    reasons: str


@dataclass(frozen=True)
class Verdict:
    """One opened document of the opening record, as a supplier of the tender reads it: their
    own in full; another supplier's only its organisation and verdict (the other fields None)."""

    supplier_organisation: str
    indication: str
    own: bool
    receipt_id: uuid.UUID | None = None
    file_name: str | None = None
    size: int | None = None
    received_at: datetime | None = None
    sha256: str | None = None
    sub_indication: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class AwardOut:
    tender_id: uuid.UUID
    tender_reference: str
    winners: list[str]
    value: str
    currency: str
    reasons: str
    awarded_at: datetime
    # The opened documents: all in full for officers and auditors; for a supplier, see Verdict.
    verdicts: list[Verdict]

    @classmethod
    def of(cls, award: TenderAward, reference: str, verdicts: list[Verdict]) -> AwardOut:
        return cls(
            tender_id=award.tender_id,
            tender_reference=reference,
            winners=list(award.winners),
            value=award.value,
            currency=award.currency,
            reasons=award.reasons,
            awarded_at=award.awarded_at,
            verdicts=verdicts,
        )
