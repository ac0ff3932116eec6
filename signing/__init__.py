"""PKI for Tender: verify signed documents as of a point in time, and sign them.

A library: it knows nothing about the database, HTTP or jobs, and imports nothing from the
rest of Tender. The test PKI lives in :mod:`tender.signing.testing`.
"""

from tender.signing.certificates import CertificateInfo, SignerBinding, read_certificate
from tender.signing.pades import signed_revision_length
from tender.signing.report import (
    SCHEMA_VERSION,
    DocumentReport,
    Indication,
    Note,
    RevocationEvidence,
    SignatureReport,
    Stage,
    SubIndication,
)
from tender.signing.signer import (
    async_sign_pdf,
    load_signer_pkcs11,
    load_signer_pkcs12,
    sign_pdf,
)
from tender.signing.trust import TrustStore, TrustStoreError
from tender.signing.verify import async_verify_document, verify_document

__all__ = [
    "SCHEMA_VERSION",
    "CertificateInfo",
    "DocumentReport",
    "Indication",
    "Note",
    "RevocationEvidence",
    "SignatureReport",
    "SignerBinding",
    "Stage",
    "SubIndication",
    "TrustStore",
    "TrustStoreError",
    "async_sign_pdf",
    "async_verify_document",
    "load_signer_pkcs11",
    "load_signer_pkcs12",
    "read_certificate",
    "sign_pdf",
    "signed_revision_length",
    "verify_document",
]
