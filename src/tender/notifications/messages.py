"""What the platform tells people, in English and in Traditional Chinese as used in Hong Kong
(the English texts below are the catalog's msgids; the Chinese is in the zh_Hant_HK catalog).

Each message says what happened and what to do next. Times are shown in Hong Kong time and in
UTC (the platform's own time, which receipts and the audit trail use).
"""

# Chinese is written with full-width punctuation, which RUF001 takes for look-alikes.

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tender.clock import for_people
from tender.i18n import gettext as _
from tender.i18n import gettext_noop as N_  # noqa: N812 (the name extractors look for)
from tender.i18n import negotiate, use_locale

ENGLISH = "en"
HONG_KONG_CHINESE = "zh-Hant-HK"
LANGUAGES = (ENGLISH, HONG_KONG_CHINESE)
"""The languages a person may choose for their messages, as stored (BCP 47 tags)."""


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


def required_params(kind: MessageKind) -> frozenset[str]:
    """The names a message of ``kind`` needs (the same in every language: the catalog test
    holds the translations to the English placeholders)."""
    return frozenset(
        name
        for text in _TEMPLATES[kind]
        for _literal, name, _spec, _conversion in string.Formatter().parse(text)
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
    subject, body = _TEMPLATES[kind]
    with use_locale(negotiate(language_of(language))):
        values = {
            name: for_people(value) if isinstance(value, datetime) else value
            for name, value in params.items()
        }
        return Rendered(subject=_(subject).format_map(values), body=_(body).format_map(values))


# Tender messages may use {reference}, {title} and {deadline}: the service fills them in.
_TEMPLATES: dict[MessageKind, tuple[str, str]] = {
    # (subject, body)
    MessageKind.REGISTRATION_CONFIRMATION: (
        N_("Confirm your email address for {organisation}"),
        N_(
            "Dear {name},\n\n"
            "{organisation} was registered as a supplier on the Tender e-procurement "
            "platform, with this email address as yours.\n\n"
            "What to do next: confirm that this address is yours by opening this link "
            "before {expires_at}:\n{link}\n\n"
            "Once it is confirmed and the organisation is activated, you can sign in.\n"
            "If you did not register, ignore this email: nothing more happens without the "
            "confirmation.\n"
        ),
    ),
    MessageKind.RECEIPT_ISSUED: (
        N_("Receipt for {file_name}, tender {reference}"),
        N_(
            "Your submission to tender {reference} ({title}) was received.\n\n"
            "File: {file_name}\n"
            "SHA-256: {sha256}\n"
            "Received at: {received_at}\n"
            "Receipt number: {receipt_id}\n\n"
            "It is sealed: nobody, platform staff included, can read it before the opening "
            "after the deadline ({deadline}).\n\n"
            "What to do next: check that the SHA-256 above is that of the file you meant to "
            "submit, and keep the signed receipt (`tender receipts` lists yours). To replace "
            "the file, submit a file of the same name again before the deadline.\n"
        ),
    ),
    MessageKind.FINGERPRINT_RECEIVED: (
        N_("Fingerprint received for {file_name}, tender {reference}"),
        N_(
            "The fingerprint (SHA-256) of a file for tender {reference} ({title}) was "
            "received.\n\n"
            "File: {file_name}\n"
            "SHA-256: {sha256}\n"
            "Received at: {received_at}\n"
            "Receipt number: {receipt_id}\n\n"
            "What to do next: upload the file itself by {files_until}. Only a file with "
            "exactly this SHA-256 counts; keep the file unchanged. Keep the signed receipt "
            "(`tender receipts` lists yours).\n"
        ),
    ),
    MessageKind.ADDENDUM_PUBLISHED: (
        N_("Addendum to tender {reference}: {addendum}"),
        N_(
            "An addendum to tender {reference} ({title}) was published: {addendum}.\n\n"
            "{summary}\n\n"
            "The deadline is now {deadline}.\n\n"
            "What to do next: read the addendum, and the tender documents it changes, on the "
            "platform. If it affects what you submitted, submit again before the deadline: "
            "only what is received by then counts.\n"
        ),
    ),
    MessageKind.CLARIFICATION_ANSWERED: (
        N_("Clarification answered, tender {reference}"),
        N_(
            "A question about tender {reference} ({title}) was answered. The answer is "
            "published to every supplier; who asked is not disclosed.\n\n"
            "Question: {question}\n\n"
            "Answer: {answer}\n\n"
            "The deadline is {deadline}.\n\n"
            "What to do next: take the answer into account; if it changes what you "
            "submitted, submit again before the deadline.\n"
        ),
    ),
    MessageKind.DEADLINE_APPROACHING: (
        N_("Deadline approaching, tender {reference}"),
        N_(
            "The deadline of tender {reference} ({title}) is {deadline}. You have started a "
            "submission to this tender.\n\n"
            "What to do next: make sure every file of your submission, signed with your "
            "electronic certificate, is received in time: what arrives after the deadline "
            "is not opened. Each file received has a receipt; `tender receipts` lists them.\n"
        ),
    ),
    MessageKind.TENDER_OPENED: (
        N_("Tender {reference} has been opened"),
        N_(
            "Tender {reference} ({title}) closed at {deadline}, and the submissions were "
            "opened at {opened_at}. The opening record, signed by the platform, is "
            "written.\n\n"
            "What to do next: read the opening record on the platform to see how your own "
            "submission was found (received in time, signature verified). The procuring "
            "entity now evaluates the submissions; you will be told of the award.\n"
        ),
    ),
    MessageKind.TENDER_AWARDED: (
        N_("Tender {reference} has been awarded"),
        N_(
            "Tender {reference} ({title}) has been awarded to {winners}, for {value}.\n\n"
            "What to do next: sign in to read the award, its reasons and the result of your "
            "own submission. For questions about the result, contact the procuring entity.\n"
        ),
    ),
    MessageKind.TENDER_CANCELLED: (
        N_("Tender {reference} has been cancelled"),
        N_(
            "Tender {reference} ({title}) has been cancelled by the procuring entity.\n\n"
            "Reason: {reason}\n\n"
            "What to do next: nothing is required of you. Submissions to this tender will "
            "not be evaluated, and no contract is awarded under it. If a new tender replaces "
            "it, it is published on the platform.\n"
        ),
    ),
    MessageKind.COMMITTEE_RELEASE_DUE: (
        N_("Release your key share: tender {reference}"),
        N_(
            "Tender {reference} ({title}) closed at {deadline}. You are a member of its "
            "opening committee: its bids open once {quorum} of the {members} members have "
            "released their shares of the tender's key, and {released} have so far.\n\n"
            "What to do next: release your share with your committee key file and its "
            "passphrase:\n"
            "  tender committee release --tender {reference} --key-file YOUR.key\n"
            "Nobody can open the bids until enough members have. If you have lost your key "
            "file or its passphrase, tell the procuring entity at once.\n"
        ),
    ),
    MessageKind.FINANCIAL_RELEASE_DUE: (
        N_("Release your financial key share: tender {reference}"),
        N_(
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
            "once.\n"
        ),
    ),
}
