"""Signed checkpoints of the audit log: issued, time-stamped, and copied under Object Lock.

A checkpoint is the C2SP tlog-checkpoint of the Merkle tree over the whole log at that moment
(origin, size, root, and an extension line ``time <issued at>``), signed with the platform's
Ed25519 key as a C2SP signed note, time-stamped by an RFC 3161 authority over the SHA-256 of
the signed note, and written to object-locked storage. A database rewritten afterwards
disagrees with the locked copies. One checkpoint per tree size: issuing twice at the same size
returns the first.

The checkpointer is one of the few parts that owns its transactions (see README, "How it is
built"): it reads the head in one short transaction, signs, time-stamps and writes the locked
copy with none open, and records the checkpoint in a second, so appends never wait on the
time-stamping authority.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import rfc8785
from pyhanko.sign.timestamps import TimeStamper
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tender.audit import service as audit
from tender.audit.models import CheckpointRecord
from tender.clock import Clock, format_time
from tender.errors import NotFound
from tender.i18n import gettext as _
from tender.signing import TrustStore
from tender.storage.objectstore import ObjectStore
from tender.verifier import jws
from tender.verifier.formats import CheckpointCopy, CheckpointSummary
from tender.verifier.notes import Checkpoint, NoteSigner, NoteVerifier, sign_checkpoint

log = logging.getLogger(__name__)
COVERING_POLL_SECONDS = 0.25  # how often a waiting receipt looks for another process's checkpoint


@dataclass(frozen=True, kw_only=True)
class Checkpointer:
    """Issues signed checkpoints; built once per platform, safe to share between threads."""

    sessions: sessionmaker[Session]
    store: ObjectStore
    bucket: str
    signer: NoteSigner
    timestamper: TimeStamper
    # The authorities the time-stamping authority's certificate chains to (for auditors).
    timestamp_trust: TrustStore
    clock: Clock
    retention: timedelta

    def issue(self, reason: str) -> CheckpointRecord:
        """Sign the current tree head (or return the checkpoint already issued at its size).

        The log is held still only while its head is read; signing, the time-stamp request
        (a network call in production) and the locked copy happen after, so appends never wait
        on the time-stamping authority.
        """
        with self.sessions.begin() as session:
            audit.lock_log(session)
            head = audit.tree_head(session)
            existing = session.get(CheckpointRecord, head.size)
            if existing is not None:
                return existing
        now = self.clock.now()
        note = sign_checkpoint(
            self.signer,
            Checkpoint(
                origin=self.signer.name,
                size=head.size,
                root=head.root,
                extensions=(f"time {format_time(now)}",),
            ),
        )
        token = asyncio.run(
            self.timestamper.async_timestamp(hashlib.sha256(note.encode()).digest(), "sha256")
        ).dump()
        key = f"audit/checkpoints/{head.size:012d}.json"
        copy: CheckpointCopy = {
            "note": note,
            "timestamp_token": base64.b64encode(token).decode("ascii"),
            "issued_at": format_time(now),
            "reason": reason,
        }
        body = json.dumps(copy, indent=2).encode()
        stored = self.store.put_locked(
            self.bucket, key, io.BytesIO(body), length=len(body), retain_until=now + self.retention
        )
        record = CheckpointRecord(
            size=head.size,
            root=head.root.hex(),
            issued_at=now,
            reason=reason,
            note=note,
            timestamp_token=token,
            object_key=key,
            object_version=stored.version_id,
        )
        try:
            with self.sessions.begin() as session:
                session.add(record)
        except IntegrityError:
            # Another process issued this size meanwhile: theirs stands (our locked copy is an
            # extra version nobody points at).
            with self.sessions.begin() as session:
                return at_size(session, head.size)
        return record

    @property
    def verifier(self) -> NoteVerifier:
        """What checks this checkpointer's signatures."""
        return NoteVerifier.parse(self.signer.verifier_key())

    def sign_json(self, document: Mapping[str, Any]) -> str:
        """``document`` as RFC 8785 JSON in a compact JWS signed with the platform's key."""
        return jws.sign(rfc8785.dumps(document), self.signer.key, kid=key_label(self.signer))


class CheckpointSchedule:
    """Signed checkpoints on a schedule: one every ``interval`` seconds while the log grows, and
    one as soon as the last is done whenever a receipt waits (:meth:`covering`).

    Not one per receipt, so that a checkpoint does not time-stamp each bid on its own: the
    receipts that arrive while one checkpoint is being signed and time-stamped all wait for
    the next, which covers them together (group commit). An idle platform answers a lone
    upload at once; a busy one issues checkpoints back to back, each for many receipts.
    ``on_issued`` runs after each scheduled checkpoint (the platform completes any receipt
    still unsigned).
    """

    def __init__(
        self,
        checkpointer: Checkpointer,
        *,
        interval: float,
        on_issued: Callable[[CheckpointRecord], object] | None = None,
    ) -> None:
        self.checkpointer = checkpointer
        self.interval = interval
        self.on_issued = on_issued
        self._issued = threading.Condition()
        self._latest_size = -1
        self._wanted = 0  # the highest event a receipt of this process waits to see covered
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="tender-checkpoints", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._issued:
            self._issued.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def run_once(self) -> CheckpointRecord | None:
        """A checkpoint if the log grew since the last one; else None."""
        with self.checkpointer.sessions.begin() as session:
            last = latest(session)
            size = audit.log_size(session)
        if last is not None and last.size >= size:
            self._note(last.size)
            return None
        record = self.checkpointer.issue("schedule")
        self._note(record.size)
        if self.on_issued is not None:
            self.on_issued(record)
        return record

    def covering(self, seq: int, *, timeout: float) -> CheckpointRecord | None:
        """The first checkpoint whose tree holds event ``seq``, waiting up to ``timeout``
        seconds for the schedule (of this process or another) to issue one; None if none
        came."""
        give_up = time.monotonic() + timeout
        with self._issued:  # wakes this process's schedule: a receipt waits
            if seq > self._wanted:
                self._wanted = seq
                self._issued.notify_all()
        while True:
            with self.checkpointer.sessions.begin() as session:
                found = session.scalar(
                    select(CheckpointRecord)
                    .where(CheckpointRecord.size >= seq)
                    .order_by(CheckpointRecord.size)
                    .limit(1)
                )
            left = give_up - time.monotonic()
            if found is not None or left <= 0:
                return found
            with self._issued:  # woken by this process's schedule; others are polled for
                self._issued.wait_for(
                    lambda: self._latest_size >= seq, timeout=min(left, COVERING_POLL_SECONDS)
                )

    def _note(self, size: int) -> None:
        with self._issued:
            self._latest_size = max(self._latest_size, size)
            self._issued.notify_all()

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._issued:
                self._issued.wait_for(
                    lambda: self._stop.is_set() or self._wanted > self._latest_size,
                    timeout=self.interval,
                )
            if self._stop.is_set():
                return
            try:
                self.run_once()
            except Exception:  # the next round may succeed; receipts wait or fall back
                log.exception("scheduled checkpoint failed")
                self._stop.wait(self.interval)


def latest(session: Session) -> CheckpointRecord | None:
    return session.scalar(select(CheckpointRecord).order_by(CheckpointRecord.size.desc()).limit(1))


def at_size(session: Session, size: int) -> CheckpointRecord:
    record = session.get(CheckpointRecord, size)
    if record is None:
        raise NotFound(
            _("No checkpoint was issued at tree size {size}.").format(size=size),
            _(
                "Checkpoints are issued on a schedule while the log grows, and at deadlines and "
                "openings."
            ),
            _("GET /api/audit/checkpoints/latest gives the newest; prove consistency from there."),
        )
    return record


def key_label(signer: NoteSigner) -> str:
    """``name+keyid``: how receipts and checkpoints name the key that signed them."""
    return f"{signer.name}+{signer.key_id.hex()}"


def checkpoint_summary(record: CheckpointRecord) -> CheckpointSummary:
    """What a receipt or opening record carries of a checkpoint."""
    return {
        "size": record.size,
        "root": record.root,
        "note": record.note,
        "timestamp_token": base64.b64encode(record.timestamp_token).decode("ascii"),
    }
