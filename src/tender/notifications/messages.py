"""What the platform tells people, in English and in Traditional Chinese as used in Hong Kong.

Each message says what happened and what to do next. Times are shown in Hong Kong time and in
UTC (the platform's own time, which receipts and the audit trail use).
"""

# Chinese is written with full-width punctuation, which RUF001 takes for look-alikes.
# ruff: noqa: RUF001

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

ENGLISH = "en"
HONG_KONG_CHINESE = "zh-Hant-HK"
LANGUAGES = (ENGLISH, HONG_KONG_CHINESE)
HONG_KONG = ZoneInfo("Asia/Hong_Kong")


class MessageKind(StrEnum):
    REGISTRATION_CONFIRMATION = "registration_confirmation"
    RECEIPT_ISSUED = "receipt_issued"
    FINGERPRINT_RECEIVED = "fingerprint_received"
    ADDENDUM_PUBLISHED = "addendum_published"
    CLARIFICATION_ANSWERED = "clarification_answered"
    DEADLINE_APPROACHING = "deadline_approaching"
    TENDER_OPENED = "tender_opened"
    TENDER_AWARDED = "tender_awarded"
    TENDER_CANCELLED = "tender_cancelled"
    COMMITTEE_RELEASE_DUE = "committee_release_due"
    FINANCIAL_RELEASE_DUE = "financial_release_due"


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def language_of(value: str | None) -> str:
    """A language the messages are written in: ``value`` if it is one, else English."""
    return str(value) if value in LANGUAGES else ENGLISH


def format_moment(moment: datetime, language: str) -> str:
    """``moment`` in Hong Kong time, then in UTC."""
    local, utc = moment.astimezone(HONG_KONG), moment.astimezone(UTC)
    if language == HONG_KONG_CHINESE:
        return (
            f"{local.year}年{local.month}月{local.day}日 {local:%H:%M:%S}（香港時間）"
            f"／{utc:%Y-%m-%d %H:%M:%S} UTC"
        )
    return f"{local:%Y-%m-%d %H:%M:%S} Hong Kong time ({utc:%Y-%m-%d %H:%M:%S} UTC)"


def required_params(kind: MessageKind) -> frozenset[str]:
    """The names a message of ``kind`` needs (the same in every language)."""
    return frozenset(
        name
        for text in (*_TEMPLATES[kind][ENGLISH], *_TEMPLATES[kind][HONG_KONG_CHINESE])
        for _, name, _, _ in string.Formatter().parse(text)
        if name
    )


def render(kind: MessageKind, language: str, params: Mapping[str, object]) -> Rendered:
    """The subject and body of ``kind`` in ``language`` (English if it is not one we write).

    Raises ``TypeError`` naming what is missing: a caller that leaves out a parameter is a
    bug, and is told so where it queues the message, not when it is delivered.
    """
    missing = required_params(kind) - params.keys()
    if missing:
        raise TypeError(f"a {kind} message needs {', '.join(sorted(missing))}")
    language = language_of(language)
    values = {
        name: format_moment(value, language) if isinstance(value, datetime) else value
        for name, value in params.items()
    }
    subject, body = _TEMPLATES[kind][language]
    return Rendered(subject=subject.format_map(values), body=body.format_map(values))


# Tender messages may use {reference}, {title} and {deadline}: the service fills them in.
_TEMPLATES: dict[MessageKind, dict[str, tuple[str, str]]] = {
    MessageKind.REGISTRATION_CONFIRMATION: {
        ENGLISH: (
            "Confirm your email address for {organisation}",
            "Dear {name},\n\n"
            "{organisation} was registered as a supplier on the Tender e-procurement "
            "platform, with this email address as yours.\n\n"
            "What to do next: confirm that this address is yours by opening this link "
            "before {expires_at}:\n{link}\n\n"
            "Once it is confirmed and the organisation is activated, you can sign in.\n"
            "If you did not register, ignore this email: nothing more happens without the "
            "confirmation.\n",
        ),
        HONG_KONG_CHINESE: (
            "請確認{organisation}的電郵地址",
            "{name}您好：\n\n"
            "{organisation}已在電子招標平台登記為供應商，並以此電郵地址作為您的地址。\n\n"
            "下一步：請於{expires_at}前開啟以下連結，確認此電郵地址屬於您：\n{link}\n\n"
            "確認後，待該機構獲啟用，您便可登入。\n"
            "如您並無登記，請忽略本電郵：未經確認，平台不會再作任何處理。\n",
        ),
    },
    MessageKind.RECEIPT_ISSUED: {
        ENGLISH: (
            "Receipt for {file_name}, tender {reference}",
            "Your submission to tender {reference} ({title}) was received.\n\n"
            "File: {file_name}\n"
            "SHA-256: {sha256}\n"
            "Received at: {received_at}\n"
            "Receipt number: {receipt_id}\n\n"
            "It is sealed: nobody, platform staff included, can read it before the opening "
            "after the deadline ({deadline}).\n\n"
            "What to do next: check that the SHA-256 above is that of the file you meant to "
            "submit, and keep the signed receipt (`tender receipts` lists yours). To replace "
            "the file, submit a file of the same name again before the deadline.\n",
        ),
        HONG_KONG_CHINESE: (
            "收據：{file_name}（投標 {reference}）",
            "平台已收妥您就投標 {reference}（{title}）遞交的文件。\n\n"
            "文件：{file_name}\n"
            "SHA-256：{sha256}\n"
            "收妥時間：{received_at}\n"
            "收據編號：{receipt_id}\n\n"
            "文件已加密封存：截標時間（{deadline}）後開標前，任何人（包括平台人員）均無法閱讀。\n\n"
            "下一步：請核對上述 SHA-256 與您擬遞交的文件是否相符，並保存已簽署的收據"
            "（可用 `tender receipts` 列出）。如需更換文件，請於截標時間前再次遞交同名文件。\n",
        ),
    },
    MessageKind.FINGERPRINT_RECEIVED: {
        ENGLISH: (
            "Fingerprint received for {file_name}, tender {reference}",
            "The fingerprint (SHA-256) of a file for tender {reference} ({title}) was "
            "received.\n\n"
            "File: {file_name}\n"
            "SHA-256: {sha256}\n"
            "Received at: {received_at}\n"
            "Receipt number: {receipt_id}\n\n"
            "What to do next: upload the file itself by {files_until}. Only a file with "
            "exactly this SHA-256 counts; keep the file unchanged. Keep the signed receipt "
            "(`tender receipts` lists yours).\n",
        ),
        HONG_KONG_CHINESE: (
            "已收妥 {file_name} 的指紋（投標 {reference}）",
            "平台已收妥您就投標 {reference}（{title}）遞交的文件指紋（SHA-256）。\n\n"
            "文件：{file_name}\n"
            "SHA-256：{sha256}\n"
            "收妥時間：{received_at}\n"
            "收據編號：{receipt_id}\n\n"
            "下一步：請於{files_until}前上載文件本身。只有 SHA-256 與此完全相同的文件方會計算在內，"
            "請勿更改文件。請保存已簽署的收據（可用 `tender receipts` 列出）。\n",
        ),
    },
    MessageKind.ADDENDUM_PUBLISHED: {
        ENGLISH: (
            "Addendum to tender {reference}: {addendum}",
            "An addendum to tender {reference} ({title}) was published: {addendum}.\n\n"
            "{summary}\n\n"
            "The deadline is now {deadline}.\n\n"
            "What to do next: read the addendum, and the tender documents it changes, on the "
            "platform. If it affects what you submitted, submit again before the deadline: "
            "only what is received by then counts.\n",
        ),
        HONG_KONG_CHINESE: (
            "投標 {reference} 補充文件：{addendum}",
            "投標 {reference}（{title}）已發出補充文件：{addendum}。\n\n"
            "{summary}\n\n"
            "截標時間現為{deadline}。\n\n"
            "下一步：請在平台閱讀補充文件及其修訂的招標文件。如補充文件影響您已遞交的標書，"
            "請於截標時間前重新遞交：只有在截標時間前收妥的文件方會計算在內。\n",
        ),
    },
    MessageKind.CLARIFICATION_ANSWERED: {
        ENGLISH: (
            "Clarification answered, tender {reference}",
            "A question about tender {reference} ({title}) was answered. The answer is "
            "published to every supplier; who asked is not disclosed.\n\n"
            "Question: {question}\n\n"
            "Answer: {answer}\n\n"
            "The deadline is {deadline}.\n\n"
            "What to do next: take the answer into account; if it changes what you "
            "submitted, submit again before the deadline.\n",
        ),
        HONG_KONG_CHINESE: (
            "投標 {reference} 的澄清問題已獲答覆",
            "有關投標 {reference}（{title}）的一條問題已獲答覆。答覆已向所有供應商公布，"
            "提問者身分不予披露。\n\n"
            "問題：{question}\n\n"
            "答覆：{answer}\n\n"
            "截標時間為{deadline}。\n\n"
            "下一步：請在擬備標書時考慮此答覆；如答覆影響您已遞交的內容，請於截標時間前重新遞交。\n",
        ),
    },
    MessageKind.DEADLINE_APPROACHING: {
        ENGLISH: (
            "Deadline approaching, tender {reference}",
            "The deadline of tender {reference} ({title}) is {deadline}. You have started a "
            "submission to this tender.\n\n"
            "What to do next: make sure every file of your submission, signed with your "
            "electronic certificate, is received in time: what arrives after the deadline "
            "is not opened. Each file received has a receipt; `tender receipts` lists them.\n",
        ),
        HONG_KONG_CHINESE: (
            "投標 {reference} 即將截標",
            "投標 {reference}（{title}）的截標時間為{deadline}。您已開始就此投標遞交標書。\n\n"
            "下一步：請確保以電子證書簽署的所有標書文件按時收妥：截標後送達的文件概不開啟。"
            "每份已收妥的文件均有收據，可用 `tender receipts` 列出。\n",
        ),
    },
    MessageKind.TENDER_OPENED: {
        ENGLISH: (
            "Tender {reference} has been opened",
            "Tender {reference} ({title}) closed at {deadline}, and the submissions were "
            "opened at {opened_at}. The opening record, signed by the platform, is "
            "written.\n\n"
            "What to do next: read the opening record on the platform to see how your own "
            "submission was found (received in time, signature verified). The procuring "
            "entity now evaluates the submissions; you will be told of the award.\n",
        ),
        HONG_KONG_CHINESE: (
            "投標 {reference} 已開標",
            "投標 {reference}（{title}）已於{deadline}截標，並於{opened_at}開標。"
            "平台已簽署開標記錄。\n\n"
            "下一步：請在平台閱讀開標記錄，查看您的標書的結果（是否按時收妥、簽署是否通過核實）。"
            "採購部門現正評審標書，批出合約時會通知您。\n",
        ),
    },
    MessageKind.TENDER_AWARDED: {
        ENGLISH: (
            "Tender {reference} has been awarded",
            "Tender {reference} ({title}) has been awarded to {winners}, for {value}.\n\n"
            "What to do next: sign in to read the award, its reasons and the result of your "
            "own submission. For questions about the result, contact the procuring entity.\n",
        ),
        HONG_KONG_CHINESE: (
            "投標 {reference} 已批出",
            "投標 {reference}（{title}）的合約已批予{winners}，金額為{value}。\n\n"
            "下一步：請登入平台閱讀批出結果、理由及您的標書的評審結果。"
            "如對結果有疑問，請聯絡採購部門。\n",
        ),
    },
    MessageKind.TENDER_CANCELLED: {
        ENGLISH: (
            "Tender {reference} has been cancelled",
            "Tender {reference} ({title}) has been cancelled by the procuring entity.\n\n"
            "Reason: {reason}\n\n"
            "What to do next: nothing is required of you. Submissions to this tender will "
            "not be evaluated, and no contract is awarded under it. If a new tender replaces "
            "it, it is published on the platform.\n",
        ),
        HONG_KONG_CHINESE: (
            "投標 {reference} 已取消",
            "投標 {reference}（{title}）已由採購部門取消。\n\n"
            "原因：{reason}\n\n"
            "下一步：您無須採取任何行動。此投標的標書不會獲評審，亦不會據此批出合約。"
            "如有取代此投標的新招標，會在平台公布。\n",
        ),
    },
    MessageKind.COMMITTEE_RELEASE_DUE: {
        ENGLISH: (
            "Release your key share: tender {reference}",
            "Tender {reference} ({title}) closed at {deadline}. You are a member of its "
            "opening committee: its bids open once {quorum} of the {members} members have "
            "released their shares of the tender's key, and {released} have so far.\n\n"
            "What to do next: release your share with your committee key file and its "
            "passphrase:\n"
            "  tender committee release --tender {reference} --key-file YOUR.key\n"
            "Nobody can open the bids until enough members have. If you have lost your key "
            "file or its passphrase, tell the procuring entity at once.\n",
        ),
        HONG_KONG_CHINESE: (
            "請釋出密鑰份額：投標 {reference}",
            "投標 {reference}（{title}）已於{deadline}截標。您是此投標開標委員會的成員："
            "須有{members}名成員中的{quorum}名釋出其所持的投標密鑰份額，方可開標；"
            "目前已有{released}名成員釋出。\n\n"
            "下一步：請以您的委員會密鑰檔案及其密碼，釋出您的份額：\n"
            "  tender committee release --tender {reference} --key-file 您的密鑰檔案\n"
            "在足夠成員釋出份額前，任何人均無法開啟標書。如您遺失密鑰檔案或忘記密碼，"
            "請立即通知採購部門。\n",
        ),
    },
    MessageKind.FINANCIAL_RELEASE_DUE: {
        ENGLISH: (
            "Release your financial key share: tender {reference}",
            "The officer of tender {reference} ({title}) has recorded a verdict on every "
            "bid's technical envelope and asked for the financial opening: {qualified} of "
            "the bids qualified, and only their financial envelopes will be opened. You are a "
            "member of its opening committee: they open once {quorum} of the {members} "
            "members have released their shares of the tender's financial key.\n\n"
            "What to do next: release your share with your committee key file and its "
            "passphrase:\n"
            "  tender committee release --tender {reference} --key financial "
            "--key-file YOUR.key\n"
            "If you have lost your key file or its passphrase, tell the procuring entity at "
            "once.\n",
        ),
        HONG_KONG_CHINESE: (
            "請釋出財務密鑰份額：投標 {reference}",
            "投標 {reference}（{title}）的負責人員已就每份標書的技術信封作出評定，並要求開啟"
            "財務信封：{qualified}份標書合格，只會開啟這些標書的財務信封。您是此投標開標"
            "委員會的成員：須有{members}名成員中的{quorum}名釋出其所持的財務密鑰份額，方可"
            "開啟。\n\n"
            "下一步：請以您的委員會密鑰檔案及其密碼，釋出您的份額：\n"
            "  tender committee release --tender {reference} --key financial "
            "--key-file 您的密鑰檔案\n"
            "如您遺失密鑰檔案或忘記密碼，請立即通知採購部門。\n",
        ),
    },
}
