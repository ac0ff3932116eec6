"""The exported log's lines: hashed as they are, read in their places, parsed only where
needed -- and then only if they are exactly the canonical JSON of their event."""

from __future__ import annotations

import hashlib
import io
import json
import random
import re
from collections.abc import Callable
from typing import Any

import pytest
import rfc8785

from tender.verifier import merkle
from tender.verifier.chain import (
    GENESIS_HASH,
    LineError,
    LogScan,
    canonical_bytes,
    chain_hash,
    parse_line,
    verify_chain,
    verify_chain_file,
)
from tests.verifier.chains import event, exported_lines, jsonl


def test_an_intact_log_gives_the_chain_head_and_the_merkle_root_of_its_lines() -> None:
    lines = exported_lines(5)

    result = verify_chain(lines, every_line=True)

    head = GENESIS_HASH
    for seq in range(1, 6):
        head = chain_hash(head, event(seq))
    assert result.ok, result.describe()
    assert result.events == 5
    assert result.head == head
    assert result.merkle_root == merkle.root([merkle.leaf_hash(line) for line in lines]).hex()
    assert result.describe().startswith("OK: 5 events, in order")


def _swap(lines: list[bytes]) -> None:
    lines.insert(1, lines.pop(3))


@pytest.mark.parametrize(
    ("tamper", "bad_seq", "problem"),
    [
        (lambda lines: lines.pop(2), 4, "expected sequence number 3, found 4"),
        (_swap, 4, "expected sequence number 2, found 4"),
        (lambda lines: lines.insert(2, lines[1]), 2, "expected sequence number 3, found 2"),
        (lambda lines: lines.insert(2, b""), 3, "line 3 is not the canonical JSON of an event"),
    ],
    ids=["removed", "reordered", "repeated", "blank-line"],
)
def test_a_line_out_of_place_is_named(
    tamper: Callable[[list[bytes]], Any], bad_seq: int, problem: str
) -> None:
    lines = exported_lines(5)
    tamper(lines)

    result = verify_chain(lines)

    assert not result.ok
    assert problem in (result.problem or "")
    assert result.bad_seq == bad_seq


def test_a_changed_line_in_its_place_changes_the_root_a_checkpoint_signs() -> None:
    """The lines carry no hashes: what they are is bound by the signed root over them."""
    lines = exported_lines(5)
    signed = verify_chain(lines).merkle_root
    lines[2] = canonical_bytes(event(3, payload={"n": 99, "text": "開標"}))

    result = verify_chain(lines, every_line=True)

    assert result.ok  # a well-formed log...
    assert result.merkle_root != signed  # ...but not the one signed


def _spaced(line: bytes) -> bytes:
    return json.dumps(json.loads(line), ensure_ascii=False, sort_keys=True).encode()


def _escaped(line: bytes) -> bytes:
    return json.dumps(json.loads(line), sort_keys=True, separators=(",", ":")).encode()


def _payload_keys_reversed(line: bytes) -> bytes:
    fields = json.loads(line)
    payload = dict(reversed(list(fields["payload"].items())))
    encoded = rfc8785.dumps(fields).decode()
    old = json.dumps(fields["payload"], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    new = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return encoded.replace(old, new).encode()


REENCODINGS = {"spaced": _spaced, "escaped": _escaped, "payload-keys": _payload_keys_reversed}


@pytest.mark.parametrize("reencode", REENCODINGS.values(), ids=REENCODINGS.keys())
def test_a_line_reencoded_with_the_same_meaning_is_named_where_it_is_read(
    reencode: Callable[[bytes], bytes],
) -> None:
    lines = exported_lines(5)
    signed = verify_chain(lines).merkle_root
    lines[2] = reencode(lines[2])
    assert json.loads(lines[2]) == event(3)  # the same JSON meaning, other bytes

    result = verify_chain(lines, every_line=True)

    assert not result.ok
    assert result.bad_seq == 3
    assert "not in RFC 8785 canonical form" in (result.problem or "")
    assert result.merkle_root != signed


def test_a_line_of_the_old_format_says_to_export_again() -> None:
    fields = event(1)
    old = {**fields, "prev_hash": GENESIS_HASH, "hash": chain_hash(GENESIS_HASH, fields)}
    old["leaf_hash"] = merkle.leaf_hash(canonical_bytes(fields)).hex()

    result = verify_chain([json.dumps(old).encode()])

    assert not result.ok
    assert "format before tender-audit-bundle/2; export the log again" in (result.problem or "")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"\xff\xfe{}", "it is not UTF-8"),
        (b'{"seq":1', "it is not JSON"),
        (b"[1,2]", "a list, not an audit event"),
        (b'{"seq":1}', "no actor, at, kind, payload, tender_id"),
        (canonical_bytes(event(1))[:-1] + b',"zz":1}', "unknown fields zz"),
        (canonical_bytes(event(1)).replace(b'"seq":1', b'"seq":true'), "its seq is true, not int"),
        (canonical_bytes(event(1, payload=[])), "its payload is [], not dict"),
        (canonical_bytes(event(1)).replace(b'"n":1', b'"n":1.0'), "not in RFC 8785"),
        (canonical_bytes(event(1)).replace(b'"n":1', b'"n":9007199254740993'), "not in RFC 8785"),
        (canonical_bytes(event(1)).replace(b'"n":1', b'"n":NaN'), "not in RFC 8785"),
        (canonical_bytes(event(1)).replace(b'"n":1', b'"n":1,"n":2'), "not in RFC 8785"),
    ],
)
def test_what_a_line_is_instead_of_an_event_is_said(line: bytes, problem: str) -> None:
    with pytest.raises(LineError, match=re.escape(problem)):
        parse_line(line)


ALPHABET = 'aZ09"\\/\b\f\n\r\t\x00\x1f\x7f é開\u2028\ue000\uffff\U0001f600\U00010000'


def _string(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(6)))


def _value(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(7 if depth < 3 else 4)
    if choice == 0:
        return _string(rng)
    if choice == 1:
        return rng.choice([0, -1, 7, 2**53 - 1, -(2**53) + 1, 10**15, 123456789012345])
    if choice == 2:
        return rng.choice([0.5, -2.25, 1e21, 1e-7, 3.0, 1 / 3, 123456.789, 5e-324])
    if choice == 3:
        return rng.choice([True, False, None])
    if choice in (4, 5):
        return {_string(rng): _value(rng, depth + 1) for _ in range(rng.randrange(4))}
    return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]


def test_the_fast_canonical_check_agrees_with_rfc8785() -> None:
    """json's C encoder stands in for rfc8785 where they agree, and rfc8785 decides the rest:
    the canonical bytes are accepted, and every other encoding of the same value refused."""
    rng = random.Random(8785)  # noqa: S311 -- reproducible test values, not secrets
    for _ in range(3000):
        payload = {_string(rng): _value(rng, 1) for _ in range(rng.randrange(5))}
        fields = event(1, payload=payload, actor=_string(rng))
        line = canonical_bytes(fields)
        assert parse_line(line) == json.loads(line), line
        for other in (
            json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
            json.dumps(fields, ensure_ascii=True, sort_keys=True, separators=(",", ":")),
            json.dumps(fields, ensure_ascii=False, separators=(",", ":")),
        ):
            encoded = other.encode("utf-8", "surrogatepass")
            if encoded != line:
                with pytest.raises(LineError):
                    parse_line(encoded)


SKIPPED = {"bid.read", "request.refused", "bid.refused"}


def test_only_the_lines_needed_are_parsed_and_the_kind_is_found_exactly() -> None:
    lines = [
        canonical_bytes(event(1, kind="tender.created", tender_id="t")),
        # "kind" inside the payload, and a string that looks like a key: not this event's kind
        canonical_bytes(event(2, kind="bid.read", payload={"kind": "bid.received"})),
        canonical_bytes(event(3, kind="bid.read", actor='x","kind":"bid.received')),
        canonical_bytes(event(4, kind="bid.received", payload={"seq": 9, "tender_id": "x"})),
        canonical_bytes(event(5, kind="bid.refused", payload={"commitment": "c"})),
        canonical_bytes(event(6, kind="request.refused")),
    ]
    parsed: list[dict[str, Any]] = []
    scan = LogScan(skip_kinds=SKIPPED, marks=(b'"commitment":',), on_event=parsed.append)

    scan.read(lines)

    assert scan.result().ok, scan.result().describe()
    assert [e["seq"] for e in parsed] == [1, 4, 5]


def test_roots_hashes_and_leaves_across_blocks() -> None:
    lines = [canonical_bytes(event(seq)) for seq in range(1, 2101)]
    sizes = {0, 1, 2, 3, 1023, 1024, 1025, 2047, 2048, 2049, 2100}
    scan = LogScan(keep_leaves=True, roots_at=sizes, hashes_at={0, 1, 1024, 2100})

    scan.read(lines[:1000])
    scan.read(lines[1000:])

    leaves = [merkle.leaf_hash(line) for line in lines]
    assert scan.leaves == leaves
    assert scan.roots == {size: merkle.root(leaves[:size]) for size in sizes}
    head = bytes(32)
    heads = {0: head}
    for seq, line in enumerate(lines, start=1):
        head = hashlib.sha256(head + line).digest()
        heads[seq] = head
    assert scan.hashes == {seq: heads[seq] for seq in (0, 1, 1024, 2100)}
    assert scan.result().merkle_root == merkle.root(leaves).hex()


@pytest.mark.parametrize("chunk_size", [1, 7, 300, 1 << 20])
@pytest.mark.parametrize("last_line_feed", [True, False])
def test_a_file_reads_the_same_whatever_its_chunks(chunk_size: int, last_line_feed: bool) -> None:
    lines = exported_lines(40)
    data = jsonl(lines) if last_line_feed else jsonl(lines)[:-1]
    scan = LogScan(every_line=True)

    scan.read_file(io.BytesIO(data), chunk_size=chunk_size)

    assert scan.result() == verify_chain(lines, every_line=True)
    assert scan.result().ok


def test_a_carriage_return_is_part_of_the_line() -> None:
    """Only a line feed ends a line: a file rewritten with CRLF hashes other bytes."""
    lines = exported_lines(3)

    crlf = verify_chain_file(io.BytesIO(jsonl(lines).replace(b"\n", b"\r\n")), every_line=True)

    assert not crlf.ok
    assert crlf.bad_seq == 1
    assert crlf.merkle_root != verify_chain(lines).merkle_root


def test_a_long_log_reads_the_same_whatever_the_batches() -> None:
    """Lines are read in batches: a gap in the middle of one, the lines needed after it, the
    roots and hashes noted on the way come out the same however the lines arrive."""
    kinds = ["bid.read", "bid.received", "request.refused", "tender.created"]
    lines = [
        canonical_bytes(event(seq, kind=kinds[seq % 4], payload={"n": seq}))
        for seq in range(1, 9001)
    ]
    del lines[5000]  # event 5001 is missing: a gap in the middle of the second batch
    sizes, seqs = {1, 4096, 4097, 5000, 5001, 8999}, {1, 4096, 5000, 5001, 8999}

    def scan(feed: Callable[[LogScan], None]) -> tuple[Any, ...]:
        parsed: list[int] = []
        reader = LogScan(
            skip_kinds=SKIPPED,
            on_event=lambda e: parsed.append(e["seq"]),
            keep_leaves=True,
            roots_at=sizes,
            hashes_at=seqs,
        )
        feed(reader)
        return reader.result(), parsed, reader.roots, reader.hashes, reader.leaves

    as_list = scan(lambda reader: reader.read(lines))

    def one_by_one_feed(reader: LogScan) -> None:
        for line in lines:
            reader.read([line])

    one_by_one = scan(one_by_one_feed)
    as_generator = scan(lambda reader: reader.read(line for line in lines))
    as_file = scan(lambda reader: reader.read_file(io.BytesIO(jsonl(lines)), chunk_size=4099))

    assert as_list == one_by_one == as_generator == as_file
    result, parsed, roots, _, leaves = as_list
    assert result.problem == "expected sequence number 5001, found 5002"
    # the kinds needed, in order, and the line out of place, parsed to say what it is
    needed = [seq for seq in range(1, 9001) if seq % 4 in (1, 3) and seq != 5001]
    assert parsed == sorted([*needed, 5002])
    assert roots == {size: merkle.root(leaves[:size]) for size in sizes}
