"""Detached CAdES: a ``.p7s`` (CMS SignedData without content) over any file.

Each signer in the ``.p7s`` is validated on its own with ETSI EN 319 102-1 basic signature
validation as of ``at``, given the digest of the signed file. That is the same process
:func:`pyhanko.sign.validation.async_validate_detached_cms` runs inside, but fed with a
digest instead of the file, so one code path serves both callers: the opening, which has
the file, and the upload pre-check, which only knows the SHA-256 of a file sealed earlier
(from its receipt) and must not read it before the deadline. Unlike the PDF case there are
no incremental updates to analyse: the signed bytes are the whole file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import BinaryIO

from asn1crypto import cms
from cryptography.hazmat.primitives import hashes
from pyhanko.sign.general import extract_certificate_info
from pyhanko.sign.validation.ades import ades_basic_validation
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.generic_cms import collect_timing_info, extract_self_reported_ts
from pyhanko.sign.validation.status import TimestampSignatureStatus
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from tender.signing.certificates import SignerBinding
from tender.signing.messages import OPENING_DECIDES, SIGNED_DATA_MISSING, Sentence, unfinished
from tender.signing.report import Indication, Stage, SubIndication
from tender.signing.revocation import AllowListFetcherBackend, evidence_for
from tender.signing.stages import (
    OnceSignatureValidator,
    integrity,
    revocation_unreachable,
    stage_of,
)
from tender.signing.trust import TrustStore
from tender.signing.verdicts import (
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

__all__ = ["MAX_SIGNATURE_BYTES", "Digests", "content_digests", "known_digest", "verify_detached"]

logger = logging.getLogger(__name__)

MAX_SIGNATURE_BYTES = 16 * 1024 * 1024
"""A ``.p7s`` larger than this is refused unread: certificates and revocation data for a
few signers take kilobytes, so anything near this size is not a signature."""

_CHUNK_BYTES = 1024 * 1024
_FORMAT_FAILURE: Verdict = (Indication.TOTAL_FAILED, SubIndication.FORMAT_FAILURE)

Digests = Callable[[str], bytes]
"""The signed file's digest for a digest algorithm name (``"sha256"``), or KeyError."""


def content_digests(content: BinaryIO) -> Digests:
    """Digests of ``content`` (seekable), each computed once, when first asked for."""
    cache: dict[str, bytes] = {}

    def digest(algorithm: str) -> bytes:
        if algorithm not in cache:
            hasher = hashes.Hash(get_pyca_cryptography_hash(algorithm))
            content.seek(0)
            # Chunked: a bid file may be far larger than memory should hold.
            while chunk := content.read(_CHUNK_BYTES):
                hasher.update(chunk)
            cache[algorithm] = hasher.finalize()
        return cache[algorithm]

    return digest


def known_digest(sha256: bytes) -> Digests:
    """The digests of a file known only by its SHA-256: that one, and no other."""

    def digest(algorithm: str) -> bytes:
        if algorithm != "sha256":
            raise KeyError(algorithm)
        return sha256

    return digest


def _read_signed_data(detached_signature: BinaryIO) -> cms.SignedData:
    data = detached_signature.read(MAX_SIGNATURE_BYTES + 1)
    if len(data) > MAX_SIGNATURE_BYTES:
        raise ValueError(f"a .p7s of more than {MAX_SIGNATURE_BYTES} bytes")
    info = cms.ContentInfo.load(data)
    if info["content_type"].native != "signed_data":
        raise ValueError(f"CMS content type {info['content_type'].native}, not signed data")
    signed_data: cms.SignedData = info["content"]
    # asn1crypto parses lazily; touching every signer here makes broken DER fail here. On a
    # copy: what .native touches, asn1crypto counts as changed, and re-encodes whenever it
    # is dumped later — the signed attributes among them, whose bytes as signed are what
    # the signature value is verified over (and re-encoding them costs milliseconds each).
    for signer_info in signed_data["signer_infos"]:
        cms.SignerInfo.load(signer_info.dump()).native  # noqa: B018 - for its parsing side effect
    return signed_data


def _with_one_signer(signed_data: cms.SignedData, signer_info: cms.SignerInfo) -> cms.SignedData:
    """``signed_data`` with ``signer_info`` as its only signer: pyHanko validates SignedData
    with exactly one signer, so each is given in turn."""
    if len(signed_data["signer_infos"]) == 1:
        # Already so. A copy would be re-encoded whole (certificates included) whenever
        # pyHanko reads it, which costs several times the validation itself.
        return signed_data
    single = signed_data.copy()
    single["signer_infos"] = cms.SignerInfos([signer_info])
    return single


def _unfinished(stage: Stage, established: bool) -> tuple[Verdict, Sentence]:
    return (Indication.INDETERMINATE, SubIndication.GENERIC), unfinished(
        stage, established=established
    )


async def _findings(
    signed_data: cms.SignedData,
    digests: Digests | None,
    trust: TrustStore,
    timing: ValidationTimingInfo,
    fetcher: AllowListFetcherBackend | None,
    validator: OnceSignatureValidator,
) -> Findings:
    at = timing.validation_time
    signer_info = signed_data["signer_infos"][0]
    signer = None
    signer_certificate = None
    claimed_signing_time: datetime | None = None
    timestamp: TimestampSignatureStatus | None = None
    # 1. Integrity: the file's digest and the signature value, nothing about trust.
    try:
        signer_certificate = extract_certificate_info(signed_data).signer_cert
        signer = certificate_info(signer_certificate)
        claimed_signing_time = extract_self_reported_ts(signer_info)
        if digests is None:
            # The .p7s came alone: who signed is known, what they signed is not.
            return Findings(
                (Indication.INDETERMINATE, SubIndication.SIGNED_DATA_NOT_FOUND),
                signer,
                claimed_signing_time,
                message=SIGNED_DATA_MISSING,
            )
        algorithm = signer_info["digest_algorithm"]["algorithm"].native
        try:
            raw_digest = digests(algorithm)
        except KeyError:
            return Findings(
                (Indication.INDETERMINATE, SubIndication.SIGNED_DATA_NOT_FOUND),
                signer,
                claimed_signing_time,
                message=OPENING_DECIDES,
            )
        intact, crypto_valid = integrity(signed_data, raw_digest, validator=validator)
    except SignatureValidationError as error:
        return Findings(from_pyhanko(error.ades_subindication), signer, claimed_signing_time)
    except (ValueError, TypeError, KeyError):
        logger.info("detached signature is malformed", exc_info=True)
        return Findings(_FORMAT_FAILURE, signer, claimed_signing_time)
    except Exception:
        # Hostile input can break a parser in ways nobody listed; the opening must still
        # get a report for this bid, and the log keeps the details.
        logger.exception("detached signature could not be validated")
        broken, why = _unfinished(Stage.INTEGRITY, established=False)
        return Findings(
            broken, signer, claimed_signing_time, message=why, unfinished_stage=Stage.INTEGRITY
        )
    sources = [trust.revocation] + ([] if fetcher is None else [fetcher.fetched()])
    if not intact or not crypto_valid:
        failed = SubIndication.SIG_CRYPTO_FAILURE if intact else SubIndication.HASH_FAILURE
        return Findings(
            (Indication.TOTAL_FAILED, failed),
            signer,
            claimed_signing_time,
            intact=intact,
            crypto_valid=crypto_valid,
            revocation=evidence_for(signer_certificate, sources),
        )
    candidates: list[tuple[Verdict, Sentence | None]] = []
    unfinished_stage: Stage | None = None
    trusted = False
    # 2. The signature time-stamp.
    try:
        timing_status = await collect_timing_info(
            signer_info,
            ts_validation_context=trust.validation_context(at, signature_validator=validator),
            raw_digest=digests,
        )
        timestamp = timing_status.get("timestamp_validity")
    except Exception as error:
        logger.warning("detached signature: the time-stamp stage could not finish", exc_info=True)
        unfinished_stage = stage_of(error, Stage.TIMESTAMP)
    # 3. The ETSI process: path, revocation, signature constraints.
    try:
        ades = await ades_basic_validation(
            signed_data,
            trust.validation_spec(fetcher=fetcher, signature_validator=validator),
            timing_info=timing,
            raw_digest=raw_digest,
        )
        candidates.append((ades_verdict(ades.ades_subindic, signer_certificate, at), None))
        trusted = ades.api_status is not None and ades.api_status.trusted
    except SignatureValidationError as error:
        candidates.append((from_pyhanko(error.ades_subindication), None))
    except Exception as error:
        logger.warning("detached signature: the AdES stage could not finish", exc_info=True)
        unfinished_stage = unfinished_stage or stage_of(error, Stage.ADES)
    if unfinished_stage is not None:
        candidates.append(_unfinished(unfinished_stage, established=True))
    verdict = worst(candidate for candidate, _ in candidates)
    message = next(message for candidate, message in candidates if candidate == verdict)
    revocation = evidence_for(signer_certificate, sources)
    if (
        unfinished_stage is None
        and not revocation
        and revocation_unreachable(signer_certificate, fetcher)
    ):
        # Soft fail: the responder did not answer, the verdict stands, the report says so.
        unfinished_stage = Stage.REVOCATION
    return Findings(
        verdict,
        signer,
        claimed_signing_time,
        timestamp=timestamp,
        intact=intact,
        crypto_valid=crypto_valid,
        trusted=trusted,
        revocation=revocation,
        message=message,
        unfinished_stage=unfinished_stage,
    )


async def verify_detached(
    detached_signature: BinaryIO,
    digests: Digests | None,
    trust: TrustStore,
    timing: ValidationTimingInfo,
    binding: SignerBinding | None,
    fetcher: AllowListFetcherBackend | None = None,
) -> Outcome:
    """Validate each signer of the ``.p7s`` in ``detached_signature``, as of ``timing``,
    with the trust store's revocation evidence and what ``fetcher`` fetches.

    ``digests`` gives the signed file's digests (:func:`content_digests`,
    :func:`known_digest`); a signer whose digest algorithm it cannot give gets
    INDETERMINATE / SIGNED_DATA_NOT_FOUND, saying the opening will decide. ``digests``
    None means the signed file is missing: every signer gets INDETERMINATE /
    SIGNED_DATA_NOT_FOUND (ETSI EN 319 102-1: the signed data cannot be obtained), with
    the signer's certificate and claimed signing time read from the ``.p7s``.
    """
    try:
        signed_data = _read_signed_data(detached_signature)
    except Exception:
        logger.info("not a readable CMS signature", exc_info=True)
        return Outcome((), DocumentVerdict(_FORMAT_FAILURE))
    signer_infos = list(signed_data["signer_infos"])
    if not signer_infos:
        return Outcome(
            (), DocumentVerdict((Indication.TOTAL_FAILED, SubIndication.NO_SIGNATURE_FOUND))
        )
    reports = []
    # One per document: the signature value checked in the integrity stage is not checked
    # again by the AdES process, nor a chain the signers share once per signer.
    validator = OnceSignatureValidator()
    for signer_info in signer_infos:
        findings = await _findings(
            _with_one_signer(signed_data, signer_info), digests, trust, timing, fetcher, validator
        )
        reports.append(signature_report(findings, timing.validation_time, binding))
    return Outcome(tuple(reports))
