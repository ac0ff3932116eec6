"""The log against its signed checkpoints: wherever the events come from.

An auditor's bundle (:mod:`.bundle`) and the platform's own database (``tender audit verify``,
``GET /api/audit/verify``) are both read as a stream of exported events and checked here
against every Object-Locked checkpoint copy: each signed by the platform, each over the tree
the events give, and each consistent with the one before. A database rewritten with every hash
redone, or cut short, still disagrees with the copies it cannot change.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from tender.verifier import merkle
from tender.verifier.chain import canonical_bytes, verify_chain
from tender.verifier.checks import Checker
from tender.verifier.ledger import TenderLedger
from tender.verifier.notes import CheckpointError, NoteVerifier, verify_checkpoint

CheckpointCopies = Mapping[int, Sequence[tuple[str, Mapping[str, Any]]]]
"""Locked checkpoint copies by tree size: (where the copy was found, its JSON), every version
of each; a size signed twice over different roots is a forgery to show, not to pick from."""


class LogReader:
    """Leaf hashes and facts collected while :func:`check_chain` reads the events."""

    def __init__(self, checkpoint_sizes: Iterable[int], keep: Iterable[int] = ()) -> None:
        self.leaves: list[bytes] = []
        self.roots: dict[int, bytes] = {}
        self.kept: dict[int, Mapping[str, Any]] = {}
        self.tenders: dict[str, TenderLedger] = {}
        self._tree = merkle.MerkleAccumulator()
        self._sizes = set(checkpoint_sizes)
        self._keep = set(keep)

    def add(self, event: Mapping[str, Any]) -> None:
        # The leaf is recomputed from the content, never taken from the event's leaf_hash
        # field: a checkpoint is compared with what the events say, not with what they claim.
        leaf = merkle.leaf_hash(canonical_bytes(event))
        self.leaves.append(leaf)
        self._tree.append(leaf)
        if self._tree.size in self._sizes:
            self.roots[self._tree.size] = self._tree.root()
        seq = len(self.leaves)
        if seq in self._keep:
            self.kept[seq] = event
        tender_id = event.get("tender_id")
        if tender_id is not None:
            self.tenders.setdefault(tender_id, TenderLedger()).add(event)


def check_chain(events: Iterable[Mapping[str, Any]], log: LogReader, check: Checker) -> None:
    """Recompute the hash chain of ``events`` (the whole log, in order), feeding ``log``."""

    def read() -> Iterator[Mapping[str, Any]]:
        for event in events:
            log.add(event)
            yield event

    stream = read()
    chain = verify_chain(stream)
    for _ in stream:  # verify_chain stops at the first break; the tree needs every leaf
        pass
    check("hash chain", chain.ok, chain.describe())


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
