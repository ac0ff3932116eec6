"""What the audit trail costs: appending events, and verifying a large exported trail offline.

1. Append throughput. Writer threads call ``tender.audit.service.append``, each event in its own
   transaction as the platform does (one session, ``session.begin()``, commit), with a fixed
   clock, on a fresh PostgreSQL database (created as ``tender_bench_<random>``, migrated with
   ``tender.migrate.upgrade``, dropped at the end) and on a fresh SQLite file for comparison.
   Appends are serialised (an advisory lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so
   more writers mostly measure how well the lock hands over. Each backend's chain is then checked
   with ``verify_stored_chain``; the script stops if it is not intact and complete.
2. Offline verification. ``--verify-events`` events are generated (their bodies, the RFC 8785
   bytes the hashes cover, hashed once while generating) and written as ``events.jsonl`` holds
   them, one body a line. The file is then read back by the verifier as a bundle's log is:
   every line hashed as it is into the chain and the Merkle tree, its sequence number read
   without parsing it (``verify_chain_file``); then also with the lines the per-tender ledgers
   need parsed and checked canonical (``LogReader``, as ``tender audit verify bundle.zip``
   reads the log); then with every line parsed (``--file``, the platform's own check). The
   baseline is bare ``hashlib.sha256`` over the same leaf bytes (0x00 + body), held in memory:
   one hash per event, a floor below the three (leaf, chain, about one tree node) a verifier
   needs. Reading the file, and ``json.loads`` of every line, are timed too.

Every ratio is against a baseline measured in the same run; each offline pass counts its
fastest of ``--verify-repeat`` runs.

Run: ``.venv/bin/python -m bench.audit [--events 2000] [--writers 1,8]
[--verify-events 1000000] [--no-appends]``. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any, cast

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from tender import migrate
from tender.audit.service import append, verify_stored_chain
from tender.clock import ManualClock, format_time
from tender.db import make_engine, make_sessionmaker
from tender.storage.hpke import PUBLIC_KEY_SIZE
from tender.verifier import merkle
from tender.verifier.chain import (
    GENESIS_HASH,
    ChainVerification,
    canonical_bytes,
    verify_chain_file,
)
from tender.verifier.checks import collector
from tender.verifier.kinds import EventKind
from tender.verifier.logcheck import SKIPPED_KINDS, LogReader

POSTGRES_ADMIN_URL = os.environ.get(
    "TENDER_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
CLOCK = ManualClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
SEED = 20261127


# -- 1. Appends ---------------------------------------------------------------------------------


def append_round(sessions: sessionmaker[Session], writers: int, events: int) -> float:
    """Seconds for ``writers`` threads to append ``events`` events in all, one transaction each.

    The clock starts when every thread is ready and stops when the last one is done."""
    counts = [events // writers + (1 if i < events % writers else 0) for i in range(writers)]
    ready = threading.Barrier(writers + 1)
    errors: list[BaseException] = []

    def work(index: int, count: int) -> None:
        tender_id = uuid.UUID(int=SEED + index)
        ready.wait()
        try:
            for number in range(count):
                with sessions() as session, session.begin():
                    append(
                        session,
                        kind=EventKind.BID_READ,
                        actor=f"user:bench-{index}",
                        at=CLOCK.now(),
                        tender_id=tender_id,
                        payload={
                            "receipt_id": str(uuid.UUID(int=number)),
                            "file_name": f"bid-{number}.pdf",
                            "as_received": False,
                            "bytes": 100_000 + number,
                        },
                    )
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(index, count), daemon=True)
        for index, count in enumerate(counts)
    ]
    for thread in threads:
        thread.start()
    ready.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        sys.exit(f"{len(errors)} of {writers} writers failed; first: {errors[0]!r}")
    return elapsed


def bench_appends(
    name: str, url: str, writer_counts: list[int], events: int
) -> list[tuple[str, int, float]]:
    """Rows (backend, writers, seconds) for ``url``, already migrated; checks the chain after."""
    # A pool as large as the writers, so that no round pays for reconnecting.
    engine = make_engine(url, pool_size=max(writer_counts), max_overflow=0)
    try:
        sessions = make_sessionmaker(engine)
        # Untimed: open every pooled connection and warm SQLAlchemy's statement caches.
        warmup = 2 * max(writer_counts)
        append_round(sessions, max(writer_counts), warmup)
        rows = [
            (name, writers, append_round(sessions, writers, events)) for writers in writer_counts
        ]
        with sessions() as session, session.begin():
            start = time.perf_counter()
            result = verify_stored_chain(session)
            seconds = time.perf_counter() - start
        expected = warmup + events * len(writer_counts)
        if not result.ok or result.events != expected:
            sys.exit(
                f"{name}: chain check failed ({expected} events expected): {result.describe()}"
            )
        print(
            f"{name}: verify_stored_chain OK over {result.events} events "
            f"({result.events / seconds:,.0f} events/s)"
        )
        return rows
    finally:
        engine.dispose()


def fresh_postgres() -> tuple[str, str]:
    """Create ``tender_bench_<random>``; return its name and SQLAlchemy URL."""
    name = f"tender_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+psycopg", database=name)
    return name, url.render_as_string(hide_password=False)


def drop_postgres(name: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def postgres_version() -> str:
    with psycopg.connect(POSTGRES_ADMIN_URL) as connection:
        number = connection.info.server_version  # e.g. 160004
    return f"{number // 10000}.{number % 10000}"


# -- 2. Offline verification --------------------------------------------------------------------

KINDS = ("tender.created", "bid.received", "bid.read", "bid.refused", "opening.finished")
FILE_NAMES = ("offer.pdf", "Angebot-Müller.pdf", "oferta_técnica.pdf", "bid-final-v2.pdf")


def make_event(seq: int, rng: random.Random, tenders: list[str], start: datetime) -> dict[str, Any]:
    """One event's chained fields, shaped like the platform's own events."""
    kind = KINDS[rng.randrange(len(KINDS))]
    tender_id = tenders[rng.randrange(len(tenders))]
    payload: dict[str, Any]
    if kind == "tender.created":
        payload = {
            "reference": f"T-2026-{seq:07d}",
            "title": "Road maintenance, lot 3",
            "deadline": format_time(start + timedelta(days=30)),
            "public_key": rng.randbytes(PUBLIC_KEY_SIZE).hex(),  # a hybrid tender key
        }
    elif kind == "opening.finished":
        payload = {"bids": rng.randrange(1, 40), "late": rng.randrange(3)}
    else:
        payload = {
            "receipt_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "file_name": FILE_NAMES[rng.randrange(len(FILE_NAMES))],
            "as_received": kind == "bid.read" and rng.random() < 0.1,
            "bytes": rng.randrange(10_000, 50_000_000),
        }
    return {
        "seq": seq,
        "at": format_time(start + timedelta(microseconds=1237 * seq)),
        "actor": f"user:{rng.randrange(1000):04d}",
        "tender_id": None if rng.random() < 0.05 else tender_id,  # some events are platform-wide
        "kind": kind,
        "payload": payload,
    }


def generate(path: Path, count: int) -> tuple[list[bytes], str, str, int]:
    """Write ``count`` events to ``path`` as ``events.jsonl`` holds them (each event's body, one
    a line), hashing each once.

    Returns the leaf bytes (0x00 + body) for the baseline, the chain head and the Merkle root,
    to compare with what the verifier finds, and how many events the ledgers need."""
    rng = random.Random(SEED)  # noqa: S311 -- reproducible test data, not secrets
    tenders = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(200)]
    start = CLOCK.now()
    sha256, tree, leaves = hashlib.sha256, merkle.MerkleAccumulator(), []
    prev, needed = bytes.fromhex(GENESIS_HASH), 0
    with path.open("wb") as out:
        for seq in range(1, count + 1):
            event = make_event(seq, rng, tenders, start)
            needed += event["tender_id"] is not None and event["kind"] not in SKIPPED_KINDS
            body = canonical_bytes(event)
            out.write(body + b"\n")
            leaves.append(b"\x00" + body)
            tree.append(sha256(leaves[-1]).digest())
            prev = sha256(prev + body).digest()
    return leaves, prev.hex(), tree.root().hex(), needed


def bench_verify(count: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory(prefix="tender-bench-") as folder:
        path = Path(folder) / "events.jsonl"
        start = time.perf_counter()
        leaves, head, root, needed = generate(path, count)
        generating = time.perf_counter() - start
        size = path.stat().st_size

        def bare() -> int:
            sha256 = hashlib.sha256
            for data in leaves:
                sha256(data).digest()
            return len(leaves)

        def read_only() -> int:
            lines = 0
            with path.open("rb") as stream:
                while chunk := stream.read(1 << 20):
                    lines += chunk.count(b"\n")
            return lines

        def json_loads() -> int:
            with path.open("rb") as stream:
                return sum(1 for line in stream if json.loads(line))

        def chain_only() -> ChainVerification:
            with path.open("rb") as stream:
                return verify_chain_file(stream)

        def ledgers() -> tuple[ChainVerification, LogReader]:
            log = LogReader([count])
            with path.open("rb") as stream:
                log.read_file(stream)
            return log.finish(collector([])), log

        def every_line() -> ChainVerification:
            with path.open("rb") as stream:
                return verify_chain_file(stream, every_line=True)

        passes: dict[str, Callable[[], object]] = {
            "bare": bare,
            "read": read_only,
            "json": json_loads,
            "chain": chain_only,
            "ledgers": ledgers,
            "every line": every_line,
        }
        # The passes take turns, round after round, so that a busy moment of a shared machine
        # does not fall on one of them alone; each counts its fastest round.
        best = dict.fromkeys(passes, float("inf"))
        results: dict[str, object] = {}
        for _ in range(repeat):
            for name, run in passes.items():
                results.pop(name, None)  # freed before the clock starts, not inside it
                start = time.perf_counter()
                results[name] = run()
                best[name] = min(best[name], time.perf_counter() - start)
        lines = results["read"]
        chained = cast(ChainVerification, results["chain"])
        reread, log = cast(tuple[ChainVerification, LogReader], results["ledgers"])
        checked = cast(ChainVerification, results["every line"])
    if lines != count:
        sys.exit(f"read back {lines} lines, not {count}; stopping")
    for name, result in (("chain", chained), ("ledgers", reread), ("every line", checked)):
        if not (
            result.ok
            and result.events == count
            and result.head == head
            and result.merkle_root == root
        ):
            sys.exit(f"the verifier ({name}) disagrees with the generator: {result.describe()}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(
        f"\n{count:,} events generated in {generating:.1f} s ({size / 2**20:,.0f} MiB of "
        f"events.jsonl); every pass OK, head and Merkle root match the generator's; "
        f"{len(log.tenders)} tender ledgers; fastest of {repeat} rounds; peak RSS {rss:,.0f} MiB"
    )
    baseline = best["bare"]
    rows = [
        ("bare hashlib SHA-256 of leaf bytes (in memory)", baseline),
        ("read the lines only", best["read"]),
        ("json.loads of every line (for comparison)", best["json"]),
        ("verify: seq, chain, Merkle (no line parsed)", best["chain"]),
        ("+ ledgers: lines the checks need parsed", best["ledgers"]),
        ("every line parsed and checked canonical", best["every line"]),
    ]
    print(f"{'offline verification':48} {'seconds':>8} {'events/s':>12} {'vs bare':>9}")
    for name, seconds in rows:
        print(f"{name:48} {seconds:8.2f} {count / seconds:12,.0f} {seconds / baseline:8.1f}x")
    print(f"(the ledger pass parsed the {needed:,} lines of kinds the checks read)")


# -- main ---------------------------------------------------------------------------------------


def writer_list(text: str) -> list[int]:
    counts = [int(part) for part in text.split(",") if part.strip()]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("give positive writer counts, comma-separated")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--events", type=int, default=2000, help="events appended per round (default 2000)"
    )
    parser.add_argument(
        "--writers",
        type=writer_list,
        default=[1, 8],
        help="writer thread counts, one round each (default 1,8)",
    )
    parser.add_argument(
        "--verify-events",
        type=int,
        default=1_000_000,
        help="events in the offline verification (default 1000000; 0 skips it)",
    )
    parser.add_argument(
        "--verify-repeat",
        type=int,
        default=3,
        help="runs of each offline pass; the fastest counts (default 3)",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite comparison")
    parser.add_argument("--no-appends", action="store_true", help="only the offline verification")
    args = parser.parse_args()
    if args.events < max(args.writers):
        parser.error("--events must be at least the largest writer count")
    if args.verify_events < 0:
        parser.error("--verify-events must not be negative")

    began = time.perf_counter()
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    print(
        f"Python {sys.version.split()[0]}, {cores} cores ({usable} usable), "
        + ("" if args.no_appends else f"PostgreSQL {postgres_version()}, ")
        + f"SQLite {sqlite3.sqlite_version}, SQLAlchemy {version('sqlalchemy')}, "
        f"rfc8785 {version('rfc8785')}"
    )
    if not args.no_appends:
        bench_all_appends(args)
    if args.verify_events:
        bench_verify(args.verify_events, max(1, args.verify_repeat))
    print(f"\ntotal {time.perf_counter() - began:.0f} s")


def bench_all_appends(args: argparse.Namespace) -> None:
    rows: list[tuple[str, int, float]] = []
    name, url = fresh_postgres()
    try:
        migrate.upgrade(url)
        rows += bench_appends("PostgreSQL", url, args.writers, args.events)
    finally:
        drop_postgres(name)
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(prefix="tender-bench-") as folder:
            url = f"sqlite:///{Path(folder) / 'tender.db'}"
            migrate.upgrade(url)
            rows += bench_appends("SQLite", url, args.writers, args.events)

    base_name, base_writers, base_seconds = rows[0]
    base_rate = args.events / base_seconds
    print(
        f"\n{args.events} appends per round, one transaction each, fixed clock "
        "(ms/event = wall time / events)"
    )
    print(
        f"{'backend':12} {'writers':>7} {'seconds':>8} {'events/s':>10} "
        f"{'ms/event':>9} {'vs base':>8}"
    )
    for backend, writers, seconds in rows:
        rate = args.events / seconds
        print(
            f"{backend:12} {writers:7} {seconds:8.2f} {rate:10,.0f} "
            f"{seconds * 1000 / args.events:9.2f} {rate / base_rate:7.2f}x"
        )
    print(
        f"(base: {base_name}, {base_writers} writer{'s' * (base_writers != 1)}; higher is faster)"
    )


if __name__ == "__main__":
    main()
