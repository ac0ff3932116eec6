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
from pyhanko.sign.validation.generic_cms import collect_timing_info
from pyhanko.sign.validation.status import TimestampSignatureStatus
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from tender.signing.certificates import SignerBinding
from tender.signing.messages import OPENING_DECIDES
from tender.signing.report import Indication, SignatureReport, SubIndication
from tender.signing.revocation import AllowListFetcherBackend, evidence_for
from tender.signing.trust import TrustStore
from tender.signing.verdicts import (
    DocumentVerdict,
    Findings,
    Verdict,
    ades_verdict,
    certificate_info,
    from_pyhanko,
    signature_report,
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
    # asn1crypto parses lazily; touching every signer here makes broken DER fail here.
    for signer_info in signed_data["signer_infos"]:
        signer_info.native  # noqa: B018 - evaluated for its parsing side effect
    return signed_data


async def _findings(
    signed_data: cms.SignedData,
    digests: Digests,
    trust: TrustStore,
    timing: ValidationTimingInfo,
    fetcher: AllowListFetcherBackend | None,
) -> Findings:
    at = timing.validation_time
    signer_info = signed_data["signer_infos"][0]
    signer = None
    claimed_signing_time: datetime | None = None
    timestamp: TimestampSignatureStatus | None = None
    try:
        signer_certificate = extract_certificate_info(signed_data).signer_cert
        signer = certificate_info(signer_certificate)
        algorithm = signer_info["digest_algorithm"]["algorithm"].native
        try:
            raw_digest = digests(algorithm)
        except KeyError:
            return Findings(
                (Indication.INDETERMINATE, SubIndication.SIGNED_DATA_NOT_FOUND),
                signer,
                message=OPENING_DECIDES,
            )
        timing_status = await collect_timing_info(
            signer_info, ts_validation_context=trust.validation_context(at), raw_digest=digests
        )
        claimed_signing_time = timing_status.get("signer_reported_dt")
        timestamp = timing_status.get("timestamp_validity")
        ades = await ades_basic_validation(
            signed_data,
            trust.validation_spec(fetcher=fetcher),
            timing_info=timing,
            raw_digest=raw_digest,
        )
    except SignatureValidationError as error:
        return Findings(from_pyhanko(error.ades_subindication), signer, claimed_signing_time)
    except (ValueError, TypeError, KeyError):
        logger.info("detached signature is malformed", exc_info=True)
        return Findings(_FORMAT_FAILURE, signer, claimed_signing_time)
    except Exception:
        # Hostile input can break a parser in ways nobody listed; the opening must still
        # get a report for this bid, and the log keeps the details.
        logger.exception("detached signature could not be validated")
        return Findings((Indication.INDETERMINATE, SubIndication.GENERIC), signer)
    status = ades.api_status
    sources = [trust.revocation] + ([] if fetcher is None else [fetcher.fetched()])
    return Findings(
        ades_verdict(ades.ades_subindic, signer_certificate, at),
        signer,
        claimed_signing_time,
        timestamp=timestamp,
        intact=status is not None and status.intact,
        crypto_valid=status is not None and status.valid,
        trusted=status is not None and status.trusted,
        revocation=evidence_for(signer_certificate, sources),
    )


async def verify_detached(
    detached_signature: BinaryIO,
    digests: Digests,
    trust: TrustStore,
    timing: ValidationTimingInfo,
    binding: SignerBinding | None,
    fetcher: AllowListFetcherBackend | None = None,
) -> tuple[tuple[SignatureReport, ...], DocumentVerdict | None]:
    """Validate each signer of the ``.p7s`` in ``detached_signature``, as of ``timing``,
    with the trust store's revocation evidence and what ``fetcher`` fetches.

    ``digests`` gives the signed file's digests (:func:`content_digests`,
    :func:`known_digest`); a signer whose digest algorithm it cannot give gets
    INDETERMINATE / SIGNED_DATA_NOT_FOUND, saying the opening will decide.
    """
    try:
        signed_data = _read_signed_data(detached_signature)
    except Exception:
        logger.info("not a readable CMS signature", exc_info=True)
        return (), DocumentVerdict(_FORMAT_FAILURE)
    signer_infos = list(signed_data["signer_infos"])
    if not signer_infos:
        return (), DocumentVerdict((Indication.TOTAL_FAILED, SubIndication.NO_SIGNATURE_FOUND))
    reports = []
    for signer_info in signer_infos:
        # pyHanko validates SignedData with exactly one signer: give it each in turn.
        single = signed_data.copy()
        single["signer_infos"] = cms.SignerInfos([signer_info])
        findings = await _findings(single, digests, trust, timing, fetcher)
        reports.append(signature_report(findings, timing.validation_time, binding))
    return tuple(reports), None
