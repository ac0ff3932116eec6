"""PAdES: the signatures inside a PDF, validated as of a point in time.

Every signature gets two independent looks, and passes only if both pass:

1. ETSI EN 319 102-1 basic signature validation (clause 5.3, pyHanko's
   :func:`~pyhanko.sign.validation.ades.ades_basic_validation`) with the validation time set
   to ``at``. It checks integrity, the signature value and the certificate chain as of
   ``at``, and names what failed with an ETSI sub-indication.
2. pyHanko's classic PDF status (:attr:`PdfSignatureStatus.bottom_line`) with the difference
   analysis on incremental updates made *after* signing; the AdES process does not look at
   those. Tender is stricter than pyHanko's default policy here: after a signature, only
   signature fields and validation data (DSS, document time-stamps) may be added; filling
   any other form field counts as a modification.

Why basic validation and not "validation with time" (clause 5.5)? pyHanko's with-time
process requires a signature time-stamp and answers INDETERMINATE/SIG_CONSTRAINTS_FAILURE
for every signature without one, however valid. The platform's receipt proves that the
signature existed at ``at``, so validating the chain at ``at`` is the point-in-time check.

The two looks share their work: pyHanko's two entry points
(:func:`~pyhanko.sign.validation.async_validate_pdf_signature` and
:func:`~pyhanko.sign.validation.ades.ades_basic_validation`) would each verify the signature
value and build and validate the certificate path (revocation included), so instead the
path is validated once (:func:`~pyhanko.sign.validation.generic_cms.cms_basic_validation`,
which both call) and each look is finished from it as its entry point would: the classic
status with the time-stamp, seed values and the difference analysis of step 2 (and
pyHanko's stricter default key usage for PDF signers, non-repudiation, checked on the
path found), the AdES process with what :mod:`pyhanko.sign.validation.ades` does after the
path (content time-stamps for a revoked or expired signer). Every cryptographic
verification is made once per document (:class:`~tender.signing.stages.OnceSignatureValidator`)
and the PDF is parsed once; the report also carries the signed revision's length, so
nobody needs to parse it again for that (:func:`signed_revision_length`).

The checks run in stages (:mod:`tender.signing.stages`): integrity first, then the
difference analysis, the certificate path with the classic status (path, time-stamp, seed
values) and the AdES process, each on its own, so that a stage that cannot finish never
takes away what an earlier one established; the report names it (``unfinished_stage``).

PDFs are read the way their signers' tools write them: strictly first, and if pyHanko's
strict reader refuses the file (faults every viewer tolerates, such as an object whose
generation number does not match its cross-reference entry) or it uses hybrid
cross-reference sections, leniently (``PdfFileReader(strict=False)``), which the report
says (``lenient_parsing``). An encrypted PDF that opens without a password is opened with
the empty password and validated as any other.

The document as a whole is refused, whatever its signatures say, if it needs a password to
open, if it declares a filled signature field pyHanko cannot read (pyHanko skips those
silently), or if bytes that are not a PDF update follow its last ``%%EOF``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, BinaryIO

from asn1crypto import x509
from pyhanko.pdf_utils.crypt import AuthStatus, StandardSecurityHandler
from pyhanko.pdf_utils.misc import PdfError, PdfStrictReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate, AdESSubIndic
from pyhanko.sign.diff_analysis import DiffResult, ModificationLevel, SuspiciousModification
from pyhanko.sign.fields import SigSeedSubFilter, enumerate_sig_fields
from pyhanko.sign.validation import EmbeddedPdfSignature
from pyhanko.sign.validation import ades as pyhanko_ades
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.generic_cms import (
    cms_basic_validation,
    collect_signer_attr_status,
    collect_timing_info,
)
from pyhanko.sign.validation.pdf_embedded import report_seed_value_validation
from pyhanko.sign.validation.status import (
    PdfSignatureStatus,
    SignatureCoverageLevel,
    StandardCMSSignatureStatus,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import InvalidCertificateError
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo

from tender.signing.certificates import SignerBinding
from tender.signing.messages import (
    APPENDED_BYTES,
    ENCRYPTED,
    UNREADABLE_SIGNATURE,
    Sentence,
    unfinished,
)
from tender.signing.report import Indication, SignatureReport, Stage, SubIndication
from tender.signing.revocation import (
    AllowListFetcherBackend,
    RevocationData,
    evidence_for,
    read_dss,
)
from tender.signing.stages import (
    OnceSignatureValidator,
    integrity,
    revocation_unreachable,
    stage_of,
)
from tender.signing.trust import SIGNING_KEY_USAGE, TrustStore
from tender.signing.verdicts import (
    PASSED,
    DocumentVerdict,
    Findings,
    Outcome,
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
_UNFINISHED: Verdict = (Indication.INDETERMINATE, SubIndication.GENERIC)

# Updates that add nothing a reader of the document sees.
_HARMLESS_LEVELS = frozenset({ModificationLevel.NONE, ModificationLevel.LTA_UPDATES})

# What pyHanko's classic PDF validation accepts (async_validate_pdf_signature).
_CLASSIC_SUBFILTERS = (
    SigSeedSubFilter.ADOBE_PKCS7_DETACHED,
    SigSeedSubFilter.PADES,
    SigSeedSubFilter.PBAD_PADES,
)

# PDF white-space characters (ISO 32000-1, table 1); writers may end a file with any.
_PDF_WHITESPACE = b"\x00\t\n\x0c\r "
_TAIL_BYTES = 1024


class _StrictReadingRefusedError(Exception):
    """The strict reader refused part of the file after it was opened: read it again
    leniently, from the start."""


def _strict_refusal(error: BaseException, reader: PdfFileReader) -> None:
    # pyHanko reads objects lazily, so the strict reader may refuse an object long after
    # the file was opened; the whole document is then read again, leniently.
    if reader.strict and isinstance(error, PdfStrictReadError):
        raise _StrictReadingRefusedError from error


@dataclass(frozen=True)
class _Opened:
    reader: PdfFileReader
    lenient: bool
    encrypted: bool
    needs_password: bool


def _open(content: BinaryIO, *, strict: bool) -> _Opened:
    """Read ``content`` as a PDF, opening an encrypted one with the empty password if it
    can be; raises whatever pyHanko raises if the file cannot be read at all."""
    content.seek(0)
    reader = PdfFileReader(content, strict=strict)
    if strict and reader.xrefs.hybrid_xrefs_present:
        # pyHanko refuses to validate signatures in hybrid-reference files in strict mode
        # (MS Word writes them); viewers read them, and so does the lenient reader.
        raise _StrictReadingRefusedError
    if not reader.encrypted:
        return _Opened(reader, not strict, encrypted=False, needs_password=False)
    handler = reader.security_handler
    opened = (
        isinstance(handler, StandardSecurityHandler)
        and reader.decrypt(b"").status is not AuthStatus.FAILED
    )
    return _Opened(reader, not strict, encrypted=True, needs_password=not opened)


def _modification_level(
    coverage: SignatureCoverageLevel | None, diff: DiffResult | SuspiciousModification | None
) -> ModificationLevel | None:
    # As PdfSignatureStatus.modification_level: from the difference analysis if it ran, else
    # from the coverage alone.
    if isinstance(diff, DiffResult):
        return diff.modification_level
    if diff is not None:
        return ModificationLevel.OTHER
    if coverage is SignatureCoverageLevel.ENTIRE_REVISION:
        return None
    if coverage is SignatureCoverageLevel.ENTIRE_FILE:
        return ModificationLevel.NONE
    return ModificationLevel.OTHER


def _modification_verdict(
    level: ModificationLevel | None,
    diff: DiffResult | SuspiciousModification | None,
    docmdp_ok: bool | None,
    signature_fields: set[str],
) -> Verdict:
    if docmdp_ok is False:
        return _MODIFIED
    if level is None or level in _HARMLESS_LEVELS:
        return PASSED
    # FORM_FILLING covers a later signature (what co-signing does) but also any other
    # field filled in after signing, which could change what was offered.
    if (
        level is ModificationLevel.FORM_FILLING
        and isinstance(diff, DiffResult)
        and diff.changed_form_fields <= signature_fields
    ):
        return PASSED
    return _MODIFIED


def _classic_verdict(
    status: PdfSignatureStatus, signer: x509.Certificate | None, at: datetime, *, alone: bool
) -> Verdict:
    if status.bottom_line:
        return PASSED
    if alone and not status.trusted and status.trust_problem_indic is not None:
        # The AdES process, which names chain problems, could not finish: name it as it
        # would have.
        return ades_verdict(status.trust_problem_indic, signer, at)
    # Integrity, signature value and trust failures are named more precisely by the AdES
    # verdict, which wins ties; what is left here is a bad time-stamp, a seed-value breach
    # or a key usage that does not allow signing.
    return Indication.INDETERMINATE, SubIndication.SIG_CONSTRAINTS_FAILURE


def _ends_at_eof(content: BinaryIO) -> bool:
    # pyHanko reads a file from its last %%EOF backwards and ignores whatever follows it;
    # such bytes are signed by nobody, so they must not be there at all.
    size = content.seek(0, 2)
    content.seek(max(0, size - _TAIL_BYTES))
    return content.read(_TAIL_BYTES).rstrip(_PDF_WHITESPACE).endswith(b"%%EOF")


def _signer_certificate(signature: EmbeddedPdfSignature) -> x509.Certificate | None:
    # Hostile input can break any of these lookups; a report without the detail is still
    # a report.
    try:
        return signature.signer_cert
    except (ValueError, PdfError):
        return None


def _malformed_claimed_time(signature: EmbeddedPdfSignature) -> bool:
    try:
        signature.self_reported_timestamp  # noqa: B018 - read for its parsing side effect
    except (ValueError, PdfError):
        return True
    return False


# What the certificate-path stage found (pyHanko's status keyword arguments: intact, valid,
# signing_cert, trust_problem_indic, validation_path, revocation_details, ...).
_PathFindings = dict[str, Any]


async def _validate_path(
    signature: EmbeddedPdfSignature, digest: bytes, context: ValidationContext
) -> _PathFindings:
    """The signature value and the signer's certificate path as of the context's time, with
    the platform's key usage: the step both of pyHanko's PDF entry points take, taken once."""
    findings: _PathFindings = await cms_basic_validation(
        signature.signed_data,
        raw_digest=digest,
        validation_context=context,
        key_usage_settings=SIGNING_KEY_USAGE,
    )
    return findings


async def _classic_inputs(
    signature: EmbeddedPdfSignature,
    integrity_summary: dict[str, Any] | None,
    context: ValidationContext,
) -> dict[str, Any]:
    """What the classic status knows before the path: as
    :func:`~pyhanko.sign.validation.async_validate_pdf_signature` collects it (a /SubFilter
    it validates, coverage and differences, the time-stamps, the claimed signing time)."""
    subfilter = signature.sig_object.get("/SubFilter")
    try:
        subfilter_known = SigSeedSubFilter(subfilter) in _CLASSIC_SUBFILTERS
    except ValueError:
        subfilter_known = False
    if not subfilter_known:
        raise SignatureValidationError(f"{subfilter} is not a recognized SubFilter type")
    if integrity_summary is None:
        # The difference analysis did not finish: the coverage alone, as pyHanko has it
        # without that analysis.
        signature.compute_integrity_info(skip_diff=True)  # type: ignore[no-untyped-call]
        integrity_summary = signature.summarise_integrity_info()
    inputs = dict(integrity_summary)
    inputs.update(
        await collect_timing_info(
            signature.signer_info, context, raw_digest=signature.compute_digest
        )
    )
    if "signer_reported_dt" not in inputs:
        reported = signature.self_reported_timestamp
        if reported is not None:
            inputs["signer_reported_dt"] = reported
    return inputs


def _classic_path(path: _PathFindings) -> _PathFindings:
    """The path findings as pyHanko's classic PDF validation would have made them: it asks
    the signer's certificate for non-repudiation (the AdES process, for digital signature
    or non-repudiation), after the same path search, and reports a refusal without a
    path."""
    validation_path = path["validation_path"]
    if path["trust_problem_indic"] is not None or validation_path is None:
        return path
    if validation_path.pkix_len == 0:
        return path  # the signer is itself a trust anchor: pyHanko asks nothing of it
    try:
        # pyHanko's default for PDF signers, where the AdES process applies the platform's
        # (SIGNING_KEY_USAGE).
        PdfSignatureStatus.default_usage_constraints().validate(path["signing_cert"])
    except InvalidCertificateError:
        logger.info("the signer's key usage does not allow non-repudiation", exc_info=True)
        return path | {
            "trust_problem_indic": AdESIndeterminate.CHAIN_CONSTRAINTS_FAILURE,
            "validation_path": None,
            "revocation_details": None,
            "error_time_horizon": None,
        }
    return path


async def _classic_status(
    signature: EmbeddedPdfSignature, inputs: dict[str, Any], path: _PathFindings
) -> PdfSignatureStatus:
    """pyHanko's classic status of ``signature``, as
    :func:`~pyhanko.sign.validation.async_validate_pdf_signature` assembles it, from what
    the earlier stages found."""
    status_kwargs = inputs | _classic_path(path)
    timestamp = status_kwargs.get("timestamp_validity")
    timestamp_found = timestamp is not None and timestamp.valid and timestamp.trusted
    status_kwargs.update(
        report_seed_value_validation(signature, status_kwargs["validation_path"], timestamp_found)
    )
    status_kwargs.update(
        await collect_signer_attr_status(
            sd_attr_certificates=signature.embedded_attr_certs,
            signer_cert=signature.signer_cert,
            validation_context=None,
            sd_signed_attrs=signature.signer_info["signed_attrs"],
        )
    )
    return PdfSignatureStatus(**status_kwargs)


async def _ades_indication(
    signature: EmbeddedPdfSignature, path: _PathFindings, context: ValidationContext
) -> tuple[AdESSubIndic, bool]:
    """The sub-indication of ETSI EN 319 102-1 basic validation, and whether it found the
    signer trusted, as :func:`~pyhanko.sign.validation.ades.ades_basic_validation` derives
    them from the path findings (with the same context for time-stamps)."""
    status = StandardCMSSignatureStatus(**path)
    if not status.intact:
        return AdESFailure.HASH_FAILURE, status.trusted
    if not status.valid:
        return AdESFailure.SIG_CRYPTO_FAILURE, status.trusted
    # pyHanko's own next step (a private function, pinned by tests against the public
    # ades_basic_validation): content time-stamps for a revoked or expired signer, and the
    # signer's attributes.
    result = await pyhanko_ades._process_basic_validation(
        signature.signed_data,
        status,
        context,
        ac_validation_context=None,
        signature_not_before_time=None,
        ts_qualification_requirements=None,
    )
    sub_indication: AdESSubIndic = result.ades_subindic
    return sub_indication, status.trusted


@dataclass
class _Stages:
    """What the stages of one signature's validation found so far."""

    signature: EmbeddedPdfSignature
    signer: x509.Certificate | None
    verdicts: list[tuple[Verdict, Sentence | None]]
    intact: bool = False
    crypto_valid: bool = False
    trusted: bool = False
    coverage: SignatureCoverageLevel | None = None
    modification_level: ModificationLevel | None = None
    status: PdfSignatureStatus | None = None
    unfinished_stage: Stage | None = None

    def add(self, verdict: Verdict) -> None:
        self.verdicts.append((verdict, None))

    def could_not_finish(self, stage: Stage, error: BaseException) -> None:
        """``stage`` raised ``error``: the signature cannot pass, and the report says why."""
        _strict_refusal(error, self.signature.reader)
        logger.warning(
            "signature %r: the %s stage could not finish",
            self.signature.field_name,
            stage.value,
            exc_info=error,
        )
        if self.unfinished_stage is None:
            self.unfinished_stage = stage
            established = self.intact and self.crypto_valid
            self.verdicts.append((_UNFINISHED, unfinished(stage, established=established)))


def _usable(context: ValidationContext | None, unusable: Exception | None) -> ValidationContext:
    """The validation context, or the error that kept it from being made."""
    if context is None:
        raise unusable or RuntimeError("no validation context")
    return context


def _classic_failure(stages: _Stages, error: Exception) -> Verdict | None:
    """The classic status could not be had because of ``error``: its verdict, if the error
    names one (None, and the stage recorded as unfinished, if not)."""
    signature = stages.signature
    if isinstance(error, SignatureValidationError):
        return from_pyhanko(error.ades_subindication)
    if isinstance(error, ValueError | PdfError) and _malformed_claimed_time(signature):
        _strict_refusal(error, signature.reader)
        logger.info("signature %r has a malformed /M", signature.field_name, exc_info=True)
        return _FORMAT_FAILURE
    stages.could_not_finish(stage_of(error, Stage.CERTIFICATE_PATH), error)
    return None


async def _findings(
    signature: EmbeddedPdfSignature,
    trust: TrustStore,
    timing: ValidationTimingInfo,
    signature_fields: set[str],
    embedded: RevocationData,
    fetcher: AllowListFetcherBackend | None,
    validator: OnceSignatureValidator,
) -> Findings:
    at = timing.validation_time
    stages = _Stages(signature, _signer_certificate(signature), [])
    # 1. Integrity: the signed bytes and the signature value, nothing about trust.
    try:
        digest = signature.compute_digest()
        stages.coverage = signature.evaluate_signature_coverage()
        stages.intact, stages.crypto_valid = integrity(
            signature.signed_data, digest, stages.signer, validator
        )
    except SignatureValidationError as error:
        return _describe(stages, from_pyhanko(error.ades_subindication), trust, embedded, fetcher)
    except (ValueError, TypeError, KeyError, PdfError) as error:
        # Malformed signature data (broken DER, bad dates, byte ranges off the file): the
        # signature does not conform to its format.
        _strict_refusal(error, signature.reader)
        logger.info("signature %r is malformed", signature.field_name, exc_info=True)
        return _describe(stages, _FORMAT_FAILURE, trust, embedded, fetcher)
    except Exception as error:
        # Hostile input can break a parser in ways nobody listed; the opening must still
        # get a report for this bid, and the log keeps the details.
        stages.could_not_finish(Stage.INTEGRITY, error)
        return _describe(stages, None, trust, embedded, fetcher)
    if not stages.intact:
        return _describe(
            stages, (Indication.TOTAL_FAILED, SubIndication.HASH_FAILURE), trust, embedded, fetcher
        )
    if not stages.crypto_valid:
        verdict = (Indication.TOTAL_FAILED, SubIndication.SIG_CRYPTO_FAILURE)
        return _describe(stages, verdict, trust, embedded, fetcher)

    ades: Verdict | None = None
    modification: Verdict | None = None
    classic: Verdict | None = None
    # 2. What changed after signing.
    summary: dict[str, Any] | None = None
    try:
        signature.compute_integrity_info()  # type: ignore[no-untyped-call]
        summary = signature.summarise_integrity_info()
        diff = summary["diff_result"]
        stages.modification_level = _modification_level(stages.coverage, diff)
        modification = _modification_verdict(
            stages.modification_level, diff, summary["docmdp_ok"], signature_fields
        )
    except Exception as error:
        summary = None
        stages.could_not_finish(Stage.MODIFICATION_ANALYSIS, error)
    # 3. The certificate path, validated once for both looks, and pyHanko's classic status
    # around it: time-stamp, seed values (the differences are judged above, once). The
    # classic status reads the signing time the signer claims, which must at least be
    # readable. One context for all of it, as the classic status has (time-stamps included).
    context: ValidationContext | None = None
    unusable: Exception | None = None
    try:
        context = trust.validation_context(at, embedded, fetcher, signature_validator=validator)
    except Exception as error:
        unusable = error  # both looks fail on it, each in its own stage
    classic_inputs: dict[str, Any] | None = None
    try:
        signature.self_reported_timestamp  # noqa: B018 - read for its parsing side effect
        classic_inputs = await _classic_inputs(signature, summary, _usable(context, unusable))
    except Exception as error:
        classic = _classic_failure(stages, error)
    path: _PathFindings | None = None
    try:
        path = await _validate_path(signature, digest, _usable(context, unusable))
    except SignatureValidationError as error:
        # Each look names it as it would have: the AdES process as its result, the classic
        # status (if it got this far) as its error.
        ades = ades_verdict(error.ades_subindication, stages.signer, at)
        if classic_inputs is not None:
            classic = from_pyhanko(error.ades_subindication)
    except Exception as error:
        # The stage of the first look that needed the path.
        needed_by = Stage.CERTIFICATE_PATH if classic_inputs is not None else Stage.ADES
        stages.could_not_finish(stage_of(error, needed_by), error)
    if classic_inputs is not None and path is not None:
        try:
            stages.status = await _classic_status(signature, classic_inputs, path)
            stages.trusted = stages.status.trusted
        except Exception as error:
            classic = _classic_failure(stages, error)
    # 4. The ETSI process, from the same path.
    if context is not None and path is not None:
        try:
            sub_indication, ades_trusted = await _ades_indication(signature, path, context)
            ades = ades_verdict(sub_indication, stages.signer, at)
            if stages.status is None:
                stages.trusted = ades_trusted
        except SignatureValidationError as error:
            ades = from_pyhanko(error.ades_subindication)
        except Exception as error:
            stages.could_not_finish(stage_of(error, Stage.ADES), error)
    if stages.status is not None:
        classic = _classic_verdict(stages.status, stages.signer, at, alone=ades is None)
    # The AdES verdict comes first so that it names the problem when both fail alike; an
    # unfinished stage (added as it happened) comes last, so any named problem wins.
    named = [verdict for verdict in (ades, modification, classic) if verdict is not None]
    stages.verdicts[:0] = [(verdict, None) for verdict in named]
    return _describe(stages, None, trust, embedded, fetcher)


def _describe(
    stages: _Stages,
    verdict: Verdict | None,
    trust: TrustStore,
    embedded: RevocationData,
    fetcher: AllowListFetcherBackend | None,
) -> Findings:
    signature, status = stages.signature, stages.status
    if verdict is not None:
        stages.verdicts.insert(0, (verdict, None))
    final = worst(verdict for verdict, _ in stages.verdicts)
    message = next(message for verdict, message in stages.verdicts if verdict == final)
    try:
        claimed_signing_time: datetime | None = signature.self_reported_timestamp
    except (ValueError, PdfError):
        claimed_signing_time = None
    sources = [trust.revocation, embedded] + ([] if fetcher is None else [fetcher.fetched()])
    revocation = evidence_for(stages.signer, sources)
    unfinished_stage = stages.unfinished_stage
    if (
        unfinished_stage is None
        and not revocation
        and stages.intact
        and revocation_unreachable(stages.signer, fetcher)
    ):
        # Soft fail: the responder did not answer, the verdict stands, the report says so.
        unfinished_stage = Stage.REVOCATION
    level = stages.modification_level
    return Findings(
        final,
        certificate_info(stages.signer),
        claimed_signing_time,
        timestamp=None if status is None else status.timestamp_validity,
        intact=stages.intact,
        crypto_valid=stages.crypto_valid,
        trusted=stages.trusted,
        coverage=None if stages.coverage is None else stages.coverage.name,
        modification_level=None if level is None else level.name,
        field_name=signature.field_name,
        revocation=revocation,
        message=message,
        unfinished_stage=unfinished_stage,
    )


def _outcome(
    opened: _Opened, signatures: tuple[SignatureReport, ...], verdict: DocumentVerdict | None
) -> Outcome:
    return Outcome(
        signatures,
        verdict,
        lenient_parsing=opened.lenient,
        encrypted=opened.encrypted,
        decrypted=opened.encrypted and not opened.needs_password,
    )


async def _verify(
    content: BinaryIO,
    trust: TrustStore,
    timing: ValidationTimingInfo,
    binding: SignerBinding | None,
    fetcher: AllowListFetcherBackend | None,
    *,
    strict: bool,
) -> Outcome:
    try:
        opened = _open(content, strict=strict)
    except _StrictReadingRefusedError:
        raise
    except Exception as error:
        if strict:
            raise _StrictReadingRefusedError from error
        # Whatever the reason a file cannot be read as a PDF, the answer for the supplier
        # is the same.
        logger.info("not a readable PDF", exc_info=True)
        return Outcome((), DocumentVerdict(_FORMAT_FAILURE))
    if opened.needs_password:
        return _outcome(opened, (), DocumentVerdict(_FORMAT_FAILURE, ENCRYPTED))
    reader = opened.reader
    try:
        signatures = reader.embedded_signatures
        declared = sum(1 for _ in enumerate_sig_fields(reader, filled_status=True))
        ends_at_eof = _ends_at_eof(content)
    except Exception as error:
        _strict_refusal(error, reader)
        logger.info("not a PDF with readable signature fields", exc_info=True)
        return _outcome(opened, (), DocumentVerdict(_FORMAT_FAILURE))
    try:
        embedded = read_dss(reader)
    except Exception as error:
        # Validation data the signer added is a help, not a requirement: without it the
        # signatures are judged on the trust store's evidence.
        _strict_refusal(error, reader)
        logger.info("the PDF's document security store is unreadable", exc_info=True)
        embedded = RevocationData("embedded")
    document_verdict = None
    if declared > len(signatures):
        document_verdict = DocumentVerdict(_FORMAT_FAILURE, UNREADABLE_SIGNATURE)
    elif not ends_at_eof:
        document_verdict = DocumentVerdict(_MODIFIED, APPENDED_BYTES)
    regular = [signature for signature in signatures if signature.sig_object_type == "/Sig"]
    if not regular:
        return _outcome(
            opened,
            (),
            document_verdict
            or DocumentVerdict((Indication.TOTAL_FAILED, SubIndication.NO_SIGNATURE_FOUND)),
        )
    signature_fields = {signature.field_name for signature in signatures}
    at = timing.validation_time
    # One per document: a verification shared by two stages, or by two signatures (a chain
    # both co-signers have), is made once.
    validator = OnceSignatureValidator()
    findings = [
        await _findings(each, trust, timing, signature_fields, embedded, fetcher, validator)
        for each in regular
    ]
    reports = tuple(signature_report(found, at, binding) for found in findings)
    outcome = _outcome(opened, reports, document_verdict)
    return replace(outcome, signed_revision_length=_signed_length(regular))


async def verify_pdf(
    content: BinaryIO,
    trust: TrustStore,
    timing: ValidationTimingInfo,
    binding: SignerBinding | None,
    fetcher: AllowListFetcherBackend | None = None,
) -> Outcome:
    """Validate every signature of the PDF in ``content`` (seekable), as of ``timing``.

    Revocation evidence is the trust store's, the PDF's DSS, and what ``fetcher`` (see
    :meth:`TrustStore.fetcher`) fetches. Returns the reports on the signatures pyHanko
    could read, a verdict on the whole document if there is one (see the module
    documentation), and whether the file had to be read leniently or was encrypted.
    """
    try:
        return await _verify(content, trust, timing, binding, fetcher, strict=True)
    except _StrictReadingRefusedError:
        logger.info("the strict PDF reader refused the file; reading it leniently", exc_info=True)
        return await _verify(content, trust, timing, binding, fetcher, strict=False)


def signed_revision_length(content: BinaryIO) -> int | None:
    """How many bytes from the start of ``content`` (a seekable PDF) the last signature
    covers: the revision it signed. Evaluators read exactly these bytes, never what was
    appended after the signature.

    None if the PDF has no signature pyHanko can read, or is not a readable PDF at all.
    Document time-stamps do not count: they sign nothing the supplier wrote. The PDF is
    read as :func:`verify_pdf` reads it (leniently if it must, decrypted if it opens
    without a password).

    This parses the PDF: after :func:`~tender.signing.verify_document`, read the report's
    :attr:`~tender.signing.DocumentReport.signed_revision_length` instead, found in the
    same parse.
    """
    for strict in (True, False):
        try:
            opened = _open(content, strict=strict)
            if opened.needs_password:
                return None
            signatures = opened.reader.embedded_regular_signatures
            if not signatures:
                return None
            # The last /ByteRange pair ends where the signed revision ends.
            _, _, start, length = signatures[-1].byte_range
            return int(start) + int(length)
        except Exception:
            logger.info("no signed revision found (strict reading: %s)", strict, exc_info=True)
    return None


def _signed_length(signatures: Sequence[EmbeddedPdfSignature]) -> int | None:
    """:func:`signed_revision_length` of a document whose signatures (``/Sig``, in signing
    order) were read already; None if there are none, or the last one's /ByteRange is not
    four numbers."""
    if not signatures:
        return None
    try:
        # The last /ByteRange pair ends where the signed revision ends.
        _, _, start, length = signatures[-1].byte_range
        return int(start) + int(length)
    except Exception:
        logger.info("no signed revision found", exc_info=True)
        return None
