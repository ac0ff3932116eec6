"""Verifying signed documents as of a point in time (the bid's submission time).

Every signature gets two independent looks, and passes only if both pass:

1. ETSI EN 319 102-1 basic signature validation (clause 5.3, pyHanko's
   :func:`~pyhanko.sign.validation.ades.ades_basic_validation`) with the validation time set
   to ``at``. It checks integrity, the signature value and the certificate chain as of
   ``at``, and names what failed with an ETSI sub-indication.
2. pyHanko's classic PDF status (:attr:`PdfSignatureStatus.bottom_line`), which also runs
   the difference analysis on incremental updates made *after* signing; the AdES process
   does not look at those.

Why basic validation and not "validation with time" (clause 5.5)? pyHanko's with-time
process requires a signature time-stamp and answers INDETERMINATE/SIG_CONSTRAINTS_FAILURE
for every signature without one, however valid. The platform does not
need the signature's own time-stamp to know when it existed: its receipt proves that the
signature existed at ``at``, so validating the chain at ``at`` is the point-in-time check.
Using signature time-stamps to prove existence *before* ``at`` (and revocation data to prove
non-revocation) is later work.

Revocation is offline and soft for now; see :mod:`tender.signing.trust`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from asn1crypto import x509
from cryptography import x509 as pyca_x509
from cryptography.hazmat.primitives import hashes
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed, AdESStatus, AdESSubIndic
from pyhanko.sign.validation import EmbeddedPdfSignature, async_validate_pdf_signature
from pyhanko.sign.validation.ades import ades_basic_validation
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo

from tender.signing.messages import DETACHED_NOT_SUPPORTED, explain
from tender.signing.report import DocumentReport, Indication, SignatureReport, SubIndication
from tender.signing.trust import TrustStore, point_in_time

__all__ = ["async_verify_document", "from_pyhanko", "verify_document"]

logger = logging.getLogger(__name__)

Verdict = tuple[Indication, SubIndication | None]

_PASSED: Verdict = (Indication.TOTAL_PASSED, None)

_INDICATION_OF = {
    AdESStatus.PASSED: Indication.TOTAL_PASSED,
    AdESStatus.FAILED: Indication.TOTAL_FAILED,
    AdESStatus.INDETERMINATE: Indication.INDETERMINATE,
}


def from_pyhanko(sub_indication: AdESSubIndic) -> Verdict:
    """Tender's verdict for one of pyHanko's AdES sub-indications (``AdESPassed.OK`` and
    the members of ``AdESFailure`` and ``AdESIndeterminate``)."""
    if sub_indication is AdESPassed.OK:
        return _PASSED
    return _INDICATION_OF[sub_indication.status], SubIndication(sub_indication.standard_name)


def _ades_verdict(sub_indication: AdESSubIndic, signer: x509.Certificate, at: datetime) -> Verdict:
    verdict = from_pyhanko(sub_indication)
    # pyHanko reports a signing certificate that is not yet valid as a general chain
    # failure. The platform received the signature at `at`, so a certificate whose validity
    # starts after `at` provably did not exist when it signed: ETSI's TOTAL_FAILED /
    # NOT_YET_VALID.
    if verdict[1] is SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE and (
        signer.not_valid_before > at
    ):
        return Indication.TOTAL_FAILED, SubIndication.NOT_YET_VALID
    return verdict


def _classic_verdict(status: PdfSignatureStatus) -> Verdict:
    if status.bottom_line:
        return _PASSED
    if status.docmdp_ok is False:
        return Indication.TOTAL_FAILED, SubIndication.MODIFIED_AFTER_SIGNING
    # Integrity, signature value and trust failures are named more precisely by the AdES
    # verdict, which wins ties; what is left here is a bad time-stamp or seed-value breach.
    return Indication.INDETERMINATE, SubIndication.SIG_CONSTRAINTS_FAILURE


@dataclass(frozen=True)
class _Details:
    subject: str | None = None
    issuer: str | None = None
    serial: str | None = None
    sha256: str | None = None
    claimed_signing_time: datetime | None = None


def _details(signature: EmbeddedPdfSignature) -> _Details:
    # Hostile input can break any of these lookups; a report without the detail is still
    # a report, so each part is read on its own and left empty if it cannot be read.
    try:
        claimed_signing_time = signature.self_reported_timestamp
    except (ValueError, PdfError):
        claimed_signing_time = None
    try:
        certificate = pyca_x509.load_der_x509_certificate(signature.signer_cert.dump())
    except (ValueError, PdfError):
        return _Details(claimed_signing_time=claimed_signing_time)
    return _Details(
        # RFC 4514 is the standard one-line spelling of a distinguished name.
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        serial=format(certificate.serial_number, "x"),
        sha256=certificate.fingerprint(hashes.SHA256()).hex(),
        claimed_signing_time=claimed_signing_time,
    )


def _report(
    signature: EmbeddedPdfSignature,
    verdict: Verdict,
    status: PdfSignatureStatus | None,
) -> SignatureReport:
    indication, sub_indication = verdict
    message_en, message_zh = explain(indication, sub_indication)
    details = _details(signature)
    coverage = None if status is None else status.coverage
    modification_level = None if status is None else status.modification_level
    return SignatureReport(
        indication=indication,
        sub_indication=sub_indication,
        signer_subject=details.subject,
        signer_issuer=details.issuer,
        signer_serial=details.serial,
        signer_sha256=details.sha256,
        claimed_signing_time=details.claimed_signing_time,
        intact=status is not None and status.intact,
        crypto_valid=status is not None and status.valid,
        trusted=status is not None and status.trusted,
        coverage=None if coverage is None else coverage.name,
        modification_level=None if modification_level is None else modification_level.name,
        field_name=signature.field_name,
        message_en=message_en,
        message_zh=message_zh,
    )


async def _verify_signature(
    signature: EmbeddedPdfSignature, trust: TrustStore, timing: ValidationTimingInfo
) -> SignatureReport:
    at = timing.validation_time
    status: PdfSignatureStatus | None = None
    try:
        status = await async_validate_pdf_signature(
            signature, signer_validation_context=trust.validation_context(at)
        )
        ades = await ades_basic_validation(
            signature.signed_data,
            trust.validation_spec(),
            timing_info=timing,
            raw_digest=signature.compute_digest(),
        )
        # The AdES verdict comes first so that it names the problem when both fail alike.
        verdict = max(
            _ades_verdict(ades.ades_subindic, signature.signer_cert, at),
            _classic_verdict(status),
            key=lambda candidate: candidate[0].severity,
        )
    except SignatureValidationError as error:
        verdict = from_pyhanko(error.ades_subindication)
    except (ValueError, PdfError):
        # Malformed signature data (broken DER, bad dates, byte ranges off the file): the
        # signature does not conform to its format.
        logger.info("signature %r is malformed", signature.field_name, exc_info=True)
        verdict = Indication.TOTAL_FAILED, SubIndication.FORMAT_FAILURE
    except Exception:
        # Hostile input can break a parser in ways nobody listed; the opening must still
        # get a report for this bid, and the log keeps the details.
        logger.exception("signature %r could not be validated", signature.field_name)
        verdict = Indication.INDETERMINATE, SubIndication.GENERIC
    return _report(signature, verdict, status)


def _document(
    indication: Indication,
    sub_indication: SubIndication | None,
    at: datetime,
    message: tuple[str, str] | None = None,
) -> DocumentReport:
    message_en, message_zh = message or explain(indication, sub_indication)
    return DocumentReport(
        indication=indication,
        sub_indication=sub_indication,
        signatures=(),
        message_en=message_en,
        message_zh=message_zh,
        validated_at=at,
    )


async def async_verify_document(
    content: BinaryIO,
    *,
    trust: TrustStore,
    at: datetime,
    detached_signature: BinaryIO | None = None,
) -> DocumentReport:
    """Verify every signature in a PAdES-signed PDF as of ``at``.

    ``content`` must be a seekable binary file; it is read in place, not loaded whole.
    ``at`` (timezone-aware) is the point in time to validate at, normally the submission
    time: a certificate that expired after ``at`` still passes, one that expired before
    does not. A signature is TOTAL_PASSED only if both the ETSI basic validation and
    pyHanko's modification analysis pass (see the module documentation); the document's
    verdict is its worst signature's.

    Any content, however broken, gets a report: unreadable input is TOTAL_FAILED /
    FORMAT_FAILURE, a PDF without signatures TOTAL_FAILED / NO_SIGNATURE_FOUND.

    ``detached_signature`` is reserved for detached CAdES (a ``.p7s`` over ``content``);
    this version answers INDETERMINATE / FORMAT_FAILURE for it, saying it is not supported
    yet.

    :raises ValueError: if ``at`` is naive.
    """
    timing = point_in_time(at)
    at = timing.validation_time
    if detached_signature is not None:
        return _document(
            Indication.INDETERMINATE, SubIndication.FORMAT_FAILURE, at, DETACHED_NOT_SUPPORTED
        )
    try:
        signatures = PdfFileReader(content).embedded_regular_signatures
    except Exception:
        # Whatever the reason a file cannot be read as a PDF with signature fields, the
        # answer for the supplier is the same.
        logger.info("not a readable PDF", exc_info=True)
        return _document(Indication.TOTAL_FAILED, SubIndication.FORMAT_FAILURE, at)
    if not signatures:
        return _document(Indication.TOTAL_FAILED, SubIndication.NO_SIGNATURE_FOUND, at)
    reports = tuple([await _verify_signature(signature, trust, timing) for signature in signatures])
    worst = max(reports, key=lambda report: report.indication.severity)
    return DocumentReport(
        indication=worst.indication,
        sub_indication=worst.sub_indication,
        signatures=reports,
        message_en=worst.message_en,
        message_zh=worst.message_zh,
        validated_at=at,
    )


def verify_document(
    content: BinaryIO,
    *,
    trust: TrustStore,
    at: datetime,
    detached_signature: BinaryIO | None = None,
) -> DocumentReport:
    """Synchronous :func:`async_verify_document`, for command-line tools and tests.

    It runs its own event loop, so do not call it from async code (the server uses
    :func:`async_verify_document`).
    """
    return asyncio.run(
        async_verify_document(content, trust=trust, at=at, detached_signature=detached_signature)
    )
