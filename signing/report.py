"""Validation reports: what the platform concluded about a signed document, and why.

The vocabulary is ETSI EN 319 102-1 (clause 5.1.3): an :class:`Indication` and, unless the
signature passed, a :class:`SubIndication`. Reports are plain frozen dataclasses that
serialise to JSON, so they can be stored with an opening record and shown to suppliers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = [
    "SCHEMA_VERSION",
    "DocumentReport",
    "Indication",
    "Note",
    "RevocationEvidence",
    "SignatureReport",
    "Stage",
    "SubIndication",
]

SCHEMA_VERSION = "1"
"""Version of the JSON produced by :meth:`DocumentReport.to_json` (docs/signature-report.md).
Bump it whenever a field changes meaning or disappears; adding a field does not."""


class Indication(StrEnum):
    """The main verdict of ETSI EN 319 102-1."""

    TOTAL_PASSED = "TOTAL_PASSED"
    TOTAL_FAILED = "TOTAL_FAILED"
    INDETERMINATE = "INDETERMINATE"

    @property
    def severity(self) -> int:
        """0 for TOTAL_PASSED, 1 for INDETERMINATE, 2 for TOTAL_FAILED: the worst is highest."""
        return _SEVERITY[self]


class SubIndication(StrEnum):
    """Why a signature did not pass.

    The ETSI EN 319 102-1 sub-indications, covering every one pyHanko's AdES validation can
    report (``NOT_YET_VALID`` occurs under both TOTAL_FAILED and INDETERMINATE; the
    indication tells them apart), plus two of Tender's own, marked below.
    """

    FORMAT_FAILURE = "FORMAT_FAILURE"
    HASH_FAILURE = "HASH_FAILURE"
    SIG_CRYPTO_FAILURE = "SIG_CRYPTO_FAILURE"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"
    NOT_YET_VALID = "NOT_YET_VALID"
    SIG_CONSTRAINTS_FAILURE = "SIG_CONSTRAINTS_FAILURE"
    CHAIN_CONSTRAINTS_FAILURE = "CHAIN_CONSTRAINTS_FAILURE"
    CERTIFICATE_CHAIN_GENERAL_FAILURE = "CERTIFICATE_CHAIN_GENERAL_FAILURE"
    CRYPTO_CONSTRAINTS_FAILURE = "CRYPTO_CONSTRAINTS_FAILURE"
    POLICY_PROCESSING_ERROR = "POLICY_PROCESSING_ERROR"
    SIGNATURE_POLICY_NOT_AVAILABLE = "SIGNATURE_POLICY_NOT_AVAILABLE"
    TIMESTAMP_ORDER_FAILURE = "TIMESTAMP_ORDER_FAILURE"
    NO_SIGNING_CERTIFICATE_FOUND = "NO_SIGNING_CERTIFICATE_FOUND"
    NO_CERTIFICATE_CHAIN_FOUND = "NO_CERTIFICATE_CHAIN_FOUND"
    REVOKED_NO_POE = "REVOKED_NO_POE"
    REVOKED_CA_NO_POE = "REVOKED_CA_NO_POE"
    OUT_OF_BOUNDS_NO_POE = "OUT_OF_BOUNDS_NO_POE"
    REVOCATION_OUT_OF_BOUNDS_NO_POE = "REVOCATION_OUT_OF_BOUNDS_NO_POE"
    OUT_OF_BOUNDS_NOT_REVOKED = "OUT_OF_BOUNDS_NOT_REVOKED"
    CRYPTO_CONSTRAINTS_FAILURE_NO_POE = "CRYPTO_CONSTRAINTS_FAILURE_NO_POE"
    NO_POE = "NO_POE"
    TRY_LATER = "TRY_LATER"
    SIGNED_DATA_NOT_FOUND = "SIGNED_DATA_NOT_FOUND"
    GENERIC = "GENERIC"
    NO_SIGNATURE_FOUND = "NO_SIGNATURE_FOUND"
    """Tender's own: the document carries no signature at all."""
    MODIFIED_AFTER_SIGNING = "MODIFIED_AFTER_SIGNING"
    """Tender's own: the signed revision is intact, but later incremental updates change
    more than signature fields and validation data (e.g. page content, annotations), or
    bytes follow the last revision that are not a readable PDF update."""
    SIGNER_NOT_REGISTERED = "SIGNER_NOT_REGISTERED"
    """Tender's own: the signature is intact, but the signer's certificate is not one the
    supplier's organisation registered (see :class:`tender.signing.SignerBinding`)."""


_SEVERITY = {Indication.TOTAL_PASSED: 0, Indication.INDETERMINATE: 1, Indication.TOTAL_FAILED: 2}


class Stage(StrEnum):
    """A step in validating one signature. A report names the first one that could not
    finish (:attr:`SignatureReport.unfinished_stage`); what the earlier steps established
    (``intact``, ``crypto_valid``, ``coverage``) stays in the report whatever a later step
    did."""

    INTEGRITY = "integrity"
    """Hashing the signed bytes and checking the signature value with the signer's key."""
    MODIFICATION_ANALYSIS = "modification_analysis"
    """PAdES: what incremental updates after the signature changed."""
    TIMESTAMP = "timestamp"
    """Validating the signature's RFC 3161 time-stamp."""
    CERTIFICATE_PATH = "certificate_path"
    """Building and validating the signer certificate's path to a trusted root (for a PDF
    pyHanko checks the signature time-stamp and seed values in the same step)."""
    REVOCATION = "revocation"
    """Finding out whether a certificate of the path was revoked: also named, without
    changing the verdict (soft fail), when the signer certificate's revocation service
    could not be reached and no other evidence was at hand."""
    ADES = "ades"
    """ETSI EN 319 102-1 basic signature validation (pyHanko's AdES process)."""


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _value(member: StrEnum | None) -> str | None:
    return None if member is None else member.value


@dataclass(frozen=True)
class RevocationEvidence:
    """One CRL or OCSP response the validation had about the signer's certificate.

    ``kind`` is ``"CRL"`` or ``"OCSP"``; ``origin`` says where it came from: ``"offline"``
    (the trust store's revocation folder), ``"embedded"`` (the PDF's DSS) or ``"fetched"``
    (downloaded from an allow-listed host). ``issuer`` is the RFC 4514 name of who issued
    it (for an OCSP response that embeds no certificate, its responder ID), ``issued_at``
    its thisUpdate (CRL) or producedAt (OCSP) time. ``status`` is what it says about
    ``certificate_serial`` (lowercase hex): ``"good"``, ``"unknown"`` or ``"revoked"`` (then
    ``revoked_at`` is set) for OCSP; for a CRL ``"revoked"`` if the serial is listed, else
    ``"good"``.
    ``sha256`` is the fingerprint of its DER encoding, so the evidence can be matched with
    a copy kept elsewhere.
    """

    kind: str
    origin: str
    issuer: str
    issued_at: datetime
    certificate_serial: str
    status: str
    revoked_at: datetime | None
    sha256: str

    def to_json(self) -> dict[str, object]:
        """A JSON-safe dict: times as ISO 8601 strings."""
        return {
            "kind": self.kind,
            "origin": self.origin,
            "issuer": self.issuer,
            "issued_at": self.issued_at.isoformat(),
            "certificate_serial": self.certificate_serial,
            "status": self.status,
            "revoked_at": _iso(self.revoked_at),
            "sha256": self.sha256,
        }


@dataclass(frozen=True)
class SignatureReport:
    """The verdict on one signature.

    The signer's certificate is described by its subject and issuer (RFC 4514 strings),
    serial number (lowercase hexadecimal) and SHA-256 fingerprint of its DER encoding
    (lowercase hexadecimal); all are None if the signature holds no readable certificate.
    ``claimed_signing_time`` is what the signer's software *says* (the CMS signing-time
    attribute or the PDF ``/M`` entry); it proves nothing and is shown for information only.
    ``timestamp_time`` and ``timestamp_authority`` (the TSA certificate's subject) describe
    an RFC 3161 signature time-stamp, set only if it is valid and from a trusted TSA.
    ``best_signature_time`` is the earliest moment the signature is *proven* to have
    existed: the time-stamp's time if there is one, else the validation time.
    ``intact`` means the signed bytes hash to the signed digest, ``crypto_valid`` that the
    signature value verifies against the signer's key, ``trusted`` that the signer's
    certificate chains to the trust store and was valid at the validation time.
    ``coverage`` and ``modification_level`` are pyHanko's names (e.g. ``ENTIRE_FILE``,
    ``NONE``) for how much of the PDF the signature covers and what changed after it; both
    are None for a detached signature. ``field_name`` is the PDF signature field (None for
    detached). ``revocation`` lists the revocation evidence the validation had.
    ``message_en`` and ``message_zh`` (Traditional Chinese) say in one sentence what is wrong
    and what the supplier can do about it. ``unfinished_stage`` names the first
    :class:`Stage` that could not finish (an exception inside pyHanko, an unreachable
    revocation service), None if every stage finished.
    """

    indication: Indication
    sub_indication: SubIndication | None
    signer_subject: str | None
    signer_issuer: str | None
    signer_serial: str | None
    signer_sha256: str | None
    claimed_signing_time: datetime | None
    timestamp_time: datetime | None
    timestamp_authority: str | None
    best_signature_time: datetime
    intact: bool
    crypto_valid: bool
    trusted: bool
    coverage: str | None
    modification_level: str | None
    field_name: str | None
    revocation: tuple[RevocationEvidence, ...]
    message_en: str
    message_zh: str
    unfinished_stage: Stage | None = None

    def to_json(self) -> dict[str, object]:
        """A JSON-safe dict: enums as their values, times as ISO 8601 strings."""
        return {
            "indication": self.indication.value,
            "sub_indication": _value(self.sub_indication),
            "signer": {
                "subject": self.signer_subject,
                "issuer": self.signer_issuer,
                "serial": self.signer_serial,
                "sha256": self.signer_sha256,
            },
            "claimed_signing_time": _iso(self.claimed_signing_time),
            "timestamp": None
            if self.timestamp_time is None
            else {"time": _iso(self.timestamp_time), "authority": self.timestamp_authority},
            "best_signature_time": self.best_signature_time.isoformat(),
            "intact": self.intact,
            "crypto_valid": self.crypto_valid,
            "trusted": self.trusted,
            "coverage": self.coverage,
            "modification_level": self.modification_level,
            "field_name": self.field_name,
            "revocation": [evidence.to_json() for evidence in self.revocation],
            "unfinished_stage": _value(self.unfinished_stage),
            "message_en": self.message_en,
            "message_zh": self.message_zh,
        }


@dataclass(frozen=True)
class Note:
    """A fact about how the document was read that does not change the verdict, with a
    sentence in English and Traditional Chinese. ``code`` is ``LENIENT_PARSING`` or
    ``DECRYPTED`` (see :class:`DocumentReport`)."""

    code: str
    message_en: str
    message_zh: str

    def to_json(self) -> dict[str, object]:
        """A JSON-safe dict."""
        return {"code": self.code, "message_en": self.message_en, "message_zh": self.message_zh}


@dataclass(frozen=True)
class DocumentReport:
    """The verdict on a whole document: the worst verdict among its signatures.

    A document without signatures is TOTAL_FAILED / NO_SIGNATURE_FOUND; one that cannot be
    read is TOTAL_FAILED / FORMAT_FAILURE (``signatures`` is then empty). ``kind`` is
    ``"PAdES"`` (a signed PDF) or ``"CAdES"`` (a detached ``.p7s``). ``validated_at`` is the
    point in time the signatures were validated at (the submission time, for a bid).
    ``schema_version`` is :data:`SCHEMA_VERSION`.

    ``lenient_parsing`` is True when pyHanko's strict reader refused the PDF (a fault every
    PDF viewer tolerates, such as an object whose generation number does not match its
    cross-reference entry, or hybrid cross-reference sections) and it was read the way
    viewers read it; its signatures were judged as usual. ``encrypted`` is True for an
    encrypted PDF: opened with the empty password when it has no opening password, refused
    (TOTAL_FAILED / FORMAT_FAILURE) when it needs one. ``notes`` explains each of these in
    both languages (codes ``LENIENT_PARSING``, ``DECRYPTED``).

    ``signed_revision_length`` (PAdES) is how many bytes from the start of the PDF its last
    signature covers — the revision it signed, which evaluators read — found in the parse
    that validated it: what :func:`~tender.signing.signed_revision_length` says of the same
    file whenever ``signatures`` is not empty. None for CAdES, and for a PDF without a
    signature pyHanko can read.
    """

    indication: Indication
    sub_indication: SubIndication | None
    kind: str
    signatures: tuple[SignatureReport, ...]
    message_en: str
    message_zh: str
    validated_at: datetime
    schema_version: str = SCHEMA_VERSION
    lenient_parsing: bool = False
    encrypted: bool = False
    notes: tuple[Note, ...] = ()
    signed_revision_length: int | None = None

    @property
    def signer_subject(self) -> str | None:
        """Subject of the first signature's certificate, or None if there is none."""
        return self.signatures[0].signer_subject if self.signatures else None

    def to_json(self) -> dict[str, object]:
        """A JSON-safe dict: enums as their values, times as ISO 8601 strings."""
        return {
            "schema_version": self.schema_version,
            "kind": self.kind,
            "indication": self.indication.value,
            "sub_indication": _value(self.sub_indication),
            "validated_at": self.validated_at.isoformat(),
            "message_en": self.message_en,
            "message_zh": self.message_zh,
            "lenient_parsing": self.lenient_parsing,
            "encrypted": self.encrypted,
            "signed_revision_length": self.signed_revision_length,
            "notes": [note.to_json() for note in self.notes],
            "signatures": [signature.to_json() for signature in self.signatures],
        }
