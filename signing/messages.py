"""One plain sentence per verdict, in English and Traditional Chinese.

Written for the supplier: what is wrong and what they can do about it, with no jargon.
"""

# Chinese text rightly uses full-width punctuation, which RUF001 takes for look-alikes.
# ruff: noqa: RUF001

from __future__ import annotations

from tender.signing.certificates import SignerBinding
from tender.signing.report import Indication, SubIndication

__all__ = [
    "APPENDED_BYTES",
    "ENCRYPTED",
    "OPENING_DECIDES",
    "UNREADABLE_SIGNATURE",
    "Sentence",
    "explain",
    "signer_not_registered",
]

Sentence = tuple[str, str]

_PASSED: Sentence = (
    "The signature is valid: the document is unchanged since it was signed and the "
    "certificate was trusted and valid at submission time.",
    "簽章有效：文件自簽署後未經變更，且憑證於送件時受信任並在有效期內。",
)
_INDETERMINATE: Sentence = (
    "The signature could not be confirmed; sign the file again and resubmit it, or contact "
    "the help desk if this happens again.",
    "無法確認此簽章；請重新簽署檔案後再次送件，若仍發生請聯絡客服。",
)
_FAILED: Sentence = (
    "The signature is not valid; sign the final file again with your certificate and resubmit it.",
    "簽章無效；請以您的憑證重新簽署最終版本檔案後再次送件。",
)
_ALTERED: Sentence = (
    "The document was altered after it was signed; sign the final version again and resubmit it.",
    "文件於簽署後遭到更動；請重新簽署最終版本後再次送件。",
)
_EXPIRED: Sentence = (
    "The signing certificate had expired by submission time and nothing proves the "
    "signature was made before that; renew the certificate, sign again and resubmit.",
    "簽章憑證於送件時已過期，且無從證明簽章完成於過期之前；請更新憑證、重新簽署後再次送件。",
)
_NOT_YET_VALID: Sentence = (
    "The signing certificate was not yet valid at submission time; sign again with a "
    "certificate that is currently valid and resubmit.",
    "簽章憑證於送件時尚未生效；請改用目前有效的憑證重新簽署後再次送件。",
)
_REVOKED: Sentence = (
    "The signing certificate has been revoked; obtain a new certificate, sign again and resubmit.",
    "簽章憑證已被廢止；請申請新憑證、重新簽署後再次送件。",
)
_CHAIN: Sentence = (
    "The signing certificate or its issuing chain does not meet the platform's "
    "requirements; sign again with a valid signing certificate from an accepted authority.",
    "簽章憑證或其簽發鏈不符合平台要求；請改用受認可機構核發之有效簽章憑證重新簽署。",
)
_CRYPTO: Sentence = (
    "The signature uses an algorithm or key size that is no longer accepted; sign again "
    "with up-to-date signing software and resubmit.",
    "簽章使用的演算法或金鑰長度已不被接受；請以最新版簽章軟體重新簽署後再次送件。",
)

_BY_SUB_INDICATION: dict[SubIndication, Sentence] = {
    SubIndication.FORMAT_FAILURE: (
        "The file is not a readable PDF or its signature is malformed; export the PDF "
        "again, sign it and resubmit it.",
        "檔案不是可讀取的 PDF，或其簽章格式有誤；請重新匯出 PDF、簽署後再次送件。",
    ),
    SubIndication.NO_SIGNATURE_FOUND: (
        "The document has no digital signature; sign it with your certificate and resubmit it.",
        "文件沒有數位簽章；請以您的憑證簽署後再次送件。",
    ),
    SubIndication.HASH_FAILURE: _ALTERED,
    SubIndication.MODIFIED_AFTER_SIGNING: _ALTERED,
    SubIndication.SIG_CRYPTO_FAILURE: (
        "The signature value does not match the signer's certificate; sign the file again "
        "and resubmit it.",
        "簽章值與簽署者憑證不符；請重新簽署檔案後再次送件。",
    ),
    SubIndication.NO_CERTIFICATE_CHAIN_FOUND: (
        "The signing certificate was not issued by an authority this platform trusts; sign "
        "with a certificate from an accepted authority and resubmit.",
        "簽章憑證並非由本平台信任的憑證機構簽發；請改用受認可機構核發的憑證簽署後再次送件。",
    ),
    SubIndication.NO_SIGNING_CERTIFICATE_FOUND: (
        "The signature does not contain the signer's certificate; sign again with software "
        "that embeds the certificate and resubmit.",
        "簽章中未包含簽署者憑證；請使用會嵌入憑證的簽章軟體重新簽署後再次送件。",
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
    SubIndication.SIGNER_NOT_REGISTERED: (
        "The signing certificate is not registered to the bidding organisation; sign with a "
        "registered certificate and resubmit.",
        "簽章憑證未登錄於投標組織；請改用已登錄的憑證簽署後再次送件。",
    ),
    SubIndication.TRY_LATER: (
        "The certificate's revocation status is not available yet; nothing to do now, the "
        "check will be repeated.",
        "目前尚無法取得憑證的廢止狀態；您暫時無須處理，系統將再次檢查。",
    ),
}

ENCRYPTED: Sentence = (
    "The PDF is encrypted (password-protected), so the platform cannot check it; save it "
    "without a password, sign it and resubmit it.",
    "此 PDF 已加密（設有密碼保護），平台無法檢查；請另存為未加密的檔案、簽署後再次送件。",
)
UNREADABLE_SIGNATURE: Sentence = (
    "The document declares a signature the platform cannot read (an unsupported or damaged "
    "format); sign it again with standard PAdES signing software and resubmit it.",
    "文件中有平台無法讀取的簽章（格式不受支援或已損壞）；"
    "請以標準 PAdES 簽章軟體重新簽署後再次送件。",
)
APPENDED_BYTES: Sentence = (
    "Data was appended to the file after it was signed; sign the final version again and "
    "resubmit it.",
    "檔案於簽署後被附加了其他資料；請重新簽署最終版本後再次送件。",
)
OPENING_DECIDES: Sentence = (
    "The signature uses a digest algorithm other than SHA-256, so it can only be checked "
    "once the file is opened; the opening will decide. Signing with SHA-256 lets the "
    "platform check it now.",
    "此簽章使用 SHA-256 以外的雜湊演算法，須待開標解密檔案後才能檢查，將由開標結果判定；"
    "改用 SHA-256 簽署即可於送件時預先檢查。",
)


def signer_not_registered(binding: SignerBinding, subject: str | None) -> Sentence:
    """Why a valid signature does not count for ``binding.organisation``, and what to do."""
    organisation = binding.organisation
    if not binding.fingerprints:
        return (
            f"{organisation} has registered no signing certificate, so no signature counts "
            "for it yet; register the certificate you sign with (POST "
            "/api/account/certificates) and resubmit.",
            f"{organisation} 尚未登錄任何簽章憑證，因此目前沒有任何簽章可代表該組織；請先登錄您用於"
            "簽署的憑證（POST /api/account/certificates）後再次送件。",
        )
    signer = subject or "an unknown signer"
    return (
        f"The document was signed by {signer}, whose certificate is not registered to "
        f"{organisation}; sign with a registered certificate or register this one (POST "
        "/api/account/certificates), then resubmit.",
        f"文件由 {signer} 簽署，但其憑證未登錄於 {organisation}；"
        "請改用已登錄的憑證簽署，或先登錄此憑證（POST /api/account/certificates）後再次送件。",
    )


def explain(indication: Indication, sub_indication: SubIndication | None) -> Sentence:
    """The (English, Traditional Chinese) sentence for a verdict.

    Sub-indications without a sentence of their own get the general one for their
    indication.
    """
    if indication is Indication.TOTAL_PASSED:
        return _PASSED
    if sub_indication is not None and sub_indication in _BY_SUB_INDICATION:
        return _BY_SUB_INDICATION[sub_indication]
    return _FAILED if indication is Indication.TOTAL_FAILED else _INDETERMINATE
