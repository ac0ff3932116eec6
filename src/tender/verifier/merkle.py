"""Merkle tree mathematics for the audit log, as in RFC 9162 §2.1 (the same as RFC 6962 §2).

Each audit event becomes one leaf of an append-only Merkle tree. This module holds only the
mathematics, with SHA-256 and nothing but the standard library, so an auditor can check a log
offline:

* :func:`leaf_hash`, :func:`node_hash`, :data:`EMPTY_ROOT` -- the hashing of §2.1.1;
* :func:`root` -- the Merkle Tree Hash MTH of §2.1.1;
* :class:`MerkleAccumulator` -- the same root computed leaf by leaf in O(log n) memory (§2.1.2);
* :func:`inclusion_proof` / :func:`verify_inclusion` -- PATH, §2.1.3.1 and §2.1.3.2;
* :func:`consistency_proof` / :func:`verify_consistency` -- PROOF/SUBPROOF, §2.1.4.1 and §2.1.4.2;
* :func:`inclusion_path`, :func:`consistency_path`, :func:`perfect_cover`, :func:`fold` -- the
  same proofs from stored perfect-subtree roots, so a log of any size answers in O(log n) reads.

Everything here takes *leaf hashes*, never raw entries: hash each entry with :func:`leaf_hash`
first. Every hash passed to a function of this module must be a 32-byte SHA-256 digest; the
verifiers raise :class:`ProofError` (a :class:`ValueError`) naming the check that failed, and
return ``None`` on success.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Final

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MerkleAccumulator",
    "ProofError",
    "SubtreeRoot",
    "consistency_path",
    "consistency_proof",
    "fold",
    "inclusion_path",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "perfect_cover",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE: Final = 32
"""Size in bytes of every hash in the tree (SHA-256)."""

EMPTY_ROOT: Final[bytes] = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256 of the empty string, the root of the tree with no leaves (RFC 9162 §2.1.1)."""

SubtreeRoot = Callable[[int, int], bytes]
"""``subtree_root(lo, hi)`` = MTH(D[lo:hi]), the root of the subtree over leaves lo to hi - 1."""

_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"
_sha256 = hashlib.sha256


class ProofError(ValueError):
    """A proof, a root or its parameters failed verification; the message says which check."""


def leaf_hash(data: bytes) -> bytes:
    """Hash one log entry into a leaf: SHA-256(0x00 || data) (RFC 9162 §2.1.1, MTH({d(0)}))."""
    return _sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash two child nodes into their parent: SHA-256(0x01 || left || right) (RFC 9162 §2.1.1)."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash MTH(D[n]) of RFC 9162 §2.1.1 over the given leaf hashes, for any n >= 0.

    Computed bottom-up, one level at a time, hashing every interior node exactly once (n - 1
    hashes). Pairing neighbours and promoting a level's lone last node unchanged builds the same
    tree as the RFC's recursive split at the largest power of two below n.
    """
    _check_leaf_hashes(leaf_hashes)
    return _subtree_root(leaf_hashes, 0, len(leaf_hashes))


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path PATH(index, D[n]) of RFC 9162 §2.1.3.1, lowest sibling first.

    ``index`` counts from 0 and must be below ``len(leaf_hashes)``; a bad index raises
    :class:`ValueError`. Takes O(n) hashing: each sibling subtree root is recomputed.
    """
    _check_leaf_hashes(leaf_hashes)
    return inclusion_path(len(leaf_hashes), index, _roots_of(leaf_hashes))


def inclusion_path(size: int, index: int, subtree_root: SubtreeRoot) -> list[bytes]:
    """PATH(index, D[size]) with each sibling's hash from ``subtree_root(lo, hi)`` =
    MTH(D[lo:hi]): from leaves (:func:`inclusion_proof`) or from stored nodes (the platform)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is out of range for a tree of {size} leaves")
    # PATH(m, D[lo:hi]) = PATH(m, D[lo:lo+k]) : MTH(D[lo+k:hi]) if m < k, else
    # PATH(m - k, D[lo+k:hi]) : MTH(D[lo:lo+k]). Walking down collects the siblings top first.
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            path.append(subtree_root(mid, hi))
            hi = mid
        else:
            path.append(subtree_root(lo, mid))
            lo = mid
    path.reverse()
    return path


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """The consistency proof PROOF(old_size, D[n]) of RFC 9162 §2.1.4.1 (built from SUBPROOF).

    Proves that the tree of the first ``old_size`` leaves is a prefix of the tree of all
    ``len(leaf_hashes)`` leaves. Requires ``1 <= old_size <= n`` (the RFC defines no proof from
    the empty tree); ``old_size == n`` gives the empty proof. Takes O(n) hashing.
    """
    _check_leaf_hashes(leaf_hashes)
    return consistency_path(len(leaf_hashes), old_size, _roots_of(leaf_hashes))


def consistency_path(size: int, old_size: int, subtree_root: SubtreeRoot) -> list[bytes]:
    """PROOF(old_size, D[size]) with subtree hashes from ``subtree_root`` (see
    :func:`inclusion_path`)."""
    if not 1 <= old_size <= size:
        raise ValueError(
            f"old_size {old_size} is out of range for a tree of {size} leaves "
            "(a consistency proof needs 1 <= old_size <= size)"
        )
    # SUBPROOF(m, D[lo:hi], b): if m == hi - lo, {} when b else {MTH(D[lo:hi])}; else with k
    # the split, SUBPROOF(m, D[lo:lo+k], b) : MTH(D[lo+k:hi]) if m <= k, otherwise
    # SUBPROOF(m - k, D[lo+k:hi], false) : MTH(D[lo:lo+k]). Collected top first, then reversed.
    proof: list[bytes] = []
    lo, hi, m, whole_old_tree = 0, size, old_size, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            proof.append(subtree_root(lo + k, hi))
            hi = lo + k
        else:
            proof.append(subtree_root(lo, lo + k))
            lo, m, whole_old_tree = lo + k, m - k, False
    if not whole_old_tree:
        proof.append(subtree_root(lo, hi))
    proof.reverse()
    return proof


def perfect_cover(lo: int, hi: int) -> list[tuple[int, int]]:
    """The perfect subtrees (level, index) -- leaves [index * 2**level, (index + 1) * 2**level)
    -- whose roots, folded right to left with :func:`node_hash`, give MTH(D[lo:hi]).

    Holds for every range the RFC's recursive split produces (``lo`` a multiple of the largest
    power of two not above ``hi - lo``): at most log2(n) + 1 subtrees, largest first.
    """
    cover: list[tuple[int, int]] = []
    while hi - lo > 0:
        level = (hi - lo).bit_length() - 1  # the largest power of two not above the width
        cover.append((level, lo >> level))
        lo += 1 << level
    return cover


def fold(roots: Sequence[bytes]) -> bytes:
    """MTH over consecutive perfect subtrees given by their roots, largest (leftmost) first."""
    if not roots:
        return EMPTY_ROOT
    r = roots[-1]
    for h in reversed(roots[:-1]):
        r = node_hash(h, r)
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves with ``root``.

    The algorithm of RFC 9162 §2.1.3.2. The walk of ``fn``/``sn`` over the tree depends only on
    ``index`` and ``size``, so it is done first to know the exact proof length (the RFC's "sn is
    0" checks); then the proof is folded into a root and compared. Raises :class:`ProofError`.
    """
    _check_hash("leaf hash", leaf_hash)
    _check_hash("root", root)
    if index < 0 or size < 0:
        raise ProofError(f"index ({index}) and size ({size}) must not be negative")
    if index >= size:
        raise ProofError(
            f"leaf index {index} is out of range for a tree of size {size} "
            "(inclusion needs 0 <= index < size)"
        )
    left_siblings = _inclusion_walk(index, size)
    if len(proof) != len(left_siblings):
        raise ProofError(
            f"wrong proof length: got {len(proof)} hashes, expected {len(left_siblings)} "
            f"for leaf {index} in a tree of size {size}"
        )
    _check_proof_hashes(proof)
    r = leaf_hash
    for p, is_left in zip(proof, left_siblings, strict=True):
        r = node_hash(p, r) if is_left else node_hash(r, p)
    if r != root:
        raise ProofError(
            f"root mismatch: the proof for leaf {index} in a tree of size {size} gives root "
            f"{r.hex()}, expected {root.hex()}"
        )


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of ``new_size`` leaves with ``new_root`` extends the ``old_size`` one.

    The algorithm of RFC 9162 §2.1.4.2, for ``0 < old_size < new_size``; equal sizes are
    consistent exactly when the roots are equal and the proof is empty. ``old_size == 0`` is
    rejected: the RFC defines no proof from the empty tree (every tree extends it, so there is
    nothing to prove), as in transparency-dev/merkle. Raises :class:`ProofError`.
    """
    _check_hash("old root", old_root)
    _check_hash("new root", new_root)
    if old_size < 0 or new_size < 0:
        raise ProofError(f"sizes must not be negative (old_size {old_size}, new_size {new_size})")
    if old_size > new_size:
        raise ProofError(
            f"old_size {old_size} is larger than new_size {new_size}: a log cannot shrink"
        )
    if old_size == 0:
        raise ProofError(
            "old_size is 0: RFC 9162 defines no consistency proof from the empty tree "
            "(every tree extends it, so there is nothing to verify)"
        )
    if old_size == new_size:
        if proof:
            raise ProofError(
                f"wrong proof length: got {len(proof)} hashes, expected 0 "
                f"because old_size and new_size are both {old_size}"
            )
        if old_root != new_root:
            raise ProofError(
                f"root mismatch: old_size and new_size are both {old_size} but the roots "
                f"differ ({old_root.hex()} != {new_root.hex()})"
            )
        return
    # §2.1.4.2 step 2: if old_size is a power of two, old_root is the first path element.
    old_is_perfect = old_size & (old_size - 1) == 0
    steps = _consistency_walk(old_size, new_size)
    expected = len(steps) + (0 if old_is_perfect else 1)
    if len(proof) != expected:
        raise ProofError(
            f"wrong proof length: got {len(proof)} hashes, expected {expected} "
            f"from tree size {old_size} to {new_size}"
        )
    _check_proof_hashes(proof)
    path = [old_root, *proof] if old_is_perfect else list(proof)
    fr = sr = path[0]
    for c, both in zip(path[1:], steps, strict=True):
        if both:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
        else:
            sr = node_hash(sr, c)
    if fr != old_root:
        raise ProofError(
            f"old root mismatch: the proof from size {old_size} to {new_size} gives old root "
            f"{fr.hex()}, expected {old_root.hex()}"
        )
    if sr != new_root:
        raise ProofError(
            f"new root mismatch: the proof from size {old_size} to {new_size} gives new root "
            f"{sr.hex()}, expected {new_root.hex()}"
        )


class MerkleAccumulator:
    """The root of a growing tree in O(log n) memory: RFC 9162 §2.1.2 ("Verifying a Tree Head
    Given Entries"), kept incremental.

    It holds only the roots of the perfect subtrees that make up the tree so far (the "compact
    range" [0, size)): one per set bit of ``size``, largest (leftmost) first. Appending a leaf
    merges equal-sized subtrees like a binary counter, so n appends cost n - 1 node hashes in
    all, and :meth:`root` folds the at most log2(n) + 1 subtree roots right to left.
    """

    __slots__ = ("_size", "_stack")

    def __init__(self) -> None:
        self._size = 0
        self._stack: list[bytes] = []

    @property
    def size(self) -> int:
        """The number of leaves appended so far."""
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """The perfect-subtree roots covering leaves [0, size), leftmost (largest) first."""
        return tuple(self._stack)

    def append(self, leaf_hash: bytes) -> None:
        """Add the next leaf hash (not the raw entry: see :func:`leaf_hash`)."""
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"a leaf hash must be {HASH_SIZE} bytes, got {len(leaf_hash)}")
        stack, h, n = self._stack, leaf_hash, self._size
        while n & 1:  # each trailing 1 bit of the old size is a subtree of the new leaf's size
            h = node_hash(stack.pop(), h)
            n >>= 1
        stack.append(h)
        self._size += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append every leaf hash of ``leaf_hashes`` in order (it may be a lazy iterator)."""
        for h in leaf_hashes:
            self.append(h)

    def root(self) -> bytes:
        """MTH of the leaves appended so far (RFC 9162 §2.1.1); :data:`EMPTY_ROOT` when none."""
        return fold(self._stack)

    def __repr__(self) -> str:
        return f"MerkleAccumulator(size={self._size}, root={self.root().hex()})"


def _split(n: int) -> int:
    """k of RFC 9162 §2.1.1: the largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _roots_of(leaf_hashes: Sequence[bytes]) -> SubtreeRoot:
    return lambda lo, hi: _subtree_root(leaf_hashes, lo, hi)


def _subtree_root(leaf_hashes: Sequence[bytes], lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]), level by level (see :func:`root`)."""
    if hi <= lo:
        return EMPTY_ROOT
    level = list(leaf_hashes[lo:hi])
    sha256, prefix = _sha256, _NODE_PREFIX
    while len(level) > 1:
        paired = [
            sha256(prefix + left + right).digest()
            for left, right in zip(level[0::2], level[1::2], strict=False)
        ]
        if len(level) & 1:
            paired.append(level[-1])
        level = paired
    return level[0]


def _inclusion_walk(index: int, size: int) -> list[bool]:
    """The index walk of RFC 9162 §2.1.3.2 step 4, one entry per proof hash.

    True means the proof hash is a left sibling (r = HASH(0x01 || p || r)), False a right one.
    The walk ends when sn reaches 0, which fixes the proof length. Requires 0 <= index < size.
    """
    fn, sn = index, size - 1
    left_siblings: list[bool] = []
    while sn:
        if fn & 1 or fn == sn:
            left_siblings.append(True)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            left_siblings.append(False)
        fn >>= 1
        sn >>= 1
    return left_siblings


def _consistency_walk(old_size: int, new_size: int) -> list[bool]:
    """The index walk of RFC 9162 §2.1.4.2 steps 3-6, one entry per path hash after the first.

    True means the hash is a left sibling on both paths (fr and sr both take it on the left),
    False that it is a right sibling for the new tree only (sr = HASH(0x01 || sr || c)). The walk
    ends when sn reaches 0. Requires 0 < old_size < new_size.
    """
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    steps: list[bool] = []
    while sn:
        if fn & 1 or fn == sn:
            steps.append(True)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            steps.append(False)
        fn >>= 1
        sn >>= 1
    return steps


def _check_hash(what: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} must be a {HASH_SIZE}-byte SHA-256 hash, got {len(value)} bytes")


def _check_proof_hashes(proof: Sequence[bytes]) -> None:
    for i, p in enumerate(proof):
        _check_hash(f"proof[{i}]", p)


def _check_leaf_hashes(leaf_hashes: Sequence[bytes]) -> None:
    for i, h in enumerate(leaf_hashes):
        if len(h) != HASH_SIZE:
            raise ValueError(
                f"leaf_hashes[{i}] is {len(h)} bytes, not a {HASH_SIZE}-byte leaf hash "
                "(hash entries with leaf_hash() first)"
            )
