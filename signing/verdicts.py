"""What PAdES and CAdES verification share: turning pyHanko's findings into Tender's verdicts.

A verdict is an (indication, sub-indication) pair in the ETSI EN 319 102-1 vocabulary. Each
signature is validated into :class:`Findings`; :func:`signature_report` then applies the
supplier's :class:`~tender.signing.SignerBinding` and writes the report.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import x509
from cryptography import x509 as pyca_x509
from pyhanko.sign.ades.report import AdESPassed, AdESStatus, AdESSubIndic
from pyhanko.sign.validation.status import TimestampSignatureStatus

from tender.signing.certificates import CertificateInfo, SignerBinding, describe_certificate
from tender.signing.messages import Sentence, explain, signer_not_registered
from tender.signing.report import (
    Indication,
    RevocationEvidence,
    SignatureReport,
    Stage,
    SubIndication,
)

__all__ = [
    "PASSED",
    "DocumentVerdict",
    "Findings",
    "Outcome",
    "Verdict",
    "ades_verdict",
    "certificate_info",
    "from_pyhanko",
    "signature_report",
    "worst",
]

Verdict = tuple[Indication, SubIndication | None]

PASSED: Verdict = (Indication.TOTAL_PASSED, None)

_INDICATION_OF = {
    AdESStatus.PASSED: Indication.TOTAL_PASSED,
    AdESStatus.FAILED: Indication.TOTAL_FAILED,
    AdESStatus.INDETERMINATE: Indication.INDETERMINATE,
}


def from_pyhanko(sub_indication: AdESSubIndic) -> Verdict:
    """Tender's verdict for one of pyHanko's AdES sub-indications (``AdESPassed.OK`` and
    the members of ``AdESFailure`` and ``AdESIndeterminate``)."""
    if sub_indication is AdESPassed.OK:
        return PASSED
    return _INDICATION_OF[sub_indication.status], SubIndication(sub_indication.standard_name)


def ades_verdict(
    sub_indication: AdESSubIndic, signer: x509.Certificate | None, at: datetime
) -> Verdict:
    """The verdict of pyHanko's AdES basic validation as of ``at``."""
    verdict = from_pyhanko(sub_indication)
    # pyHanko reports a signing certificate that is not yet valid as a general chain
    # failure. The platform received the signature at `at`, so a certificate whose validity
    # starts after `at` provably did not exist when it signed: ETSI's TOTAL_FAILED /
    # NOT_YET_VALID.
    if (
        verdict[1] is SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE
        and signer is not None
        and signer.not_valid_before > at
    ):
        return Indication.TOTAL_FAILED, SubIndication.NOT_YET_VALID
    return verdict


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """The most severe verdict; the first one given wins ties, so list the one that names
    the problem most precisely first."""
    return max(verdicts, key=lambda verdict: verdict[0].severity)


@dataclass(frozen=True)
class DocumentVerdict:
    """A verdict on the document as a whole (unreadable, encrypted, nothing signed, ...),
    with a sentence of its own if :func:`~tender.signing.messages.explain` has none fit."""

    verdict: Verdict
    message: Sentence | None = None


@dataclass(frozen=True)
class Outcome:
    """What validating a document's signatures gave: a report per signature, a verdict on
    the document as a whole if there is one, how the document had to be read and, for a
    PDF, the length of the revision its last signature signed
    (see :class:`~tender.signing.DocumentReport`)."""

    signatures: tuple[SignatureReport, ...]
    document_verdict: DocumentVerdict | None = None
    lenient_parsing: bool = False
    encrypted: bool = False
    decrypted: bool = False
    signed_revision_length: int | None = None


def certificate_info(certificate: x509.Certificate | None) -> CertificateInfo | None:
    """The signer certificate's details, or None if it is missing or unreadable."""
    if certificate is None:
        return None
    # Hostile input can hold a certificate asn1crypto accepts and cryptography does not.
    try:
        return describe_certificate(pyca_x509.load_der_x509_certificate(certificate.dump()))
    except ValueError:
        return None


@dataclass(frozen=True)
class Findings:
    """Everything validation found out about one signature, before the signer binding."""

    verdict: Verdict
    signer: CertificateInfo | None
    claimed_signing_time: datetime | None = None
    timestamp: TimestampSignatureStatus | None = None
    intact: bool = False
    crypto_valid: bool = False
    trusted: bool = False
    coverage: str | None = None
    modification_level: str | None = None
    field_name: str | None = None
    revocation: tuple[RevocationEvidence, ...] = ()
    message: Sentence | None = None
    unfinished_stage: Stage | None = None


def _trusted_timestamp(timestamp: TimestampSignatureStatus | None) -> bool:
    return timestamp is not None and timestamp.intact and timestamp.valid and timestamp.trusted


def signature_report(
    findings: Findings, at: datetime, binding: SignerBinding | None
) -> SignatureReport:
    """The report on one signature, as of ``at``.

    With a ``binding``, an intact signature with a valid signature value whose certificate
    is not registered to the organisation is TOTAL_FAILED / SIGNER_NOT_REGISTERED unless it
    already failed for another reason (which the supplier must fix first). It is checked
    even if the chain is not trusted: who signed is known once the signature value verifies.
    """
    verdict, message = findings.verdict, findings.message
    signer = findings.signer
    if (
        binding is not None
        and findings.intact
        and findings.crypto_valid
        and verdict[0] is not Indication.TOTAL_FAILED
        and (signer is None or signer.sha256 not in binding.fingerprints)
    ):
        verdict = Indication.TOTAL_FAILED, SubIndication.SIGNER_NOT_REGISTERED
        message = signer_not_registered(binding, None if signer is None else signer.subject)
    indication, sub_indication = verdict
    message_en, message_zh = message or explain(indication, sub_indication)
    timestamp = findings.timestamp if _trusted_timestamp(findings.timestamp) else None
    timestamp_time = None if timestamp is None else timestamp.timestamp
    authority = None if timestamp is None else certificate_info(timestamp.signing_cert)
    return SignatureReport(
        indication=indication,
        sub_indication=sub_indication,
        signer_subject=None if signer is None else signer.subject,
        signer_issuer=None if signer is None else signer.issuer,
        signer_serial=None if signer is None else signer.serial,
        signer_sha256=None if signer is None else signer.sha256,
        claimed_signing_time=findings.claimed_signing_time,
        timestamp_time=timestamp_time,
        timestamp_authority=None if authority is None else authority.subject,
        best_signature_time=at if timestamp_time is None else min(at, timestamp_time),
        intact=findings.intact,
        crypto_valid=findings.crypto_valid,
        trusted=findings.trusted,
        coverage=findings.coverage,
        modification_level=findings.modification_level,
        field_name=findings.field_name,
        revocation=findings.revocation,
        message_en=message_en,
        message_zh=message_zh,
        unfinished_stage=findings.unfinished_stage,
    )
