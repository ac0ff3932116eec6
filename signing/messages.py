"""One plain sentence per verdict, in English and Traditional Chinese.

Written for the supplier: what is wrong and what they can do about it, with no jargon.
"""

# Chinese text rightly uses full-width punctuation, which RUF001 takes for look-alikes.
# ruff: noqa: RUF001

from __future__ import annotations

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

_PASSED: Sentence = (
    "The signature is valid: the document is unchanged since it was signed and the "
    "certificate was trusted and valid at submission time.",
    "簽署有效：文件自簽署後未經變更，且電子證書於遞交時受信任並在有效期內。",
)
_INDETERMINATE: Sentence = (
    "The signature could not be confirmed; sign the file again and resubmit it, or contact "
    "the help desk if this happens again.",
    "無法確認此簽署；請重新簽署檔案後再次遞交，若仍發生請聯絡客服。",
)
_FAILED: Sentence = (
    "The signature is not valid; sign the final file again with your certificate and resubmit it.",
    "簽署無效；請以您的電子證書重新簽署最終版本檔案後再次遞交。",
)
_ALTERED: Sentence = (
    "The document was altered after it was signed; sign the final version again and resubmit it.",
    "文件於簽署後遭到更動；請重新簽署最終版本後再次遞交。",
)
_EXPIRED: Sentence = (
    "The signing certificate had expired by submission time and nothing proves the "
    "signature was made before that; renew the certificate, sign again and resubmit.",
    "簽署用電子證書於遞交時已過期，且無從證明簽署完成於過期之前；請更新電子證書、重新簽署後再次遞交。",
)
_NOT_YET_VALID: Sentence = (
    "The signing certificate was not yet valid at submission time; sign again with a "
    "certificate that is currently valid and resubmit.",
    "簽署用電子證書於遞交時尚未生效；請改用目前有效的電子證書重新簽署後再次遞交。",
)
_REVOKED: Sentence = (
    "The signing certificate has been revoked; obtain a new certificate, sign again and resubmit.",
    "簽署用電子證書已被廢止；請申請新電子證書、重新簽署後再次遞交。",
)
_CHAIN: Sentence = (
    "The signing certificate or its issuing chain does not meet the platform's "
    "requirements; sign again with a valid signing certificate from an accepted authority.",
    "簽署用電子證書或其簽發鏈不符合平台要求；請改用認可核證機關簽發的有效簽署用電子證書重新簽署。",
)
_CRYPTO: Sentence = (
    "The signature uses an algorithm or key size that is no longer accepted; sign again "
    "with up-to-date signing software and resubmit.",
    "簽署使用的演算法或金鑰長度已不被接受；請以最新版簽署軟件重新簽署後再次遞交。",
)

_BY_SUB_INDICATION: dict[SubIndication, Sentence] = {
    SubIndication.FORMAT_FAILURE: (
        "The file is not a readable PDF or its signature is malformed; export the PDF "
        "again, sign it and resubmit it.",
        "檔案不是可讀取的 PDF，或其簽署格式有誤；請重新匯出 PDF、簽署後再次遞交。",
    ),
    SubIndication.NO_SIGNATURE_FOUND: (
        "The document has no digital signature; sign it with your certificate and resubmit it.",
        "文件沒有電子簽署；請以您的電子證書簽署後再次遞交。",
    ),
    SubIndication.HASH_FAILURE: _ALTERED,
    SubIndication.MODIFIED_AFTER_SIGNING: _ALTERED,
    SubIndication.SIG_CRYPTO_FAILURE: (
        "The signature value does not match the signer's certificate; sign the file again "
        "and resubmit it.",
        "簽署值與簽署者電子證書不符；請重新簽署檔案後再次遞交。",
    ),
    SubIndication.NO_CERTIFICATE_CHAIN_FOUND: (
        "The signing certificate was not issued by an authority this platform trusts; sign "
        "with a certificate from an accepted authority and resubmit.",
        "簽署用電子證書並非由本平台信任的核證機關簽發；請改用認可核證機關簽發的電子證書簽署後再次遞交。",
    ),
    SubIndication.NO_SIGNING_CERTIFICATE_FOUND: (
        "The signature does not contain the signer's certificate; sign again with software "
        "that embeds the certificate and resubmit.",
        "簽署中未包含簽署者電子證書；請使用會嵌入電子證書的簽署軟件重新簽署後再次遞交。",
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
        "簽署用電子證書未登錄於投標組織；請改用已登錄的電子證書簽署後再次遞交。",
    ),
    SubIndication.TRY_LATER: (
        "The certificate's revocation status is not available yet; nothing to do now, the "
        "check will be repeated.",
        "目前尚無法取得電子證書的廢止狀態；您暫時無須處理，系統將再次檢查。",
    ),
}

# Sentences added for issue 8 use the terms of the Hong Kong Government (電子證書, 簽署,
# 遞交, 核證機關); the older ones above are to be aligned with them.
ENCRYPTED: Sentence = (
    "The PDF can only be opened with a password, so the platform cannot check its "
    "signature; save it without an opening password, sign it again and resubmit it.",
    "此 PDF 檔案須輸入密碼方可開啟，平台因此無法核實其簽署；"
    "請另存為無須密碼即可開啟的檔案，重新簽署後再次遞交。",
)
DECRYPTED: Sentence = (
    "The PDF is encrypted but opens without a password (many programs save files this "
    "way); the platform opened it with the empty password and checked its signatures as "
    "usual.",
    "此 PDF 檔案經加密，但無須密碼即可開啟（不少程式以此方式儲存檔案）；"
    "平台已以空白密碼開啟檔案，並照常核實其簽署。",
)
LENIENT_PARSING: Sentence = (
    "The PDF has small structural faults that PDF viewers tolerate (for example an object "
    "whose number does not match the file's cross-reference table); the platform read it "
    "the way viewers do and checked its signatures as usual. Saving the file again with "
    "your PDF software before signing avoids this.",
    "此 PDF 檔案有輕微的結構錯誤（例如物件編號與檔案的交叉參照表不符），一般 PDF "
    "閱讀程式均可容許；平台已按閱讀程式的方式讀取檔案，並照常核實其簽署。"
    "簽署前以您的 PDF 軟件重新儲存檔案即可避免此情況。",
)
SIGNED_DATA_MISSING: Sentence = (
    "This detached signature (.p7s) came without the file it signs, so the signature "
    "cannot be checked; submit the signed file together with its .p7s.",
    "此分離式簽署檔（.p7s）並未連同其所簽署的檔案一併提供，因此無法核實簽署；"
    "請將已簽署的檔案連同其 .p7s 一併遞交。",
)

_WHAT_IS_CHECKED: dict[Stage, Sentence] = {
    Stage.INTEGRITY: (
        "whether the document is unchanged since it was signed",
        "文件自簽署後是否未經更改",
    ),
    Stage.MODIFICATION_ANALYSIS: (
        "what was changed in the PDF after it was signed",
        "PDF 檔案於簽署後作出的更改",
    ),
    Stage.TIMESTAMP: ("the signature's time-stamp", "簽署的時間戳記"),
    Stage.CERTIFICATE_PATH: (
        "the signing certificate's chain to a trusted certification authority",
        "簽署電子證書至受信任核證機關的證書鏈",
    ),
    Stage.REVOCATION: (
        "whether the signing certificate had been revoked",
        "簽署電子證書是否已被撤銷",
    ),
    Stage.ADES: (
        "the signature against the European (ETSI) validation rules",
        "簽署是否符合歐洲電訊標準協會（ETSI）的核實規則",
    ),
}
UNREADABLE_SIGNATURE: Sentence = (
    "The document declares a signature the platform cannot read (an unsupported or damaged "
    "format); sign it again with standard PAdES signing software and resubmit it.",
    "文件中有平台無法讀取的簽署（格式不受支援或已損壞）；"
    "請以標準 PAdES 簽署軟件重新簽署後再次遞交。",
)
APPENDED_BYTES: Sentence = (
    "Data was appended to the file after it was signed; sign the final version again and "
    "resubmit it.",
    "檔案於簽署後被附加了其他資料；請重新簽署最終版本後再次遞交。",
)
OPENING_DECIDES: Sentence = (
    "The signature uses a digest algorithm other than SHA-256, so it can only be checked "
    "once the file is opened; the opening will decide. Signing with SHA-256 lets the "
    "platform check it now.",
    "此簽署使用 SHA-256 以外的雜湊演算法，須待開標解密檔案後才能檢查，將由開標結果判定；"
    "改用 SHA-256 簽署即可於遞交時預先檢查。",
)


def signer_not_registered(binding: SignerBinding, subject: str | None) -> Sentence:
    """Why a valid signature does not count for ``binding.organisation``, and what to do."""
    organisation = binding.organisation
    if not binding.fingerprints:
        return (
            f"{organisation} has registered no signing certificate, so no signature counts "
            "for it yet; register the certificate you sign with (POST "
            "/api/account/certificates) and resubmit.",
            f"{organisation} 尚未登錄任何簽署用電子證書，因此目前沒有任何簽署可代表該組織；"
            "請先登錄您用於簽署的電子證書（POST /api/account/certificates）後再次遞交。",
        )
    signer = subject or "an unknown signer"
    return (
        f"The document was signed by {signer}, whose certificate is not registered to "
        f"{organisation}; sign with a registered certificate or register this one (POST "
        "/api/account/certificates), then resubmit.",
        f"文件由 {signer} 簽署，但其電子證書未登錄於 {organisation}；"
        "請改用已登錄的電子證書簽署，或先登錄此電子證書"
        "（POST /api/account/certificates）後再次遞交。",
    )


def unfinished(stage: Stage, *, established: bool) -> Sentence:
    """Why a signature is neither confirmed nor refused: ``stage`` could not finish.
    ``established`` says the signature was found intact with a valid signature value."""
    what_en, what_zh = _WHAT_IS_CHECKED[stage]
    if established:
        return (
            "The signature is intact and its value is valid, but the platform could not "
            f"finish checking {what_en}, so the signature is neither confirmed nor refused; "
            "contact the help desk, who can have it checked again.",
            f"簽署完整，簽署值亦有效，但平台未能完成核實{what_zh}，因此未能確認亦未能否定此簽署；"
            "請聯絡服務台安排再次核實。",
        )
    return (
        f"The platform could not finish checking {what_en}, so the signature is neither "
        "confirmed nor refused; contact the help desk, who can have it checked again.",
        f"平台未能完成核實{what_zh}，因此未能確認亦未能否定此簽署；請聯絡服務台安排再次核實。",
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
