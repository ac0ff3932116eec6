"""Deadline day: N suppliers whose last byte leaves in the final seconds before the deadline.

The platform runs as separate processes, as an operator would run it:

* ``--setup production``: PostgreSQL (a fresh ``tender_bench_<random>`` database) and Redis,
  two ``tender up`` API processes on two ports (sharing one embedded SeaweedFS from the wheel)
  and two ``tender worker`` processes;
* ``--setup embedded``: one ``tender up`` with its defaults (SQLite, in-process broker and
  worker, embedded SeaweedFS).

Both use the test PKI (trust, the test time-stamping authority, the platform's seal). N
suppliers (default 300) are made directly in the database, then each uploads a 1 MB
PAdES-signed PDF over HTTP (spread over the API processes): every upload sends all but its
last kilobyte at once, then its last kilobyte at a moment spread evenly over a window before
the deadline. Three rounds, each on a tender of its own:

1. idle: one upload at a time, with nothing else running (the baseline latency);
2. rush: every last byte in the final ``--window`` seconds (default 6) before the deadline:
   how many were receipted and how many refused (target: all receipted, none refused);
3. spread: every last byte spread over the final 30 s: latency from the last byte to the
   receipt, p50 and p99, and p99 against the idle median (target: <= 3x).

And 4. fingerprints: on a fingerprint-first tender, N fingerprints all sent in the final
second before the deadline (target: all receipted).

Latency is measured from the moment the last chunk is handed to the connection to the moment
the response (a signed receipt) is read. A receipt counts only with status 201 and a signed
receipt in it; anything else is counted as refused or failed, by status.

Run: ``.venv/bin/python -m bench.rush [--setup production|embedded|both] [--suppliers 300]``.
Needs PostgreSQL and Redis on localhost for the production setup. Not a test: timings depend
on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.audit import drop_postgres, fresh_postgres
from tender import migrate
from tender.accounts.models import Role
from tender.accounts.service import AccountService
from tender.clock import SystemClock
from tender.config import Settings
from tender.db import make_engine, make_sessionmaker
from tender.runtime import free_port
from tender.signing.testing import P12_PASSPHRASE, TestPKI, signed_pdf

MB = 1_000_000
TAIL = 1024  # the last bytes, sent at the chosen moment


@dataclass(frozen=True)
class Outcome:
    status: int
    latency: float  # seconds from the last byte sent to the answer read
    signed: bool
    # The last byte left after the deadline by the bench's own clock: this process, busy with
    # hundreds of uploads, can send late; such a refusal is the bench's, not the platform's.
    sent_late: bool = False
    refusal: str = ""  # what the platform said, for any answer but a receipt


@dataclass(frozen=True)
class Running:
    bases: list[str]
    officer: str
    suppliers: list[str]


@contextmanager
def platform_processes(setup: str, root: Path, pki: TestPKI, suppliers: int) -> Iterator[Running]:
    """Start the platform's processes for ``setup``; yield where they answer and the tokens."""
    password = root / "p12-password"
    password.write_bytes(P12_PASSPHRASE)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TENDER_")},
        "TENDER_DATA_DIR": str(root / "var"),
        "TENDER_TRUST_DIR": str(pki.trust_dir),
        "TENDER_REVOCATION_DIR": str(pki.revocation_dir),
        "TENDER_PLATFORM_P12": str(pki.p12_path("platform")),
        "TENDER_PLATFORM_P12_PASSWORD_FILE": str(password),
        "TENDER_RATE_LIMIT_PER_MINUTE": str(100 * suppliers),
        "TENDER_RECONCILE_INTERVAL_SECONDS": "5",
    }
    with ExitStack() as stack:
        apis, workers = 1, 0
        if setup == "production":
            name, url = fresh_postgres()
            stack.callback(drop_postgres, name)
            env["TENDER_DATABASE_URL"] = url
            env["TENDER_BROKER_URL"] = "redis://127.0.0.1:6379/0"
            env["TENDER_BROKER_NAMESPACE"] = f"bench-{uuid.uuid4().hex[:8]}"
            env["TENDER_ALLOW_KEY_FILES"] = "true"  # a throw-away platform: keys may be files
            apis, workers = 2, 2
        settings = Settings.from_env(env)
        settings.data_dir.mkdir(mode=0o700, parents=True)
        migrate.upgrade(settings.effective_database_url)
        officer, tokens = _accounts(settings.effective_database_url, suppliers)
        bases = []
        for number in range(apis):
            port = free_port()
            bases.append(f"http://127.0.0.1:{port}")
            stack.enter_context(_process(["up"], {**env, "TENDER_PORT": str(port)}, root, number))
            _wait_healthy(bases[-1])  # the first starts SeaweedFS; the others find it
        for number in range(workers):
            stack.enter_context(_process(["worker"], env, root, apis + number))
        yield Running(bases, officer, tokens)


@contextmanager
def _process(command: list[str], env: dict[str, str], root: Path, number: int) -> Iterator[None]:
    log = (root / f"process-{number}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tender.cli", *command], env=env, stdout=log, stderr=log
    )
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _wait_healthy(base: str) -> None:
    give_up = time.monotonic() + 120
    while time.monotonic() < give_up:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    sys.exit(f"{base} did not come up; see the process logs")


def _accounts(database_url: str, suppliers: int) -> tuple[str, list[str]]:
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            accounts = AccountService(session=session, clock=SystemClock())
            _, officer = accounts.create_user(
                name="Olivia", organisation="Buyer", role=Role.OFFICER
            )
            tokens = [
                accounts.create_user(
                    name=f"Supplier {n}", organisation=f"Supplier {n} Ltd", role=Role.SUPPLIER
                )[1]
                for n in range(suppliers)
            ]
    finally:
        engine.dispose()
    return officer, tokens


def tender(base: str, officer: str, deadline: datetime, *, grace: int | None = None) -> str:
    headers = {"Authorization": f"Bearer {officer}"}
    created = httpx.post(
        f"{base}/api/tenders",
        headers=headers,
        json={
            "reference": f"RUSH-{uuid.uuid4().hex[:8]}",
            "title": "Deadline day",
            "deadline": deadline.isoformat(),
            "file_grace_seconds": grace,
            "opening": "automatic",
        },
        timeout=30,
    ).json()
    httpx.post(f"{base}/api/tenders/{created['id']}/publish", headers=headers, timeout=30)
    return str(created["id"])


async def upload(
    client: httpx.AsyncClient,
    base: str,
    token: str,
    tender_id: str,
    body: bytes,
    *,
    start: float,
    last: float,
    due: float = float("inf"),
) -> Outcome:
    """Send ``body`` from ``start`` with its last TAIL bytes at ``last`` (time.monotonic()
    moments; ``due`` is the deadline's)."""
    await asyncio.sleep(max(0.0, start - time.monotonic()))
    sent_last = 0.0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent_last
        yield body[:-TAIL]
        await asyncio.sleep(max(0.0, last - time.monotonic()))
        sent_last = time.monotonic()
        yield body[-TAIL:]

    try:
        answer = await client.put(
            f"{base}/api/tenders/{tender_id}/bids/bid.pdf",
            headers={"Authorization": f"Bearer {token}", "Content-Length": str(len(body))},
            content=chunks(),
        )
    except httpx.HTTPError:
        return Outcome(0, time.monotonic() - sent_last, False, sent_last > due)
    signed = answer.status_code == 201 and bool(answer.json().get("signed_receipt"))
    return Outcome(
        answer.status_code,
        time.monotonic() - sent_last,
        signed,
        sent_last > due,
        "" if signed else answer.text[:300],
    )


async def fingerprint(base: str, token: str, tender_id: str, at: float, due: float) -> Outcome:
    """One supplier's fingerprint, sent at ``at`` over a connection of its own opened
    beforehand (as a supplier's browser or CLI has one open): hundreds of connections opened
    by this one process in the same second would make the bench, not the platform, late."""
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:
        await client.get("/health")
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        start = time.monotonic()
        answer = await client.post(
            f"/api/tenders/{tender_id}/fingerprints",
            headers={"Authorization": f"Bearer {token}"},
            json={"file_name": "bid.pdf", "sha256": hashlib.sha256(token.encode()).hexdigest()},
        )
    signed = answer.status_code == 201 and bool(answer.json().get("signed_receipt"))
    return Outcome(
        answer.status_code,
        time.monotonic() - start,
        signed,
        start > due,
        "" if signed else answer.text[:300],
    )


def _client() -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=2000)
    return httpx.AsyncClient(timeout=600, limits=limits)


async def idle(running: Running, body: bytes, count: int) -> list[Outcome]:
    deadline = datetime.now(UTC) + timedelta(minutes=30)
    tender_id = tender(running.bases[0], running.officer, deadline)
    async with _client() as client:
        return [
            await upload(
                client,
                running.bases[0],
                token,
                tender_id,
                body,
                start=time.monotonic(),
                last=time.monotonic(),
            )
            for token in running.suppliers[:count]
        ]


async def rush(running: Running, body: bytes, window: float, lead: float) -> list[Outcome]:
    """Every supplier's last byte in the final ``window`` seconds before a deadline ``lead``
    seconds from now. Each upload starts ``lead - window`` seconds before its last byte, so
    no body stalls longer than that (the platform refuses one idle for a minute)."""
    deadline, due = datetime.now(UTC) + timedelta(seconds=lead), time.monotonic() + lead
    tender_id = tender(running.bases[0], running.officer, deadline)
    count = len(running.suppliers)
    moments = [due - window + window * (n + 0.5) / count for n in range(count)]
    async with _client() as client:
        return await asyncio.gather(
            *(
                upload(
                    client,
                    running.bases[n % len(running.bases)],
                    token,
                    tender_id,
                    body,
                    start=at - (lead - window),
                    last=at,
                    due=due,
                )
                for n, (token, at) in enumerate(zip(running.suppliers, moments, strict=True))
            )
        )


async def fingerprints(running: Running, lead: float) -> list[Outcome]:
    deadline, due = datetime.now(UTC) + timedelta(seconds=lead), time.monotonic() + lead
    tender_id = tender(running.bases[0], running.officer, deadline, grace=24 * 3600)
    count = len(running.suppliers)
    return await asyncio.gather(
        *(
            fingerprint(
                running.bases[n % len(running.bases)],
                token,
                tender_id,
                due - 1 + 0.9 * n / count,
                due,
            )
            for n, token in enumerate(running.suppliers)
        )
    )


def report(name: str, outcomes: list[Outcome], idle_median: float | None = None) -> None:
    statuses = Counter(o.status for o in outcomes)
    receipted = sum(o.signed for o in outcomes)
    latencies = sorted(o.latency for o in outcomes if o.signed)
    line = f"  {name:13} {receipted:>4}/{len(outcomes)} receipted  statuses {dict(statuses)}"
    if sent_late := sum(o.sent_late for o in outcomes):
        line += f" ({sent_late} last bytes left after the deadline)"
    if latencies:
        p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
        line += f"  p50 {statistics.median(latencies):.2f}s p99 {p99:.2f}s"
        if idle_median:
            line += f" ({p99 / idle_median:.1f}x idle)"
    print(line, flush=True)
    for refusal, count in Counter(o.refusal for o in outcomes if o.refusal).most_common(2):
        print(f"    {count} x {refusal}", flush=True)


def run(setup: str, suppliers: int, window: float) -> None:
    with tempfile.TemporaryDirectory(prefix="tender-rush-") as scratch:
        root = Path(scratch)
        pki = TestPKI.create(root / "pki")
        line = "Unit rates for lot 3: resurfacing, drainage and road markings. "
        body = signed_pdf(pki, "supplier-a", "\n".join([line] * (MB // (len(line) + 8))))
        print(f"\n{setup}: {suppliers} suppliers, bids of {len(body):,} bytes", flush=True)
        with platform_processes(setup, root, pki, suppliers) as running:
            lead = 20 + suppliers * 0.05  # time to open every connection and send the bulk
            idle_outcomes = asyncio.run(idle(running, body, 10))
            idle_median = statistics.median(o.latency for o in idle_outcomes[2:])
            report("idle", idle_outcomes)
            report("rush", asyncio.run(rush(running, body, window, lead)))
            report("spread 30 s", asyncio.run(rush(running, body, 30, lead + 30)), idle_median)
            report("fingerprints", asyncio.run(fingerprints(running, lead)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", choices=["production", "embedded", "both"], default="both")
    parser.add_argument("--suppliers", type=int, default=300)
    parser.add_argument("--window", type=float, default=6.0)
    args = parser.parse_args()
    for setup in ("production", "embedded") if args.setup == "both" else (args.setup,):
        run(setup, args.suppliers, args.window)


if __name__ == "__main__":
    main()
