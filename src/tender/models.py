"""Every model, imported once so that ``Base.metadata`` is complete (Alembic, tests)."""

from tender.accounts.models import (
    AuditorAppointment,
    CertificateChallenge,
    Organisation,
    SigningCertificate,
    User,
)
from tender.audit.models import AuditEvent, MerkleNode
from tender.awards.models import TenderAward
from tender.bids.models import BidDocument, BidFingerprint, BidWithdrawal, StorageIntent
from tender.clarifications.models import Clarification
from tender.committee.models import CommitteeKey, CommitteeShare
from tender.db import Base
from tender.documents.models import Addendum, DocumentDownload, TenderDocument
from tender.notifications.models import OutboxMessage
from tender.opening.models import OpeningClaim, OpeningRecord, OpeningResult
from tender.qualification.models import BidQualification, FinancialOpening
from tender.tenders.models import Tender

__all__ = [
    "Addendum",
    "AuditEvent",
    "AuditorAppointment",
    "Base",
    "BidDocument",
    "BidFingerprint",
    "BidQualification",
    "BidWithdrawal",
    "CertificateChallenge",
    "Clarification",
    "CommitteeKey",
    "CommitteeShare",
    "DocumentDownload",
    "FinancialOpening",
    "MerkleNode",
    "OpeningClaim",
    "OpeningRecord",
    "OpeningResult",
    "Organisation",
    "OutboxMessage",
    "SigningCertificate",
    "StorageIntent",
    "Tender",
    "TenderAward",
    "TenderDocument",
    "User",
]
