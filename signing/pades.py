"""PAdES: the signatures inside a PDF, validated as of a point in time.

Every signature gets two independent looks, and passes only if both pass:

1. ETSI EN 319 102-1 basic signature validation (clause 5.3, pyHanko's
   :func:`~pyhanko.sign.validation.ades.ades_basic_validation`) with the validation time set
   to ``at``. It checks integrity, the signature value and the certificate chain as of
   ``at``, and names what failed with an ETSI sub-indication.
2. pyHanko's classic PDF status (:attr:`PdfSignatureStatus.bottom_line`), which also runs
   the difference analysis on incremental updates made *after* signing; the AdES process
   does not look at those. Tender is stricter than pyHanko's default policy here: after a
   signature, only signature fields and validation data (DSS, document time-stamps) may be
   added; filling any other form field counts as a modification.

Why basic validation and not "validation with time" (clause 5.5)? pyHanko's with-time
process requires a signature time-stamp and answers INDETERMINATE/SIG_CONSTRAINTS_FAILURE
for every signature without one, however valid. The platform's receipt proves that the
signature existed at ``at``, so validating the chain at ``at`` is the point-in-time check.

The document as a whole is refused, whatever its signatures say, if it is encrypted, if it
declares a filled signature field pyHanko cannot read (pyHanko skips those silently), or if
bytes that are not a PDF update follow its last ``%%EOF``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import BinaryIO

from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import DiffResult, ModificationLevel
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import EmbeddedPdfSignature, async_validate_pdf_signature
from pyhanko.sign.validation.ades import ades_basic_validation
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo

from tender.signing.certificates import SignerBinding
from tender.signing.messages import APPENDED_BYTES, ENCRYPTED, UNREADABLE_SIGNATURE
from tender.signing.report import Indication, SignatureReport, SubIndication
from tender.signing.revocation import (
    AllowListFetcherBackend,
    RevocationData,
    evidence_for,
    read_dss,
)
from tender.signing.trust import TrustStore
from tender.signing.verdicts import (
    PASSED,
    DocumentVerdict,
    Findings,
    Verdict,
    ades_verdict,
    certificate_info,
    from_pyhanko,
    signature_report,
    worst,
)

__all__ = ["signed_revision_length", "verify_pdf"]

logger = logging.getLogger(__name__)

_FORMAT_FAILURE: Verdict = (Indication.TOTAL_FAILED, SubIndication.FORMAT_FAILURE)
_MODIFIED: Verdict = (Indication.TOTAL_FAILED, SubIndication.MODIFIED_AFTER_SIGNING)

# Updates that add nothing a reader of the document sees.
_HARMLESS_LEVELS = frozenset({ModificationLevel.NONE, ModificationLevel.LTA_UPDATES})

# PDF white-space characters (ISO 32000-1, table 1); writers may end a file with any.
_PDF_WHITESPACE = b"\x00\t\n\x0c\r "
_TAIL_BYTES = 1024


def _only_signatures_added(status: PdfSignatureStatus, signature_fields: set[str]) -> bool:
    level = status.modification_level
    if level is None or level in _HARMLESS_LEVELS:
        return True
    diff = status.diff_result
    # FORM_FILLING covers a later signature (what co-signing does) but also any other
    # field filled in after signing, which could change what was offered.
    return (
        level is ModificationLevel.FORM_FILLING
        and isinstance(diff, DiffResult)
        and diff.changed_form_fields <= signature_fields
    )


def _classic_verdict(status: PdfSignatureStatus, signature_fields: set[str]) -> Verdict:
    if status.docmdp_ok is False or not _only_signatures_added(status, signature_fields):
        return _MODIFIED
    if status.bottom_line:
        return PASSED
    # Integrity, signature value and trust failures are named more precisely by the AdES
    # verdict, which wins ties; what is left here is a bad time-stamp or seed-value breach.
    return Indication.INDETERMINATE, SubIndication.SIG_CONSTRAINTS_FAILURE


def _ends_at_eof(content: BinaryIO) -> bool:
    # pyHanko reads a file from its last %%EOF backwards and ignores whatever follows it;
    # such bytes are signed by nobody, so they must not be there at all.
    size = content.seek(0, 2)
    content.seek(max(0, size - _TAIL_BYTES))
    return content.read(_TAIL_BYTES).rstrip(_PDF_WHITESPACE).endswith(b"%%EOF")


async def _findings(
    signature: EmbeddedPdfSignature,
    trust: TrustStore,
    timing: ValidationTimingInfo,
    signature_fields: set[str],
    embedded: RevocationData,
    fetcher: AllowListFetcherBackend | None,
) -> Findings:
    at = timing.validation_time
    status: PdfSignatureStatus | None = None
    try:
        status = await async_validate_pdf_signature(
            signature, signer_validation_context=trust.validation_context(at, embedded, fetcher)
        )
        ades = await ades_basic_validation(
            signature.signed_data,
            trust.validation_spec(embedded, fetcher),
            timing_info=timing,
            raw_digest=signature.compute_digest(),
        )
        # The AdES verdict comes first so that it names the problem when both fail alike.
        verdict = worst(
            [
                ades_verdict(ades.ades_subindic, signature.signer_cert, at),
                _classic_verdict(status, signature_fields),
            ]
        )
    except SignatureValidationError as error:
        verdict = from_pyhanko(error.ades_subindication)
    except (ValueError, PdfError):
        # Malformed signature data (broken DER, bad dates, byte ranges off the file): the
        # signature does not conform to its format.
        logger.info("signature %r is malformed", signature.field_name, exc_info=True)
        verdict = _FORMAT_FAILURE
    except Exception:
        # Hostile input can break a parser in ways nobody listed; the opening must still
        # get a report for this bid, and the log keeps the details.
        logger.exception("signature %r could not be validated", signature.field_name)
        verdict = Indication.INDETERMINATE, SubIndication.GENERIC
    sources = [trust.revocation, embedded] + ([] if fetcher is None else [fetcher.fetched()])
    return _describe(signature, verdict, status, sources)


def _describe(
    signature: EmbeddedPdfSignature,
    verdict: Verdict,
    status: PdfSignatureStatus | None,
    revocation_sources: list[RevocationData],
) -> Findings:
    # Hostile input can break any of these lookups; a report without the detail is still
    # a report, so each part is read on its own and left empty if it cannot be read.
    try:
        claimed_signing_time: datetime | None = signature.self_reported_timestamp
    except (ValueError, PdfError):
        claimed_signing_time = None
    try:
        signer_certificate = signature.signer_cert
    except (ValueError, PdfError):
        signer_certificate = None
    signer = certificate_info(signer_certificate)
    revocation = evidence_for(signer_certificate, revocation_sources)
    if status is None:
        return Findings(
            verdict,
            signer,
            claimed_signing_time,
            field_name=signature.field_name,
            revocation=revocation,
        )
    return Findings(
        verdict,
        signer,
        claimed_signing_time,
        timestamp=status.timestamp_validity,
        intact=status.intact,
        crypto_valid=status.valid,
        trusted=status.trusted,
        coverage=None if status.coverage is None else status.coverage.name,
        modification_level=None
        if status.modification_level is None
        else status.modification_level.name,
        field_name=signature.field_name,
        revocation=revocation,
    )


async def verify_pdf(
    content: BinaryIO,
    trust: TrustStore,
    timing: ValidationTimingInfo,
    binding: SignerBinding | None,
    fetcher: AllowListFetcherBackend | None = None,
) -> tuple[tuple[SignatureReport, ...], DocumentVerdict | None]:
    """Validate every signature of the PDF in ``content`` (seekable), as of ``timing``.

    Revocation evidence is the trust store's, the PDF's DSS, and what ``fetcher`` (see
    :meth:`TrustStore.fetcher`) fetches. Returns the reports on the signatures pyHanko
    could read, and a verdict on the whole document if there is one (see the module
    documentation).
    """
    try:
        reader = PdfFileReader(content)
        if reader.encrypted:
            return (), DocumentVerdict(_FORMAT_FAILURE, ENCRYPTED)
        signatures = reader.embedded_signatures
        declared = sum(1 for _ in enumerate_sig_fields(reader, filled_status=True))
        ends_at_eof = _ends_at_eof(content)
        embedded = read_dss(reader)
    except Exception:
        # Whatever the reason a file cannot be read as a PDF with signature fields, the
        # answer for the supplier is the same.
        logger.info("not a readable PDF", exc_info=True)
        return (), DocumentVerdict(_FORMAT_FAILURE)
    document_verdict = None
    if declared > len(signatures):
        document_verdict = DocumentVerdict(_FORMAT_FAILURE, UNREADABLE_SIGNATURE)
    elif not ends_at_eof:
        document_verdict = DocumentVerdict(_MODIFIED, APPENDED_BYTES)
    regular = [signature for signature in signatures if signature.sig_object_type == "/Sig"]
    if not regular:
        return (), document_verdict or DocumentVerdict(
            (Indication.TOTAL_FAILED, SubIndication.NO_SIGNATURE_FOUND)
        )
    signature_fields = {signature.field_name for signature in signatures}
    at = timing.validation_time
    findings = [
        await _findings(each, trust, timing, signature_fields, embedded, fetcher)
        for each in regular
    ]
    reports = tuple(signature_report(found, at, binding) for found in findings)
    return reports, document_verdict


def signed_revision_length(content: BinaryIO) -> int | None:
    """How many bytes from the start of ``content`` (a seekable PDF) the last signature
    covers: the revision it signed. Evaluators read exactly these bytes, never what was
    appended after the signature.

    None if the PDF has no signature pyHanko can read, or is not a readable PDF at all.
    Document time-stamps do not count: they sign nothing the supplier wrote.
    """
    try:
        signatures = PdfFileReader(content).embedded_regular_signatures
        if not signatures:
            return None
        # The last /ByteRange pair ends where the signed revision ends.
        _, _, start, length = signatures[-1].byte_range
        return int(start) + int(length)
    except Exception:
        logger.info("no signed revision found", exc_info=True)
        return None
