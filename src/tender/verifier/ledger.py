"""What the log says about one tender: its deadline, its receipts, what the opening must open.

The platform's opening and the offline verifier both read a tender from its audit events
through this module, so they decide alike: **the log decides which bids are opened** — the
latest receipt per supplier and file name that arrived by the deadline in force in the log,
unless its supplier withdrew it by the deadline (``bid.withdrawn``), as the opening's
``sealed.revealed`` events show them — never a table the database holds.

A fingerprint-first tender (``file_grace_seconds`` in its deadline events) also counts a file
received after the deadline and within the grace period, if its SHA-256 is the one in the last
fingerprint (``bid.fingerprinted``) its supplier registered for that file name by the deadline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tender.verifier.commitments import opens
from tender.verifier.kinds import EventKind

TECHNICAL = "technical"
FINANCIAL = "financial"
"""The envelopes of a two-envelope tender's bids (a single-envelope tender's files are all
technical: opened at the deadline)."""

DEADLINE_EVENTS = frozenset(
    {EventKind.TENDER_CREATED, EventKind.TENDER_PUBLISHED, EventKind.TENDER_AMENDED}
)
"""Events whose ``deadline`` sets the deadline in force (later ones win: an addendum that
extends the deadline is a ``tender.amended`` event with the new one)."""


def parse_time(text: str) -> datetime:
    """A time as the log writes it (ISO 8601, UTC, with ``Z``)."""
    return datetime.fromisoformat(text)


@dataclass
class LoggedBid:
    """One ``bid.received`` event: public parts, and the fields once revealed."""

    seq: int
    at: str
    receipt_id: str
    commitment: str | None  # None in the plain form of logs written before commitments
    fields: dict[str, Any] | None  # the revealed (or plain) receipt fields
    deadline: str | None  # the deadline in force when it arrived

    @property
    def on_time(self) -> bool:
        """Received by the deadline."""
        return self.deadline is not None and parse_time(self.at) <= parse_time(self.deadline)

    @property
    def sha256(self) -> str | None:
        return None if self.fields is None else self.fields.get("sha256")

    @property
    def envelope(self) -> str:
        """Which envelope the file is in (receipts of single-envelope tenders name none)."""
        return str((self.fields or {}).get("envelope") or TECHNICAL)

    @property
    def supplier(self) -> str | None:
        """Whose bid it is (its supplier's user id), once revealed."""
        return None if self.fields is None else str(self.fields.get("supplier_id"))

    @property
    def key(self) -> tuple[str, str] | None:
        """(supplier, file name): a later receipt of the same key supersedes this one."""
        if self.fields is None:
            return None
        supplier = self.fields.get("supplier_id") or self.fields.get("supplier_organisation")
        return str(supplier), str(self.fields.get("file_name"))


@dataclass(frozen=True)
class CommitteeMember:
    """A member of a tender's opening committee, as ``committee.formed`` names them."""

    member_id: str
    name: str
    organisation: str
    index: int
    member_key: str  # the fingerprint of the member key their share was encrypted to
    share_commitment: str


@dataclass(frozen=True)
class LoggedCommittee:
    """One ``committee.formed`` event: who holds shares of one of the tender's keys."""

    seq: int
    key: str
    quorum: int
    public_key: str  # of the key shared out: the shares must combine to its private half
    members: dict[str, CommitteeMember]  # by member id


@dataclass(frozen=True)
class LoggedRelease:
    """One ``committee.share_released`` event."""

    seq: int
    at: str
    key: str
    member_id: str
    share_commitment: str


@dataclass(frozen=True)
class LoggedVerdict:
    """One ``bid.qualification`` event: the officer's verdict on a supplier's bid (a later
    one, before the financial opening was requested, corrects it)."""

    seq: int
    at: str
    supplier_id: str
    supplier_organisation: str
    qualified: bool
    reason: str
    officer: str  # who recorded it


@dataclass
class Reveal:
    seq: int
    salt: str
    fields: dict[str, Any]


@dataclass
class TenderLedger:
    """Everything one pass over a tender's events gathers. Feed it events in ``seq`` order."""

    reference: str | None = None
    deadline: str | None = None
    file_grace_seconds: int | None = None  # fingerprint first: files may follow this long
    bids: dict[str, LoggedBid] = field(default_factory=dict)  # by receipt id, in log order
    fingerprints: dict[str, LoggedBid] = field(default_factory=dict)  # likewise
    sealed: dict[int, str] = field(default_factory=dict)  # seq -> commitment
    reveals: dict[int, Reveal] = field(default_factory=dict)  # seq of the sealed event -> reveal
    superseded: dict[str, str] = field(default_factory=dict)  # receipt -> receipt superseding it
    # Receipts (files and fingerprints) withdrawn by the deadline -> the bid.withdrawn's seq.
    withdrawn: dict[str, int] = field(default_factory=dict)
    opened: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    opening_started: tuple[int, str] | None = None
    opening_finished: tuple[int, dict[str, Any]] | None = None
    halted: tuple[int, dict[str, Any]] | None = None  # the last opening.halted event
    # Who opens the tender (tender.created; logs from before committees: automatic).
    opening_method: str | None = None
    public_key: str | None = None  # that bids are sealed to (tender.created)
    # Two-envelope tenders (tender.created): financial envelopes are sealed to this key.
    envelopes: str = "single"
    financial_public_key: str | None = None
    # bid.qualification events, in log order (the last per supplier before the financial
    # opening was requested is the verdict), and the financial opening's own events.
    verdict_events: list[LoggedVerdict] = field(default_factory=list)
    financial_requested: tuple[int, str] | None = None
    financial_started: tuple[int, str] | None = None
    financial_finished: tuple[int, dict[str, Any]] | None = None
    committees: dict[str, LoggedCommittee] = field(default_factory=dict)  # by key name
    releases: list[LoggedRelease] = field(default_factory=list)
    unwraps: list[tuple[int, str]] = field(default_factory=list)  # tender.key_unwrapped: seq, at
    financial_unwraps: list[tuple[int, str]] = field(default_factory=list)  # of the financial key
    _sealed_supersessions: dict[int, bool] = field(default_factory=dict)
    _sealed_withdrawals: dict[int, str] = field(default_factory=dict)  # seq -> at

    @classmethod
    def of(cls, events: Iterable[Mapping[str, Any]]) -> TenderLedger:
        ledger = cls()
        for event in events:
            ledger.add(event)
        return ledger

    def add(self, event: Mapping[str, Any]) -> None:
        seq, kind, payload = event["seq"], event["kind"], event["payload"]
        if "commitment" in payload:
            self.sealed[seq] = payload["commitment"]
        if kind in (EventKind.TENDER_CREATED, EventKind.TENDER_EDITED):
            self.reference = payload.get("reference")
        if kind == EventKind.TENDER_CREATED:
            self.opening_method = payload.get("opening", "automatic")
            self.public_key = payload.get("public_key")
            self.envelopes = payload.get("envelopes", "single")
            self.financial_public_key = payload.get("financial_public_key")
        if kind in DEADLINE_EVENTS and "deadline" in payload:
            self.deadline = payload["deadline"]
            self.file_grace_seconds = payload.get("file_grace_seconds")
        elif kind in (EventKind.BID_RECEIVED, EventKind.BID_FINGERPRINTED):
            sealed = "commitment" in payload
            logged = LoggedBid(
                seq=seq,
                at=event["at"],
                receipt_id=str(payload.get("receipt_id")),
                commitment=payload.get("commitment"),
                fields=None if sealed else dict(payload),
                deadline=self.deadline,
            )
            kept = self.bids if kind == EventKind.BID_RECEIVED else self.fingerprints
            kept[logged.receipt_id] = logged
        elif kind == EventKind.BID_SUPERSEDED:
            if "commitment" in payload:
                self._sealed_supersessions[seq] = True
            else:
                self.superseded[str(payload["receipt_id"])] = str(payload["superseded_by"])
        elif kind == EventKind.BID_WITHDRAWN:
            if "commitment" in payload:
                self._sealed_withdrawals[seq] = event["at"]
            else:
                self._withdraw(seq, event["at"], payload)
        elif kind == EventKind.SEALED_REVEALED:
            self._reveal(payload)
        elif kind == EventKind.BID_OPENED:
            self.opened[str(payload.get("receipt_id"))] = (seq, dict(payload))
        elif kind == EventKind.OPENING_STARTED:
            self.opening_started = (seq, event["at"])
        elif kind == EventKind.OPENING_FINISHED:
            self.opening_finished = (seq, dict(payload))
        elif kind == EventKind.OPENING_HALTED:
            self.halted = (seq, dict(payload))
        elif kind == EventKind.COMMITTEE_FORMED:
            self._form(seq, payload)
        elif kind == EventKind.COMMITTEE_SHARE_RELEASED:
            self.releases.append(
                LoggedRelease(
                    seq=seq,
                    at=event["at"],
                    key=str(payload["key"]),
                    member_id=str(payload["member_id"]),
                    share_commitment=str(payload["share_commitment"]),
                )
            )
        elif kind == EventKind.TENDER_KEY_UNWRAPPED:
            self.unwraps.append((seq, event["at"]))
            if payload.get("key") == FINANCIAL:
                self.financial_unwraps.append((seq, event["at"]))
        elif kind == EventKind.BID_QUALIFICATION:
            self.verdict_events.append(
                LoggedVerdict(
                    seq=seq,
                    at=event["at"],
                    supplier_id=str(payload["supplier_id"]),
                    supplier_organisation=str(payload.get("supplier_organisation", "")),
                    qualified=payload["qualified"] is True,
                    reason=str(payload.get("reason", "")),
                    officer=str(payload.get("officer", "")),
                )
            )
        elif kind == EventKind.FINANCIAL_OPENING_REQUESTED and self.financial_requested is None:
            self.financial_requested = (seq, event["at"])
        elif kind == EventKind.FINANCIAL_OPENING_STARTED and self.financial_started is None:
            self.financial_started = (seq, event["at"])
        elif kind == EventKind.FINANCIAL_OPENING_FINISHED:
            self.financial_finished = (seq, dict(payload))

    @property
    def verdicts(self) -> dict[str, LoggedVerdict]:
        """Each supplier's verdict, by supplier id: their last ``bid.qualification`` before
        the financial opening was requested (later ones decide nothing)."""
        until = None if self.financial_requested is None else self.financial_requested[0]
        return {
            verdict.supplier_id: verdict
            for verdict in self.verdict_events
            if until is None or verdict.seq < until
        }

    def public_key_of(self, key: str) -> str | None:
        """The public half the log gives for the tender's key named ``key``."""
        return self.financial_public_key if key == FINANCIAL else self.public_key

    def financial_due(self) -> list[LoggedBid]:
        """The financial envelopes the financial opening must open: those due of the bids
        whose verdict is qualified (none before the financial opening is requested)."""
        if self.financial_requested is None:
            return []
        verdicts = self.verdicts
        return [
            bid
            for bid in self.to_open(FINANCIAL)
            if (verdict := verdicts.get(str(bid.supplier))) is not None and verdict.qualified
        ]

    def _form(self, seq: int, payload: Mapping[str, Any]) -> None:
        key = str(payload["key"])
        if key in self.committees:
            return  # a committee is formed once; a second event for the same key decides nothing
        self.committees[key] = LoggedCommittee(
            seq=seq,
            key=key,
            quorum=int(payload["quorum"]),
            public_key=str(payload["public_key"]),
            members={
                str(member["member_id"]): CommitteeMember(
                    member_id=str(member["member_id"]),
                    name=str(member["name"]),
                    organisation=str(member["organisation"]),
                    index=int(member["index"]),
                    member_key=str(member["member_key"]),
                    share_commitment=str(member["share_commitment"]),
                )
                for member in payload["members"]
            },
        )

    def release_problem(self, release: LoggedRelease) -> str | None:
        """Why ``release`` does not count towards its committee's quorum (None if it does): it
        is not by a member, not of the share dealt to them, before the deadline in the log, or
        a member's second."""
        committee = self.committees.get(release.key)
        member = None if committee is None else committee.members.get(release.member_id)
        due = self.files_until
        if member is None:
            return f"member {release.member_id} is not on the committee of key {release.key!r}"
        if release.share_commitment != member.share_commitment:
            return (
                f"{member.name}'s released share is not the share dealt to them (its commitment "
                f"is {release.share_commitment}, the committee's {member.share_commitment})"
            )
        if due is None or parse_time(release.at) < parse_time(due):
            return f"{member.name} released at {release.at}, before the deadline ({due})"
        if release.key == FINANCIAL and (
            self.financial_requested is None or release.seq < self.financial_requested[0]
        ):
            return (
                f"{member.name} released a share of the financial key (at {release.at}) before "
                "the financial opening was requested"
            )
        first = next(
            r for r in self.releases if (r.key, r.member_id) == (release.key, release.member_id)
        )
        if first is not release:
            return f"{member.name} released a share again (first in event {first.seq})"
        return None

    def released(self, key: str, *, before_seq: int | None = None) -> list[LoggedRelease]:
        """The releases that count towards the quorum of ``key``'s committee (those before
        event ``before_seq`` only, if given), in log order."""
        return [
            release
            for release in self.releases
            if release.key == key
            and (before_seq is None or release.seq < before_seq)
            and self.release_problem(release) is None
        ]

    def _reveal(self, payload: Mapping[str, Any]) -> None:
        seq, salt, fields = payload.get("seq"), payload.get("salt"), payload.get("fields")
        if not isinstance(seq, int) or not isinstance(salt, str) or not isinstance(fields, dict):
            return
        self.reveals[seq] = Reveal(seq, salt, fields)
        if not opens(self.sealed.get(seq), salt, fields):
            return  # a reveal that does not open its commitment decides nothing
        for bid in [*self.bids.values(), *self.fingerprints.values()]:
            if bid.seq == seq:
                bid.fields = dict(fields)
        if self._sealed_supersessions.get(seq):
            self.superseded[str(fields.get("receipt_id"))] = str(fields.get("superseded_by"))
        if seq in self._sealed_withdrawals:
            self._withdraw(seq, self._sealed_withdrawals[seq], fields)

    def _withdraw(self, seq: int, at: str, fields: Mapping[str, Any]) -> None:
        """A withdrawal counts if it came by the deadline in force (a later one decides
        nothing: the bid was received, and the platform should have refused it)."""
        if self.deadline is None or parse_time(at) > parse_time(self.deadline):
            return
        receipts = fields.get("withdrawn")
        for receipt_id in receipts if isinstance(receipts, list) else []:
            self.withdrawn[str(receipt_id)] = seq

    def unrevealed(self) -> list[int]:
        """Sealed events no reveal opens (after the opening, each is a failure)."""
        return [
            seq
            for seq, commitment in self.sealed.items()
            if not (reveal := self.reveals.get(seq))
            or not opens(commitment, reveal.salt, reveal.fields)
        ]

    @property
    def files_until(self) -> str | None:
        """The last moment a file counts: the deadline, or the end of the files' grace."""
        if self.deadline is None or not self.file_grace_seconds:
            return self.deadline
        end = parse_time(self.deadline) + timedelta(seconds=self.file_grace_seconds)
        return end.isoformat().replace("+00:00", "Z")

    def fingerprint_fulfilled(self, bid: LoggedBid) -> LoggedBid | None:
        """The fingerprint a file received after the deadline fulfils: the last one its
        supplier registered by the deadline for that file name, if the hashes are equal and the
        file came within the grace period."""
        files_until = self.files_until
        if bid.key is None or files_until is None or self.files_until == self.deadline:
            return None
        if parse_time(bid.at) > parse_time(files_until):
            return None
        registered = [f for f in self.fingerprints.values() if f.on_time and f.key == bid.key]
        last = registered[-1] if registered else None
        if last is None or last.receipt_id in self.withdrawn:
            return None
        return last if last.sha256 == bid.sha256 else None

    def counts(self, bid: LoggedBid) -> bool:
        """Received in time: by the deadline, or fulfilling a fingerprint sent by it."""
        return bid.on_time or self.fingerprint_fulfilled(bid) is not None

    def to_open(self, envelope: str | None = None) -> list[LoggedBid]:
        """The bids the opening must open: for each supplier and file name, the latest receipt
        that was received in time and whose fields are known, unless superseded or
        withdrawn (in ``envelope`` only, if given)."""
        latest: dict[tuple[str, str], LoggedBid] = {}
        for bid in self.bids.values():
            if bid.key is not None and self.counts(bid):
                latest[bid.key] = bid
        return sorted(
            (
                bid
                for bid in latest.values()
                if bid.receipt_id not in self.superseded
                and bid.receipt_id not in self.withdrawn
                and (envelope is None or bid.envelope == envelope)
            ),
            key=lambda bid: bid.seq,
        )

    def unfulfilled(self) -> list[LoggedBid]:
        """Fingerprints registered in time whose file never came (or came with another hash):
        the opening records each as a file not received."""
        fulfilled = {
            fingerprint.receipt_id
            for bid in self.to_open()
            if (fingerprint := self.fingerprint_fulfilled(bid)) is not None
        }
        last: dict[tuple[str, str], LoggedBid] = {}
        for fingerprint in self.fingerprints.values():
            if fingerprint.on_time and fingerprint.key is not None:
                last[fingerprint.key] = fingerprint
        withdrawn = {key for key, f in last.items() if f.receipt_id in self.withdrawn}
        opened_in_time = {bid.key for bid in self.to_open() if bid.on_time}
        return [
            fingerprint
            for key, fingerprint in last.items()
            if fingerprint.receipt_id not in fulfilled
            and key not in opened_in_time
            and key not in withdrawn
        ]

    def late(self) -> list[LoggedBid]:
        """Receipts logged that were not received in time: the platform should have refused
        them. (While a receipt is sealed, only its time is known: after the files' grace it is
        late whatever it holds.)"""
        files_until = self.files_until
        return [
            bid
            for bid in self.bids.values()
            if (not self.counts(bid) if bid.fields is not None else not bid.on_time)
            and (
                bid.fields is not None
                or files_until is None
                or parse_time(bid.at) > parse_time(files_until)
            )
        ]
