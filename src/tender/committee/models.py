"""The committee's rows: each member's registered public key, and each member's share of a
tender's key (encrypted to the member; once released, kept wrapped by the platform key)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tender.db import Base, UTCDateTime
from tender.verifier.committee import FINANCIAL_KEY as FINANCIAL_KEY  # a financial envelope's
from tender.verifier.committee import TENDER_KEY as TENDER_KEY  # the name of a tender's key


class CommitteeKey(Base):
    """A member's public key, registered by the member: shares of tenders created while it is
    their current key are encrypted to it. Its private half is in the member's key file,
    under their passphrase; the platform never has it."""

    __tablename__ = "committee_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    # ML-KEM-768 || X25519 (tender.storage.committee.MemberKey.public_key_bytes).
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    fingerprint: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The committee.key_registered event that names this key's fingerprint: a committee is
    # formed with the key the log says, not whatever this row holds by then.
    audit_seq: Mapped[int] = mapped_column(Integer)
    # When the member registered another key: this one is used for no new tender.
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CommitteeShare(Base):
    """One member's share of one of a tender's keys."""

    __tablename__ = "committee_shares"

    tender_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenders.id"), primary_key=True)
    key_name: Mapped[str] = mapped_column(String(20), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    share_index: Mapped[int] = mapped_column(Integer)
    member_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("committee_keys.id"))
    member_key: Mapped[CommitteeKey] = relationship(lazy="joined")
    # tender.storage.committee.encrypt_share to the member's key: only their key file opens it.
    encrypted_share: Mapped[bytes] = mapped_column(LargeBinary)
    # Also in the log (committee.formed), which is what a released share is checked against.
    commitment: Mapped[str] = mapped_column(String(64))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The share the member released, wrapped by the platform key (the database alone does not
    # give the tender's key even after the deadline).
    released_share: Mapped[bytes | None] = mapped_column(LargeBinary)
