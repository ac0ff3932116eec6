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

from asn1crypto import algos, cms, keys, x509
from cryptography.exceptions import InvalidSignature
from pyhanko.sign.general import extract_signer_info
from pyhanko.sign.validation.generic_cms import (
    extract_certs_for_validation,
    validate_sig_integrity,
)
from pyhanko_certvalidator.sig_validate import (
    DEFAULT_SIGNATURE_VALIDATOR,
    DEFAULT_VALIDATION_CONTEXT,
    SignatureValidationContext,
    SignatureValidator,
)

from tender.signing.report import Stage
from tender.signing.revocation import AllowListFetcherBackend, revocation_urls

__all__ = ["OnceSignatureValidator", "integrity", "revocation_unreachable", "stage_of"]

# Where in pyHanko an exception was raised tells which stage it interrupted. The innermost
# frame that matches decides: a revocation check inside a time-stamp's validation is a
# revocation problem.
_TIMESTAMP_FUNCTIONS = frozenset(
    {"collect_timing_info", "validate_tst_signed_data", "ades_timestamp_validation"}
)
_REVOCATION_FUNCTIONS = frozenset({"_check_revocation", "verify_ocsp_response", "verify_crl"})
_REVOCATION_MODULES = ("pyhanko_certvalidator.revinfo", "pyhanko_certvalidator.fetchers")


class OnceSignatureValidator(SignatureValidator):
    """A signature validator that does each verification once: asked again about the same
    signature over the same data with the same key and algorithm, it gives the answer it
    gave before instead of verifying again.

    Validating one document asks the same questions several times: the signature value in
    the integrity stage and again inside the certificate-path stage, the certificates and
    CRLs of a chain shared by co-signers or by a signature and its time-stamp. Keep one per
    document (its memory grows with the distinct verifications). ``verifications`` counts
    the ones actually made.
    """

    def __init__(self, validator: SignatureValidator = DEFAULT_SIGNATURE_VALIDATOR) -> None:
        self._validator = validator
        self._answers: dict[tuple[bytes, bytes, bytes, bytes, str | None, bool], bool] = {}
        self.verifications = 0

    def validate_signature(
        self,
        signature: bytes,
        signed_data: bytes,
        public_key_info: keys.PublicKeyInfo,
        signature_algorithm: algos.SignedDigestAlgorithm,
        context: SignatureValidationContext = DEFAULT_VALIDATION_CONTEXT,
    ) -> None:
        """As :meth:`SignatureValidator.validate_signature`: returns if the signature is
        valid, raises :class:`~cryptography.exceptions.InvalidSignature` if it is not (and
        whatever the wrapped validator raises for an unsupported algorithm, never
        remembered)."""
        # Everything the answer depends on, so that only the very same question is answered
        # from memory.
        question = (
            bytes(signature),
            bytes(signed_data),
            public_key_info.dump(),
            signature_algorithm.dump(),
            context.contextual_md_algorithm,
            context.prehashed,
        )
        valid = self._answers.get(question)
        if valid is None:
            self.verifications += 1
            try:
                self._validator.validate_signature(
                    signature, signed_data, public_key_info, signature_algorithm, context
                )
                valid = True
            except InvalidSignature:
                valid = False
            self._answers[question] = valid
        if not valid:
            raise InvalidSignature


def integrity(
    signed_data: cms.SignedData,
    digest: bytes,
    certificate: x509.Certificate | None = None,
    validator: SignatureValidator | None = None,
) -> tuple[bool, bool]:
    """(intact, crypto_valid) of the one signer of ``signed_data`` over content whose digest
    (with the signer's digest algorithm) is ``digest``: whether the digest matches the
    signed message digest, and whether the signature value verifies with the signer's key.

    Nothing about trust: this is what a signature is before anyone asks who made it.
    ``certificate`` is the signer's certificate if the caller already picked it out of
    ``signed_data`` with pyHanko's ``extract_certs_for_validation`` (which checks it against
    the signing-certificate attribute); ``validator`` verifies the signature value (pass
    the :class:`OnceSignatureValidator` the later stages use, so that they do not verify it
    again).

    :raises ValueError: (pyHanko's errors derive from it) if the CMS structure is broken or
        holds no usable signer certificate.
    """
    signer_info = extract_signer_info(signed_data)
    if certificate is None:
        certificate = extract_certs_for_validation(signed_data).signer_cert
    content_type = signed_data["encap_content_info"]["content_type"].native
    return validate_sig_integrity(
        signer_info,
        certificate,
        expected_content_type=content_type,
        actual_digest=digest,
        sig_validator=validator,
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
