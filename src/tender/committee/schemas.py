"""Request and response shapes of the committee API. Keys and shares travel as base64."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime

from tender.accounts.models import User
from tender.committee.models import FINANCIAL_KEY, TENDER_KEY, CommitteeKey, CommitteeShare
from tender.errors import Invalid
from tender.i18n import gettext as _
from tender.tenders.models import OpeningMethod, Tender


def decoded(value: str, *, field: str) -> bytes:
    """``value`` from base64, or refused naming ``field``."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(
            _("The {field} is not base64.").format(field=field),
            _("Keys and shares are sent as standard base64; {field} is not.").format(field=field),
            _("Send what `tender committee` prints or sends; do not edit it."),
        ) from None


def encoded(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True)
class KeyRegistration:
    """A member's committee public key (``tender committee key create`` makes the pair)."""

    public_key: str  # base64


@dataclass(frozen=True)
class CommitteeKeyOut:
    user_id: uuid.UUID
    name: str
    organisation: str
    role: str
    fingerprint: str  # SHA-256 of the public key, hex
    registered_at: datetime

    @classmethod
    def of(cls, key: CommitteeKey, user: User) -> CommitteeKeyOut:
        return cls(
            user_id=user.id,
            name=user.name,
            organisation=user.organisation,
            role=user.role.value,
            fingerprint=key.fingerprint,
            registered_at=key.registered_at,
        )


@dataclass(frozen=True)
class ShareRelease:
    """A member's share, decrypted with their key file, released after the deadline."""

    share: str  # base64 of the held share (tender.storage.committee.HeldShare.to_bytes)
    key: str = TENDER_KEY


@dataclass(frozen=True)
class EncryptedShareOut:
    """A member's share as only their key file opens it, with what to check it against."""

    tender_id: uuid.UUID
    reference: str
    key: str
    member_id: uuid.UUID
    index: int
    member_key: str  # fingerprint of the committee key it is encrypted to
    share_commitment: str  # the commitment the audit log holds; the share must match it
    encrypted_share: str  # base64


@dataclass(frozen=True)
class MemberOut:
    member_id: uuid.UUID
    name: str
    organisation: str
    key: str
    index: int
    member_key: str
    share_commitment: str
    released_at: datetime | None


@dataclass(frozen=True)
class CommitteeOut:
    """Who holds shares of the tender's key, who has released them, and what the opening
    waits for (``summary`` says it in a sentence)."""

    tender_id: uuid.UUID
    reference: str
    opening: OpeningMethod
    quorum: int | None
    released: int
    members: list[MemberOut]
    summary: str

    @classmethod
    def of(cls, tender: Tender, shares: list[tuple[CommitteeShare, User]]) -> CommitteeOut:
        members = [
            MemberOut(
                member_id=user.id,
                name=user.name,
                organisation=user.organisation,
                key=share.key_name,
                index=share.share_index,
                member_key=share.member_key.fingerprint,
                share_commitment=share.commitment,
                released_at=share.released_at,
            )
            for share, user in shares
        ]
        of_key = [m for m in members if m.key == TENDER_KEY]
        released = sum(1 for m in of_key if m.released_at is not None)
        if tender.opening is OpeningMethod.AUTOMATIC:
            summary = "This tender is opened automatically; it has no opening committee."
        elif tender.quorum is not None and released >= tender.quorum:
            summary = (
                f"{released} of {len(of_key)} members have released their shares; the quorum "
                f"of {tender.quorum} is in, so the opening runs."
            )
        else:
            waiting_for = ", ".join(m.name for m in of_key if m.released_at is None)
            summary = (
                f"{released} of {len(of_key)} members have released their shares; "
                f"{tender.quorum} are needed. Not yet released: {waiting_for}. The bids stay "
                "sealed until the quorum is in (and the deadline has passed)."
            )
        financial = [m for m in members if m.key == FINANCIAL_KEY]
        if financial:
            summary += (
                f" Financial key (two envelopes): "
                f"{sum(1 for m in financial if m.released_at is not None)} of {len(financial)} "
                f"members have released their shares; {tender.quorum} are needed, after the "
                "officer has asked for the financial opening."
            )
        return cls(
            tender_id=tender.id,
            reference=tender.reference,
            opening=tender.opening,
            quorum=tender.quorum,
            released=released,
            members=members,
            summary=summary,
        )
