"""The hash chain and the log's lines, independent of the database.

An event's **body** is its fields ``seq, at, actor, tender_id, kind, payload`` in the JSON
Canonicalization Scheme (RFC 8785: sorted keys, no insignificant white space, UTF-8,
ECMAScript number form), with times as ISO 8601 UTC strings with microseconds and a ``Z``.
The platform stores each body as it hashed it (``audit_events.body``) and exports it as it is:
``events.jsonl`` holds one body per line, in sequence order, each followed by a line feed
(RFC 8785 text never holds a raw line feed: it escapes control characters in strings).

* the chain hash of an event is ``SHA-256(prev || body)``, ``prev`` the chain hash of the event
  before (32 zero bytes for the first): changing, removing, inserting or reordering any event
  changes every chain hash after it;
* its RFC 9162 leaf is ``SHA-256(0x00 || body)``: the signed checkpoints cover these bytes.

Reading a log (:class:`LogScan`) hashes each line as it is and parses only what it checks.
Where each line sits is read without parsing it: in a body the keys come sorted (``actor,
at, kind, payload, seq, tender_id``) and a string holds no unescaped ``"``, so the last
``,"seq":`` of a line is the event's own sequence number and the first ``,"kind":"`` its kind.
The lines a caller needs (by kind), and any line whose sequence number is not where it should
be, are parsed (:func:`parse_line`) and must be exactly the canonical JSON of an audit event;
the first that is not is named. Every other line is checked as bytes: its hashes, which the
signed checkpoints cover, bind it to what the platform signed.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any, Final

import rfc8785

from tender.verifier import merkle

GENESIS_HASH = "00" * 32
CHAINED_FIELDS = ("seq", "at", "actor", "tender_id", "kind", "payload")
HASH_FIELDS = ("prev_hash", "hash", "leaf_hash")
"""Derived from the bodies: the API and receipts show them; ``events.jsonl`` does not."""


def canonical_bytes(event: Mapping[str, Any]) -> bytes:
    """The body of ``event`` (a dict with the chained fields, JSON-ready): the bytes hashed."""
    return rfc8785.dumps({name: event[name] for name in CHAINED_FIELDS})


def chain_hash(prev_hash: str, event: Mapping[str, Any]) -> str:
    """The hash of ``event`` following an event whose hash is ``prev_hash`` (hex)."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical_bytes(event)).hexdigest()


def leaf_hash(event: Mapping[str, Any]) -> str:
    """The RFC 9162 leaf hash of ``event`` (hex): SHA-256(0x00 || canonical bytes)."""
    return merkle.leaf_hash(canonical_bytes(event)).hex()


# --- one line -----------------------------------------------------------------------------------


class LineError(ValueError):
    """A line of the log that is not the canonical JSON of an audit event; says what it is."""


class _Unusual(Exception):  # noqa: N818 -- a signal inside the decoder, never seen outside
    """A number Python's JSON and RFC 8785 may write differently: judged by rfc8785 itself."""


def _unusual(text: str) -> Any:
    raise _Unusual(text)


def _integer(text: str) -> int:
    # Up to 15 digits every integer is inside RFC 8785's ±(2**53 - 1) and written the same way.
    if len(text) > 15:
        raise _Unusual(text)
    return int(text)


# json's C decoder and encoder, set so that for the JSON they accept they write exactly what
# RFC 8785 writes: the same escapes (only '"', '\\' and control characters, \u00XX lowercase),
# UTF-8 as it is, sorted keys, no white space. Where the two could differ -- numbers with a
# fraction or exponent, integers beyond 15 digits, NaN, keys that sort differently in UTF-16
# (characters from U+E000 up) -- rfc8785 itself decides (tests/verifier/test_chain.py compares
# the two on many values).
_DECODER: Final = json.JSONDecoder(
    parse_float=_unusual, parse_int=_integer, parse_constant=_unusual
)
_ENCODER: Final = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
)
# The decoder's scanner: a value and where it ends, without decode()'s Python around it.
_scan_once: Final[Callable[[str, int], tuple[Any, int]]] = _DECODER.scan_once  # type: ignore[attr-defined]
# The C encoder json.JSONEncoder.encode builds anew for every call, built once (it is the same
# encoder, with the settings above); where there is none, encode() itself.
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_encode_chunks: Final = (
    None
    if _c_make_encoder is None
    else _c_make_encoder(
        None, None, json.encoder.encode_basestring, None, ":", ",", True, False, False
    )
)


def _encode(value: object) -> str:
    if _encode_chunks is None:
        return _ENCODER.encode(value)
    return "".join(_encode_chunks(value, 0))


_ORDER_MAY_DIFFER: Final = re.compile("[\ue000-\U0010ffff]")
_SHAPE: Final = {
    "seq": (int,),
    "at": (str,),
    "actor": (str,),
    "tender_id": (str, type(None)),
    "kind": (str,),
    "payload": (dict,),
}


def parse_line(line: bytes) -> dict[str, Any]:
    """The event a log line holds (its chained fields), if the line is exactly their RFC 8785
    canonical JSON; otherwise :class:`LineError` saying what the line is instead."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LineError(f"it is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        try:
            event, end = _scan_once(text, 0)
            exact = text.isascii() or _ORDER_MAY_DIFFER.search(text) is None
        except _Unusual:
            event, end, exact = json.loads(text), len(text), False
    except StopIteration:
        raise LineError("it is not JSON (no value at its start)") from None
    except (ValueError, RecursionError) as exc:
        raise LineError(f"it is not JSON ({exc})") from None
    if end != len(text):
        raise LineError(f"it is not JSON (more after the value, at character {end})")
    _check_shape(event)
    try:
        canonical = _encode(event) == text if exact else rfc8785.dumps(event) == line
    except (ValueError, rfc8785.CanonicalizationError):  # NaN, integers beyond ±(2**53 - 1)
        canonical = False
    if not canonical:
        raise LineError(
            "it is not in RFC 8785 canonical form: the same JSON written with other bytes "
            "than the platform hashed"
        )
    return event  # type: ignore[no-any-return]


def _check_shape(event: object) -> None:
    if (
        type(event) is dict
        and event.keys() == _SHAPE.keys()
        and type(event["seq"]) is int
        and type(event["at"]) is str
        and type(event["actor"]) is str
        and type(event["kind"]) is str
        and type(event["payload"]) is dict
        and (event["tender_id"] is None or type(event["tender_id"]) is str)
    ):
        return
    raise LineError(_what_instead(event))


def _what_instead(event: object) -> str:
    if not isinstance(event, dict):
        return f"it is JSON, but a {type(event).__name__}, not an audit event"
    if event.keys() == {*CHAINED_FIELDS, *HASH_FIELDS}:
        return (
            "it holds prev_hash, hash and leaf_hash too: a line of the format before "
            "tender-audit-bundle/2; export the log again with this version"
        )
    missing, extra = sorted(_SHAPE.keys() - event.keys()), sorted(event.keys() - _SHAPE.keys())
    if missing or extra:
        parts = [f"no {', '.join(missing)}"] if missing else []
        parts += [f"unknown fields {', '.join(extra)}"] if extra else []
        return "it is not an audit event: " + "; ".join(parts)
    for name, types in _SHAPE.items():
        if not isinstance(event[name], types) or isinstance(event[name], bool):
            return f"its {name} is {json.dumps(event[name])[:40]}, not {types[0].__name__}"
    return "it is not an audit event"


# --- the whole log ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainVerification:
    """What :func:`verify_chain` found. ``ok`` is true only if every line checks out.

    ``head`` is the chain hash of the last event and ``merkle_root`` the RFC 9162 root over
    every line read (hex), to compare with a signed checkpoint of the same size.
    """

    ok: bool
    events: int
    head: str
    merkle_root: str
    problem: str | None = None
    bad_seq: int | None = None

    def describe(self) -> str:
        if self.ok:
            return (
                f"OK: {self.events} events, in order, chain head {self.head}, "
                f"Merkle root {self.merkle_root}"
            )
        return f"FAILED at event {self.bad_seq}: {self.problem}"


_BLOCK_MASK: Final = (1 << 10) - 1
"""Leaves are hashed into perfect subtrees of 1024 at a time: a list comprehension per level
of a block, rather than an accumulator's loop per leaf."""
_BATCH: Final = 4096
"""Lines read at a time."""


class LogScan:
    """One pass over a log's lines, in order (the lines of ``events.jsonl``: each a body and a
    line feed): every line hashed as it is, into the chain and the Merkle tree; its sequence
    number checked without parsing it; the lines the caller needs parsed and checked.

    * ``skip_kinds``: the event kinds the caller does not need; the lines of every other kind
      are parsed and each event passed to ``on_event`` (a kind nobody listed is read, so a new
      kind costs time, never a check). ``None``, the default: no kind is needed;
    * ``marks``: byte strings that make a line needed wherever they occur in it, whatever its
      kind (a key such as ``b'"commitment":'`` may be in any event's payload);
    * ``every_line``: parse and check every line (where reading is slower than parsing anyway:
      the platform's own check of its database, a JSON-lines file given alone);
    * ``keep_leaves``: keep every leaf hash (:attr:`leaves`), for consistency proofs;
    * ``roots_at``, ``hashes_at``: tree sizes whose root (:attr:`roots`), and sequence numbers
      whose chain hash (:attr:`hashes`), to note on the way.

    After a line out of place it goes on from that line's number, so one gap is one failure;
    it reads every line even after a failure, since the checkpoints need the whole tree.
    """

    def __init__(
        self,
        *,
        skip_kinds: Collection[str] | None = None,
        marks: Collection[bytes] = (),
        every_line: bool = False,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        keep_leaves: bool = False,
        roots_at: Collection[int] = (),
        hashes_at: Collection[int] = (),
    ) -> None:
        self.size = 0
        self.roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT} if 0 in roots_at else {}
        self.hashes: dict[int, bytes] = {0: bytes(32)} if 0 in hashes_at else {}
        self.problem: str | None = None
        self.bad_seq: int | None = None
        # A kind as it stands between the quotes of a body: its RFC 8785 string, unquoted.
        self._skip_all = skip_kinds is None
        self._skip = frozenset(rfc8785.dumps(str(kind))[1:-1] for kind in skip_kinds or ())
        self._marks = tuple(marks)
        self._every_line = every_line
        self._on_event = on_event
        self._keep_leaves = keep_leaves
        self._roots_at = frozenset(roots_at)
        self._hashes_at = frozenset(hashes_at)
        self._sorted_roots_at = sorted(self._roots_at)
        self._sorted_hashes_at = sorted(self._hashes_at)
        self._head = bytes(32)
        self._expected = 1
        self._leaves: list[bytes] = []
        self._block: list[bytes] = []  # leaf hashes after the last full block
        self._blocks = merkle.MerkleAccumulator()  # over the roots of the full blocks

    @property
    def head(self) -> bytes:
        """The chain hash of the last line read (32 zero bytes before any)."""
        return self._head

    @property
    def leaves(self) -> list[bytes]:
        """Every leaf hash read, in order (with ``keep_leaves``)."""
        return self._leaves + self._block if self._keep_leaves else []

    def root(self) -> bytes:
        """The RFC 9162 root over every line read."""
        if not self._block:
            return self._blocks.root()
        # The full blocks are perfect subtrees, largest first; the rest is the last subtree.
        root = merkle.root(self._block)
        for subtree in reversed(self._blocks.hashes):
            root = merkle.node_hash(subtree, root)
        return root

    def read(self, bodies: Iterable[bytes]) -> None:
        """Read the next lines of the log, each without its line feed (see :meth:`read_file`)."""
        if isinstance(bodies, list):
            for start in range(0, len(bodies), _BATCH):
                self._read_batch(bodies[start : start + _BATCH])
            return
        lines = iter(bodies)
        while batch := list(itertools.islice(lines, _BATCH)):
            self._read_batch(batch)

    def read_file(self, stream: IO[bytes], chunk_size: int = 1 << 20) -> None:
        """Read the rest of a log from ``stream``: lines ended by a line feed (the last one may
        lack it), split a chunk at a time."""
        rest = b""
        while chunk := stream.read(chunk_size):
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            self.read(lines)
        if rest:
            self.read((rest,))

    def result(self) -> ChainVerification:
        return ChainVerification(
            self.problem is None,
            self.size,
            self._head.hex(),
            self.root().hex(),
            self.problem,
            self.bad_seq,
        )

    # Each step below goes through a batch of lines in one comprehension or loop, which costs
    # less per line than one loop doing everything: the tree hashes, the chain hashes, where each
    # line sits, which lines are needed; then only the needed lines are parsed, in order.

    def _read_batch(self, lines: list[bytes]) -> None:
        first = self.size
        self.size = last = first + len(lines)
        sha256 = hashlib.sha256
        self._grow_tree([sha256(b"\x00" + body).digest() for body in lines], first)
        head = self._head
        if not _between(self._sorted_hashes_at, first, last):
            for body in lines:
                head = sha256(head + body).digest()
        else:
            for position, body in enumerate(lines, first + 1):
                head = sha256(head + body).digest()
                if position in self._hashes_at:
                    self.hashes[position] = head
        self._head = head
        self._place(lines, first)

    def _grow_tree(self, leaves: list[bytes], first: int) -> None:
        """Add leaves ``first + 1`` on: full blocks become subtree roots; roots noted."""
        last = first + len(leaves)
        stops = {*range((first | _BLOCK_MASK) + 1, last + 1, _BLOCK_MASK + 1), last}
        stops.update(_between(self._sorted_roots_at, first, last))
        position = first
        for stop in sorted(stops):
            self._block += leaves[position - first : stop - first]
            position = stop
            if not position & _BLOCK_MASK:
                self._close_block()
            if position in self._roots_at:
                self.roots[position] = self.root()

    def _place(self, lines: list[bytes], first: int) -> None:
        """Each line in its place (its sequence number, read without parsing: exact for a
        canonical body, see the module's notes), and the lines needed parsed, in order."""
        expected = self._expected
        if self._every_line:
            for position, body in enumerate(lines, first + 1):
                expected = self._parse(position, body, expected)
            self._expected = expected
            return
        placed = [
            body.startswith(b',"seq":%d,' % seq, body.rfind(b',"seq":'))
            for seq, body in enumerate(lines, expected)
        ]
        in_place = placed.index(False) if not all(placed) else len(lines)
        for index in self._needed(lines[:in_place]):
            self._parse(first + index + 1, lines[index], expected + index)
        expected += in_place
        # From a line out of place on, line by line: each is parsed, or checked and skipped.
        for position, body in enumerate(lines[in_place:], first + in_place + 1):
            if body.startswith(b',"seq":%d,' % expected, body.rfind(b',"seq":')) and not (
                self._needed([body])
            ):
                expected += 1
            else:
                expected = self._parse(position, body, expected)
        self._expected = expected

    def _needed(self, lines: list[bytes]) -> list[int]:
        """The indexes of the lines the caller needs (of a kind not skipped, or with a mark);
        the kind is found without parsing (exact for a canonical body)."""
        if self._skip_all:
            return []
        skip = self._skip
        needed = {
            index
            for index, body in enumerate(lines)
            if (kind_at := body.find(b',"kind":"') + 9) < 9
            or body[kind_at : body.find(b'"', kind_at)] not in skip
        }
        for mark in self._marks:
            needed.update(index for index, body in enumerate(lines) if mark in body)
        return sorted(needed)

    def _close_block(self) -> None:
        level, sha256 = self._block, hashlib.sha256
        while len(level) > 1:  # a perfect subtree: every level pairs up (RFC 9162 node hashes)
            level = [
                sha256(b"\x01" + left + right).digest()
                for left, right in zip(level[0::2], level[1::2], strict=True)
            ]
        self._blocks.append(level[0])
        if self._keep_leaves:
            self._leaves.extend(self._block)
        self._block.clear()

    def _parse(self, position: int, body: bytes, expected: int) -> int:
        """Parse and check one line; returns the sequence number the next line should have."""
        try:
            event = parse_line(body)
        except LineError as exc:
            self._fail(expected, f"line {position} is not the canonical JSON of an event: {exc}")
            return expected + 1
        seq: int = event["seq"]
        if seq != expected:
            self._fail(seq, f"expected sequence number {expected}, found {seq}")
        if self._on_event is not None:
            self._on_event(event)
        return seq + 1

    def _fail(self, seq: int, problem: str) -> None:
        if self.problem is None:
            self.problem, self.bad_seq = problem, seq


def _between(ordered: list[int], low: int, high: int) -> list[int]:
    """The numbers of ``ordered`` (sorted) above ``low`` and up to ``high``."""
    return ordered[bisect.bisect_right(ordered, low) : bisect.bisect_right(ordered, high)]


def verify_chain(bodies: Iterable[bytes], *, every_line: bool = False) -> ChainVerification:
    """Read a whole log (its lines without their line feeds, from the first, in order): every
    line in its place, the chain head and the Merkle root over every line; with
    ``every_line``, each line must be the canonical JSON of its event (otherwise only the
    sequence numbers are read)."""
    scan = LogScan(every_line=every_line)
    scan.read(bodies)
    return scan.result()


def verify_chain_file(stream: IO[bytes], *, every_line: bool = False) -> ChainVerification:
    """:func:`verify_chain` over a JSON-lines file such as ``events.jsonl``."""
    scan = LogScan(every_line=every_line)
    scan.read_file(stream)
    return scan.result()
