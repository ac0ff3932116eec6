"""The log against its signed checkpoints: wherever the events come from.

An auditor's bundle (:mod:`.bundle`) and the platform's own database (``tender audit verify``,
``GET /api/audit/verify``) are both read as the log's lines -- each event's body, the bytes its
hashes cover -- and checked here against every Object-Locked checkpoint copy: each signed by the
platform, each over the tree the lines give, and each consistent with the one before. A
database rewritten with every hash redone, or cut short, still disagrees with the copies it
cannot change. Every line is hashed; only the lines a tender's ledger needs are parsed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any, Final

from tender.verifier import merkle
from tender.verifier.chain import ChainVerification, LogScan
from tender.verifier.checks import Checker
from tender.verifier.kinds import EventKind
from tender.verifier.ledger import TenderLedger
from tender.verifier.notes import CheckpointError, NoteVerifier, verify_checkpoint

CheckpointCopies = Mapping[int, Sequence[tuple[str, Mapping[str, Any]]]]
"""Locked checkpoint copies by tree size: (where the copy was found, its JSON), every version
of each; a size signed twice over different roots is a forgery to show, not to pick from."""

SKIPPED_KINDS: Final = frozenset(
    {
        EventKind.USER_CREATED,
        EventKind.CERTIFICATE_REGISTERED,
        EventKind.BID_REFUSED,
        EventKind.STORAGE_ORPHANED,
        EventKind.TENDER_KEY_RELEASED,
        EventKind.TENDER_KEY_REFUSED,
        EventKind.COMMITTEE_KEY_REGISTERED,
        EventKind.COMMITTEE_SHARE_REFUSED,
        EventKind.BID_READ,
        EventKind.REQUEST_REFUSED,
    }
)
"""Kinds :meth:`TenderLedger.add` ignores (unless sealed: see :data:`COMMITMENT_MARK`), whose
lines are hashed but not parsed; every other kind is parsed, including any added later
(tests/verifier/test_logcheck.py holds this list to the ledger)."""
COMMITMENT_MARK: Final = b'"commitment":'
"""An event of any kind whose payload holds a commitment is sealed, and the ledger needs it: a
key in a body is a quoted string followed by a colon, so no line that has one lacks these bytes."""


class LogReader:
    """Leaf hashes and facts collected while the log's lines are read, in order.

    ``checkpoint_sizes``: the tree sizes whose roots to note; ``receipt_seqs``: the events whose
    chain hashes to note (and the one before each), to compare with the receipts. Lines are
    parsed only where a tender's ledger needs them, or all of them with ``every_line``.
    """

    def __init__(
        self,
        checkpoint_sizes: Iterable[int],
        receipt_seqs: Iterable[int] = (),
        *,
        every_line: bool = False,
    ) -> None:
        seqs = set(receipt_seqs)
        self.leaves: list[bytes] = []  # every leaf hash, once the lines are read
        self.tenders: dict[str, TenderLedger] = {}
        self._unreadable: list[tuple[int, str]] = []
        self._scan = LogScan(
            skip_kinds=SKIPPED_KINDS,
            marks=(COMMITMENT_MARK,),
            every_line=every_line,
            on_event=self._add,
            keep_leaves=True,
            roots_at=set(checkpoint_sizes),
            hashes_at=seqs | {seq - 1 for seq in seqs},
        )

    @property
    def roots(self) -> dict[int, bytes]:
        """The Merkle root at each checkpoint size the log reached."""
        return self._scan.roots

    def chain_hash(self, seq: int) -> str | None:
        """The chain hash (hex) after event ``seq`` (0: the genesis), if it was noted."""
        found = self._scan.hashes.get(seq)
        return None if found is None else found.hex()

    def read(self, bodies: Iterable[bytes]) -> None:
        """Read the next lines, each without its line feed."""
        self._scan.read(bodies)

    def read_file(self, stream: IO[bytes]) -> None:
        """Read the rest of the log from a JSON-lines file."""
        self._scan.read_file(stream)

    def finish(self, check: Checker) -> ChainVerification:
        """After the last line: the ``hash chain`` check (every line in its place, and every
        line read canonical), and any event the ledger could not read."""
        self.leaves = self._scan.leaves
        chain = self._scan.result()
        check("hash chain", chain.ok, chain.describe())
        for seq, problem in self._unreadable[:1]:
            check(f"event {seq}", False, problem)
        return chain

    def _add(self, event: dict[str, Any]) -> None:
        tender_id = event["tender_id"]
        if tender_id is None:
            return
        try:
            self.tenders.setdefault(tender_id, TenderLedger()).add(event)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self._unreadable.append(
                (
                    event["seq"],
                    f"a {event['kind']} event whose payload is not what one holds "
                    f"({type(exc).__name__}: {exc})",
                )
            )


def check_chain(bodies: Iterable[bytes], log: LogReader, check: Checker) -> None:
    """Read the whole log (its lines without line feeds, in order) into ``log``, and check it."""
    log.read(bodies)
    log.finish(check)


def check_checkpoints(
    copies: CheckpointCopies, log: LogReader, verifier: NoteVerifier, check: Checker
) -> None:
    """Each checkpoint copy signed by the platform, over the tree the events give; and
    successive checkpoints consistent (an RFC 9162 proof made from the events, checked on the
    signed roots)."""
    signed_roots: dict[int, bytes] = {}
    for size, found in sorted(copies.items()):
        for where, copy in found:
            try:
                checkpoint = verify_checkpoint(verifier, copy["note"], origin=verifier.name)
            except (CheckpointError, KeyError, TypeError) as exc:
                check(f"checkpoint {size} signature", False, f"{where}: {exc}")
                continue
            if not check(
                f"checkpoint {size} signature",
                checkpoint.size == size,
                f"{where} is signed by {verifier.label}"
                if checkpoint.size == size
                else f"{where} holds a checkpoint of size {checkpoint.size}",
            ):
                continue
            signed_roots.setdefault(size, checkpoint.root)
            if size > len(log.leaves):
                check(
                    f"checkpoint {size} root",
                    False,
                    f"the platform signed a tree of {size} events, but the log has only "
                    f"{len(log.leaves)}: events were removed from its end",
                )
                continue
            recomputed = log.roots.get(size, merkle.EMPTY_ROOT)
            check(
                f"checkpoint {size} root",
                recomputed == checkpoint.root,
                f"the first {size} events give the signed root {recomputed.hex()}"
                if recomputed == checkpoint.root
                else f"the platform signed root {checkpoint.root.hex()} for the first {size} "
                f"events ({where}), but they give {recomputed.hex()}: the log was rewritten",
            )
    sizes = [s for s in sorted(signed_roots) if 0 < s <= len(log.leaves)]
    for old, new in itertools.pairwise(sizes):
        try:
            proof = merkle.consistency_proof(log.leaves[:new], old)
            merkle.verify_consistency(old, new, signed_roots[old], signed_roots[new], proof)
            check(
                f"consistency {old} -> {new}",
                True,
                f"the signed tree of {new} events extends the signed tree of {old}",
            )
        except merkle.ProofError as exc:
            check(f"consistency {old} -> {new}", False, str(exc))
