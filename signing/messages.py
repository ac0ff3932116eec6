"""One plain sentence per verdict, in English and in Hong Kong Chinese (from this library's
own catalogue, ``locale/zh_Hant_HK/LC_MESSAGES/signing.po``).

Written for the supplier: what is wrong and what they can do about it, with no jargon. A
verdict keeps both languages (a signature report is read by either reader later), so each
sentence is said in each language, not only in the one a reader chose.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from tender.signing.catalog import SIGNING_CATALOG_DIR, compiled, read_catalog
from tender.signing.certificates import SignerBinding
from tender.signing.report import Indication, Stage, SubIndication

__all__ = [
    "APPENDED_BYTES",
    "DECRYPTED",
    "ENCRYPTED",
    "LENIENT_PARSING",
    "OPENING_DECIDES",
    "SIGNED_DATA_MISSING",
    "UNREADABLE_SIGNATURE",
    "Sentence",
    "explain",
    "signer_not_registered",
    "unfinished",
]

Sentence = tuple[str, str]
"""(English, Hong Kong Chinese)"""

Gettext = Callable[[str], str]

_CHINESE: Final = compiled(
    read_catalog(
        sorted((SIGNING_CATALOG_DIR / "zh_Hant_HK" / "LC_MESSAGES").glob("*.po")), "zh_Hant_HK"
    )
)


def N_(message: str) -> str:  # noqa: N802 (the name the extractors look for)
    """``message`` as it is, marked for the catalogue: a sentence translated where it is said."""
    return message


def _english(message: str) -> str:
    return message


def _in_each_language(say: Callable[[Gettext], str]) -> Sentence:
    """What ``say`` says with each language's gettext (named ``_`` in it, for the
    extractors): English, then Hong Kong Chinese."""
    return say(_english), say(_CHINESE.gettext)


def _both(message: str) -> Sentence:
    return _in_each_language(lambda _: _(message))


_PASSED: Sentence = _both(
    N_(
        "The signature is valid: the document is unchanged since it was signed and the "
        "certificate was trusted and valid at submission time."
    )
)
_INDETERMINATE: Sentence = _both(
    N_(
        "The signature could not be confirmed; sign the file again and resubmit it, or contact "
        "the help desk if this happens again."
    )
)
_FAILED: Sentence = _both(
    N_(
        "The signature is not valid; sign the final file again with your certificate and "
        "resubmit it."
    )
)
_ALTERED: Sentence = _both(
    N_(
        "The document was altered after it was signed; sign the final version again and "
        "resubmit it."
    )
)
_EXPIRED: Sentence = _both(
    N_(
        "The signing certificate had expired by submission time and nothing proves the "
        "signature was made before that; renew the certificate, sign again and resubmit."
    )
)
_NOT_YET_VALID: Sentence = _both(
    N_(
        "The signing certificate was not yet valid at submission time; sign again with a "
        "certificate that is currently valid and resubmit."
    )
)
_REVOKED: Sentence = _both(
    N_(
        "The signing certificate has been revoked; obtain a new certificate, sign again and "
        "resubmit."
    )
)
_CHAIN: Sentence = _both(
    N_(
        "The signing certificate or its issuing chain does not meet the platform's "
        "requirements; sign again with a valid signing certificate from an accepted authority."
    )
)
_CRYPTO: Sentence = _both(
    N_(
        "The signature uses an algorithm or key size that is no longer accepted; sign again "
        "with up-to-date signing software and resubmit."
    )
)

_BY_SUB_INDICATION: dict[SubIndication, Sentence] = {
    SubIndication.FORMAT_FAILURE: _both(
        N_(
            "The file is not a readable PDF or its signature is malformed; export the PDF "
            "again, sign it and resubmit it."
        )
    ),
    SubIndication.NO_SIGNATURE_FOUND: _both(
        N_("The document has no digital signature; sign it with your certificate and resubmit it.")
    ),
    SubIndication.HASH_FAILURE: _ALTERED,
    SubIndication.MODIFIED_AFTER_SIGNING: _ALTERED,
    SubIndication.SIG_CRYPTO_FAILURE: _both(
        N_(
            "The signature value does not match the signer's certificate; sign the file again "
            "and resubmit it."
        )
    ),
    SubIndication.NO_CERTIFICATE_CHAIN_FOUND: _both(
        N_(
            "The signing certificate was not issued by an authority this platform trusts; sign "
            "with a certificate from an accepted authority and resubmit."
        )
    ),
    SubIndication.NO_SIGNING_CERTIFICATE_FOUND: _both(
        N_(
            "The signature does not contain the signer's certificate; sign again with software "
            "that embeds the certificate and resubmit."
        )
    ),
    SubIndication.OUT_OF_BOUNDS_NO_POE: _EXPIRED,
    SubIndication.EXPIRED: _EXPIRED,
    SubIndication.NOT_YET_VALID: _NOT_YET_VALID,
    SubIndication.REVOKED: _REVOKED,
    SubIndication.REVOKED_NO_POE: _REVOKED,
    SubIndication.REVOKED_CA_NO_POE: _REVOKED,
    SubIndication.CHAIN_CONSTRAINTS_FAILURE: _CHAIN,
    SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE: _CHAIN,
    SubIndication.CRYPTO_CONSTRAINTS_FAILURE: _CRYPTO,
    SubIndication.CRYPTO_CONSTRAINTS_FAILURE_NO_POE: _CRYPTO,
    SubIndication.SIGNER_NOT_REGISTERED: _both(
        N_(
            "The signing certificate is not registered to the bidding organisation; sign with a "
            "registered certificate and resubmit."
        )
    ),
    SubIndication.TRY_LATER: _both(
        N_(
            "The certificate's revocation status is not available yet; nothing to do now, the "
            "check will be repeated."
        )
    ),
}

ENCRYPTED: Sentence = _both(
    N_(
        "The PDF can only be opened with a password, so the platform cannot check its "
        "signature; save it without an opening password, sign it again and resubmit it."
    )
)
DECRYPTED: Sentence = _both(
    N_(
        "The PDF is encrypted but opens without a password (many programs save files this "
        "way); the platform opened it with the empty password and checked its signatures as "
        "usual."
    )
)
LENIENT_PARSING: Sentence = _both(
    N_(
        "The PDF has small structural faults that PDF viewers tolerate (for example an object "
        "whose number does not match the file's cross-reference table); the platform read it "
        "the way viewers do and checked its signatures as usual. Saving the file again with "
        "your PDF software before signing avoids this."
    )
)
SIGNED_DATA_MISSING: Sentence = _both(
    N_(
        "This detached signature (.p7s) came without the file it signs, so the signature "
        "cannot be checked; submit the signed file together with its .p7s."
    )
)

_WHAT_IS_CHECKED: dict[Stage, str] = {
    Stage.INTEGRITY: N_("whether the document is unchanged since it was signed"),
    Stage.MODIFICATION_ANALYSIS: N_("what was changed in the PDF after it was signed"),
    Stage.TIMESTAMP: N_("the signature's time-stamp"),
    Stage.CERTIFICATE_PATH: N_(
        "the signing certificate's chain to a trusted certification authority"
    ),
    Stage.REVOCATION: N_("whether the signing certificate had been revoked"),
    Stage.ADES: N_("the signature against the European (ETSI) validation rules"),
}
UNREADABLE_SIGNATURE: Sentence = _both(
    N_(
        "The document declares a signature the platform cannot read (an unsupported or damaged "
        "format); sign it again with standard PAdES signing software and resubmit it."
    )
)
APPENDED_BYTES: Sentence = _both(
    N_(
        "Data was appended to the file after it was signed; sign the final version again and "
        "resubmit it."
    )
)
OPENING_DECIDES: Sentence = _both(
    N_(
        "The signature uses a digest algorithm other than SHA-256, so it can only be checked "
        "once the file is opened; the opening will decide. Signing with SHA-256 lets the "
        "platform check it now."
    )
)


def signer_not_registered(binding: SignerBinding, subject: str | None) -> Sentence:
    """Why a valid signature does not count for ``binding.organisation``, and what to do."""
    organisation = binding.organisation
    if not binding.fingerprints:
        return _in_each_language(
            lambda _: _(
                "{organisation} has registered no signing certificate, so no signature counts "
                "for it yet; register the certificate you sign with (POST "
                "/api/account/certificates) and resubmit."
            ).format(organisation=organisation)
        )
    return _in_each_language(
        lambda _: _(
            "The document was signed by {signer}, whose certificate is not registered to "
            "{organisation}; sign with a registered certificate or register this one (POST "
            "/api/account/certificates), then resubmit."
        ).format(signer=subject or _("an unknown signer"), organisation=organisation)
    )


def unfinished(stage: Stage, *, established: bool) -> Sentence:
    """Why a signature is neither confirmed nor refused: ``stage`` could not finish.
    ``established`` says the signature was found intact with a valid signature value."""
    if established:
        return _in_each_language(
            lambda _: _(
                "The signature is intact and its value is valid, but the platform could not "
                "finish checking {what}, so the signature is neither confirmed nor refused; "
                "contact the help desk, who can have it checked again."
            ).format(what=_(_WHAT_IS_CHECKED[stage]))
        )
    return _in_each_language(
        lambda _: _(
            "The platform could not finish checking {what}, so the signature is neither "
            "confirmed nor refused; contact the help desk, who can have it checked again."
        ).format(what=_(_WHAT_IS_CHECKED[stage]))
    )


def explain(indication: Indication, sub_indication: SubIndication | None) -> Sentence:
    """The (English, Hong Kong Chinese) sentence for a verdict.

    Sub-indications without a sentence of their own get the general one for their
    indication.
    """
    if indication is Indication.TOTAL_PASSED:
        return _PASSED
    if sub_indication is not None and sub_indication in _BY_SUB_INDICATION:
        return _BY_SUB_INDICATION[sub_indication]
    return _FAILED if indication is Indication.TOTAL_FAILED else _INDETERMINATE
