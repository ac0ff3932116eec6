"""Validating a signature in stages, so that what one stage established survives another's failure.

A signature is checked in steps: integrity (the signed bytes hash to the signed digest and
the signature value verifies with the signer's key), then — for a PDF — what changed after
signing, then the certificate path, revocation and time-stamp, then the ETSI process. Each
later step may fail for reasons that say nothing about the first: an unknown certificate
authority, a revocation service that does not answer, an exception deep inside pyHanko. The
report must still say that the signature is intact and valid, and name the step that could
not finish (:class:`~tender.signing.report.Stage`).
"""

from __future__ import annotations

import traceback

from asn1crypto import cms, x509
from pyhanko.sign.general import extract_signer_info
from pyhanko.sign.validation.generic_cms import (
    extract_certs_for_validation,
    validate_sig_integrity,
)

from tender.signing.report import Stage
from tender.signing.revocation import AllowListFetcherBackend, revocation_urls

__all__ = ["integrity", "revocation_unreachable", "stage_of"]

# Where in pyHanko an exception was raised tells which stage it interrupted. The innermost
# frame that matches decides: a revocation check inside a time-stamp's validation is a
# revocation problem.
_TIMESTAMP_FUNCTIONS = frozenset(
    {"collect_timing_info", "validate_tst_signed_data", "ades_timestamp_validation"}
)
_REVOCATION_FUNCTIONS = frozenset({"_check_revocation", "verify_ocsp_response", "verify_crl"})
_REVOCATION_MODULES = ("pyhanko_certvalidator.revinfo", "pyhanko_certvalidator.fetchers")


def integrity(signed_data: cms.SignedData, digest: bytes) -> tuple[bool, bool]:
    """(intact, crypto_valid) of the one signer of ``signed_data`` over content whose digest
    (with the signer's digest algorithm) is ``digest``: whether the digest matches the
    signed message digest, and whether the signature value verifies with the signer's key.

    Nothing about trust: this is what a signature is before anyone asks who made it.

    :raises ValueError: (pyHanko's errors derive from it) if the CMS structure is broken or
        holds no usable signer certificate.
    """
    signer_info = extract_signer_info(signed_data)
    certificate = extract_certs_for_validation(signed_data).signer_cert
    content_type = signed_data["encap_content_info"]["content_type"].native
    return validate_sig_integrity(
        signer_info, certificate, expected_content_type=content_type, actual_digest=digest
    )


def stage_of(error: BaseException, default: Stage) -> Stage:
    """The stage ``error`` interrupted, judged from where in pyHanko it was raised;
    ``default`` when its traceback says nothing more precise."""
    stage = default
    for frame, _ in traceback.walk_tb(error.__traceback__):
        function = frame.f_code.co_name
        module = str(frame.f_globals.get("__name__", ""))
        if function in _REVOCATION_FUNCTIONS or module.startswith(_REVOCATION_MODULES):
            stage = Stage.REVOCATION
        elif function in _TIMESTAMP_FUNCTIONS:
            stage = Stage.TIMESTAMP
    return stage


def revocation_unreachable(
    signer: x509.Certificate | None, fetcher: AllowListFetcherBackend | None
) -> bool:
    """Whether the revocation service the ``signer`` certificate names was asked and did not
    answer (the soft-fail case: validation goes on without revocation status)."""
    if signer is None or fetcher is None:
        return False
    return fetcher.unreachable(revocation_urls(signer))
