"""Every model, imported once so that ``Base.metadata`` is complete (Alembic, tests)."""

from tender.accounts.models import SigningCertificate, User
from tender.audit.models import AuditEvent
from tender.bids.models import BidDocument
from tender.db import Base
from tender.opening.models import OpeningRecord, OpeningResult
from tender.tenders.models import Tender

__all__ = [
    "AuditEvent",
    "Base",
    "BidDocument",
    "OpeningRecord",
    "OpeningResult",
    "SigningCertificate",
    "Tender",
    "User",
]
