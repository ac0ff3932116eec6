"""Every model, imported once so that ``Base.metadata`` is complete (Alembic, tests)."""

from tender.accounts.models import CertificateChallenge, SigningCertificate, User
from tender.audit.models import AuditEvent
from tender.bids.models import BidDocument, StorageIntent
from tender.db import Base
from tender.opening.models import OpeningRecord, OpeningResult
from tender.tenders.models import Tender

__all__ = [
    "AuditEvent",
    "Base",
    "BidDocument",
    "CertificateChallenge",
    "OpeningRecord",
    "OpeningResult",
    "SigningCertificate",
    "StorageIntent",
    "Tender",
    "User",
]
