"""The kinds of audit event: the one list of names the platform writes and the verifiers read."""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    """What an audit event records. The value is the ``kind`` field of the exported event."""

    ORGANISATION_CREATED = "organisation.created"
    USER_CREATED = "user.created"
    SIGNED_IN = "session.signed_in"
    SIGN_IN_FAILED = "session.sign_in_failed"
    SIGN_IN_THROTTLED = "session.sign_in_throttled"
    TOKEN_CREATED = "token.created"  # noqa: S105 - an event's name, not a secret
    TOKEN_REVOKED = "token.revoked"  # noqa: S105
    TOTP_ENROLLED = "totp.enrolled"
    PASSWORD_SET = "password.set"  # noqa: S105 - an event's name, not a secret
    EMAIL_CONFIRMED = "user.email_confirmed"
    ORGANISATION_STATUS_CHANGED = "organisation.status_changed"
    CERTIFICATE_REGISTERED = "certificate.registered"
    TENDER_CREATED = "tender.created"
    TENDER_PUBLISHED = "tender.published"
    TENDER_EDITED = "tender.edited"
    TENDER_CANCELLED = "tender.cancelled"
    TENDER_AWARDED = "tender.awarded"
    TENDER_DOCUMENT_ADDED = "tender.document_added"
    TENDER_AMENDED = "tender.amended"
    CLARIFICATION_ASKED = "clarification.asked"
    CLARIFICATION_ANSWERED = "clarification.answered"
    BID_FINGERPRINTED = "bid.fingerprinted"
    BID_RECEIVED = "bid.received"
    BID_SUPERSEDED = "bid.superseded"
    BID_WITHDRAWN = "bid.withdrawn"
    BID_REFUSED = "bid.refused"
    STORAGE_ORPHANED = "storage.orphaned"
    OPENING_STARTED = "opening.started"
    TENDER_KEY_RELEASED = "tender.key_released"
    TENDER_KEY_UNWRAPPED = "tender.key_unwrapped"
    TENDER_KEY_REFUSED = "tender.key_refused"
    COMMITTEE_KEY_REGISTERED = "committee.key_registered"
    COMMITTEE_FORMED = "committee.formed"
    COMMITTEE_SHARE_RELEASED = "committee.share_released"
    COMMITTEE_SHARE_REFUSED = "committee.share_refused"
    SEALED_REVEALED = "sealed.revealed"
    OPENING_HALTED = "opening.halted"
    BID_OPENED = "bid.opened"
    OPENING_FINISHED = "opening.finished"
    BID_READ = "bid.read"
    # Two-envelope tenders: the officer's verdict on each bid's technical envelope, then the
    # opening of the qualified bids' financial envelopes.
    BID_QUALIFICATION = "bid.qualification"
    FINANCIAL_OPENING_REQUESTED = "financial_opening.requested"
    FINANCIAL_OPENING_STARTED = "financial_opening.started"
    FINANCIAL_OPENING_FINISHED = "financial_opening.finished"
    REQUEST_REFUSED = "request.refused"
