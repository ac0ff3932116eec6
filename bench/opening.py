"""What the opening costs, against unsealing the same bids and validating them with bare pyHanko.

``--bids`` signed PDFs of about ``--mib`` MiB each (default 1 000 of 1 MiB: the test PKI's three
suppliers, each certificate registered to its supplier's organisation; each file a one-page PDF
padded with an uncompressed stream of random text, so that hashing and parsing see real sizes)
are uploaded through the platform's own intake (sealed, Object-Locked in a throw-away
SeaweedFS, recorded with their audit events on a fresh PostgreSQL database, pre-check off) to
each of two tenders. Then, in the same run:

1. the baseline, in this process, one bid after another: read the sealed object, unseal it to
   a temporary file, and validate its signature with pyHanko's ``validate_pdf_signature`` and a
   ``ValidationContext`` on the same trust roots (the classic check alone: no AdES process, no
   difference analysis, no report, no database) — what any opening must at least do;
2. the opening of the first tender with one worker: a ``tender worker``-like process
   (``running_platform`` on Redis, a dramatiq worker with ``--threads`` threads, two as
   shipped, no reconciler), timed from asking for the opening (``Jobs.request_opening``) to
   the tender being opened, record sealed and stored: revealing, claiming, unsealing, hash
   checks, both validation processes, results and audit events, the record;
3. the opening of the second tender with two such processes (the starting worker asks the
   other for help through the queue).

Each worker counts what it unseals and verifies through the opening's own hook
(``Opener.observe``); the script stops unless every bid was unsealed and verified exactly once,
every verdict is TOTAL_PASSED (the baseline must find every signature valid too: the methods
must do the same work), and each tender has one ``opening.finished``. It prints wall-clock
seconds, the CPU seconds of the processes doing the work, the ratios to the baseline measured
in the same run, and how busy the whole machine was meanwhile (PostgreSQL, SeaweedFS and
anything else running count: on a machine shared with other work, two workers cannot be
twice as fast as one). Generating and uploading the bids is not timed; with 1 000 bids it
takes about two minutes here, the timed part about one.

Run: ``.venv/bin/python -m bench.opening [--bids 1000] [--mib 1] [--threads 2]`` from the
repository root, with PostgreSQL (``TENDER_BENCH_POSTGRES_URL``) and Redis
(``TENDER_BENCH_REDIS_URL``) running. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import anyio
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from sqlalchemy import func, select

from bench.audit import drop_postgres, fresh_postgres
from tender.accounts.models import Role, User
from tender.accounts.service import AccountService, CertificateService
from tender.audit.models import AuditEvent
from tender.bids.models import BidDocument
from tender.clock import ManualClock
from tender.committee.service import form_committee
from tender.config import Settings
from tender.documents.service import suppliers_of
from tender.opening.models import OpeningResult
from tender.platform import Platform
from tender.runtime import running_platform
from tender.signing import TrustStore
from tender.signing.signer import sign_detached, sign_pdf
from tender.signing.testing import P12_PASSPHRASE, TestPKI
from tender.signing.testing.documents import pdf_from_objects
from tender.storage.embedded import EmbeddedS3
from tender.storage.sealing import TenderKey, unseal
from tender.tenders.models import OpeningMethod, Tender, TenderStatus
from tender.tenders.schemas import TenderCreate
from tender.tenders.service import TenderService, key_context

REDIS_URL = os.environ.get("TENDER_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SIGNERS = ("supplier-a", "supplier-b", "supplier-c")
CHUNK = 1024 * 1024
S3_ACCESS_KEY, S3_SECRET_KEY = "bench", f"bench-{uuid.uuid4().hex}"  # a throw-away server's


# -- The bids --------------------------------------------------------------------------------------


def padded_pdf(number: int, size: int) -> bytes:
    """A one-page PDF of about ``size`` bytes: its page content carries a comment of random
    hexadecimal text (uncompressed, so the file really is that large)."""
    padding = os.urandom(max(0, size - 1000) // 2).hex().encode()
    content = b"BT /F1 12 Tf 72 770 Td (Bid %d) Tj ET\n%%%b\n" % (number, padding)
    return pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]"
            b" /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            b"<< /Length %d >>\nstream\n%b\nendstream" % (len(content), content),
        ],
        file_id=hashlib.md5(content, usedforsecurity=False).digest(),
    )


def generate(folder: Path, pki: TestPKI, count: int, size: int) -> list[tuple[str, Path]]:
    """``count`` signed PDFs in ``folder``, by turns of the three suppliers: (signer, path)."""
    signers = {name: pki.signer(name) for name in SIGNERS}
    bids = []
    for number in range(count):
        name = SIGNERS[number % len(SIGNERS)]
        path = folder / f"bid-{number:05d}.pdf"
        with path.open("wb") as out:
            sign_pdf(io.BytesIO(padded_pdf(number, size)), out, signers[name])
        bids.append((name, path))
    return bids


# -- The platform ----------------------------------------------------------------------------------


def environment(settings: Settings) -> dict[str, str]:
    """The environment of a worker process with ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENDER_")}
    for field in dataclasses.fields(Settings):
        value = getattr(settings, field.name)
        if value is not None and value != "":
            env["TENDER_" + field.name.upper()] = str(value)
    return env


def tender_with_bids(
    platform: Platform, clock: ManualClock, bids: list[tuple[str, Path]], reference: str
) -> Tender:
    """A tender whose deadline has passed by the real clock, with every bid uploaded before it
    by the platform's (manual) clock."""
    officer, suppliers = people(platform)
    with platform.sessions.begin() as session:
        tenders = TenderService(
            session=session,
            clock=clock,
            platform_key=platform.platform_key,
            jobs=platform.jobs,
            taking_part=suppliers_of,
            form_committee=form_committee,
        )
        draft = tenders.create(
            actor=officer,
            data=TenderCreate(
                reference=reference,
                title="Bench",
                deadline=clock.now() + timedelta(hours=1),
                opening=OpeningMethod.AUTOMATIC,
            ),
        )
        tender = tenders.publish(actor=officer, tender_id=draft.id)

    async def chunks(path: Path) -> Any:
        with path.open("rb") as file:
            while piece := file.read(CHUNK):
                yield piece

    for signer, path in bids:
        clock.advance(timedelta(milliseconds=1))

        async def submit(signer: str = signer, path: Path = path) -> None:
            await platform.intake.submit(
                supplier=suppliers[signer],
                tender_id=tender.id,
                file_name=path.name,
                chunks=chunks(path),
            )

        anyio.run(submit)
    platform.jobs.broker.flush_all()  # its timed message: this run asks for the opening itself
    return tender


def people(platform: Platform) -> tuple[User, dict[str, User]]:
    """The officer, and a supplier per signer with its certificate registered (made once)."""
    with platform.sessions.begin() as session:
        existing = {u.name: u for u in session.scalars(select(User))}
    if "Officer" in existing:
        return existing["Officer"], {s: existing[s] for s in SIGNERS}
    pki_dir = platform.settings.data_dir / "test-pki"
    with platform.sessions.begin() as session:
        accounts = AccountService(session=session, clock=platform.clock)
        officer, _ = accounts.create_user(name="Officer", organisation="Entity", role=Role.OFFICER)
        suppliers = {
            s: accounts.create_user(name=s, organisation=f"{s} Ltd", role=Role.SUPPLIER)[0]
            for s in SIGNERS
        }
    for name, supplier in suppliers.items():
        with platform.sessions.begin() as session:
            challenge = certificates(platform, session).challenge(actor=supplier)
        signature = io.BytesIO()
        signer = TestPKI.create(pki_dir).signer(name)
        sign_detached(io.BytesIO(challenge.text.encode()), signature, signer)
        with platform.sessions.begin() as session:
            certificates(platform, session).register(
                actor=supplier, challenge_id=challenge.id, signature=signature.getvalue()
            )
    return officer, suppliers


def certificates(platform: Platform, session: Any) -> CertificateService:
    return CertificateService(
        session=session,
        clock=platform.clock,
        trust=platform.trust,
        platform_name=platform.settings.log_origin,
    )


# -- 1. The baseline -------------------------------------------------------------------------------


def baseline(platform: Platform, tender: Tender, trust: TrustStore) -> tuple[float, float, float]:
    """Unseal every bid of ``tender`` and validate it with bare pyHanko, one after another;
    (wall, CPU) seconds and how busy the machine was. Stops unless every signature is
    valid."""
    assert tender.wrapped_private_key is not None  # an automatic tender's key is stored
    key = TenderKey.unwrap(
        tender.wrapped_private_key, platform.platform_key, context=key_context(tender.id)
    )
    with platform.sessions.begin() as session:
        documents = list(
            session.scalars(select(BidDocument).where(BidDocument.tender_id == tender.id))
        )
    wall, cpu, machine = time.perf_counter(), time.process_time(), machine_busy()
    for document in documents:
        with tempfile.TemporaryFile() as plain:
            sealed = platform.store.iter_version(
                platform.settings.bucket, document.object_key, document.object_version
            )
            digest = hashlib.sha256()
            for piece in unseal(sealed, key):
                digest.update(piece)
                plain.write(piece)
            if digest.hexdigest() != document.sha256:
                sys.exit(f"baseline: {document.file_name} does not hash to its receipt")
            plain.seek(0)
            (signature,) = PdfFileReader(plain).embedded_signatures
            context = ValidationContext(
                trust_roots=list(trust.roots),
                other_certs=list(trust.intermediates),
                allow_fetching=False,
            )
            if not validate_pdf_signature(signature, signer_validation_context=context).bottom_line:
                sys.exit(f"baseline: {document.file_name}'s signature is not valid")
    return (
        time.perf_counter() - wall,
        time.process_time() - cpu,
        busy_share(machine, machine_busy()),
    )


# -- 2, 3. The opening -----------------------------------------------------------------------------


def serve(report: Path, threads: int) -> None:
    """A worker process (``--serve``): the platform from the environment, a dramatiq worker on
    its broker, counting what its opener unseals and verifies; writes the counts and its CPU
    seconds to ``report`` when stopped (SIGTERM)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    counts: dict[str, Counter[str]] = {"unsealed": Counter(), "verified": Counter()}
    lock = threading.Lock()

    def observe(what: str, document_id: uuid.UUID) -> None:
        with lock:
            counts[what][str(document_id)] += 1

    settings = Settings.from_env()
    with running_platform(
        settings,
        worker=False,
        reconciler=False,
        migrate_schema=False,
        recover=False,
        say=lambda _: None,
    ) as platform:
        # The opener the worker's job calls: count through its hook (it is a frozen dataclass).
        object.__setattr__(platform.opener, "observe", observe)
        worker = platform.jobs.worker(threads=threads)
        worker.start()
        started = time.process_time()
        report.with_suffix(".ready").touch()
        stop.wait()
        cpu = time.process_time() - started
        worker.stop()
    report.write_text(json.dumps({"cpu": cpu, **{k: dict(v) for k, v in counts.items()}}))


def opening(
    platform: Platform,
    settings: Settings,
    tender: Tender,
    workers: int,
    threads: int,
    folder: Path,
) -> tuple[float, float, float, list[dict[str, Any]]]:
    """Open ``tender`` with ``workers`` worker processes; (wall seconds from asking to opened,
    CPU seconds of the workers, how busy the machine was, each worker's report)."""
    reports = [folder / f"{tender.reference}-worker-{i}.json" for i in range(workers)]
    env = environment(settings)
    processes = []
    with ExitStack() as stack:
        for report in reports:
            log = stack.enter_context((folder / f"{report.stem}.log").open("w"))
            processes.append(
                subprocess.Popen(
                    [
                        *(sys.executable, "-m", "bench.opening", "--serve", str(report)),
                        *("--threads", str(threads)),
                    ],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        give_up = time.monotonic() + 120
        while not all(r.with_suffix(".ready").exists() for r in reports):
            if time.monotonic() > give_up or any(p.poll() is not None for p in processes):
                sys.exit(f"a worker did not start; see {folder}")
            time.sleep(0.05)
        began, machine = time.perf_counter(), machine_busy()
        platform.jobs.request_opening(tender.id)
        while status(platform, tender) != TenderStatus.OPENED:
            if time.perf_counter() - began > 3600:
                sys.exit(f"{tender.reference} was not opened within an hour")
            time.sleep(0.05)
        wall, busy = time.perf_counter() - began, busy_share(machine, machine_busy())
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=120)
    done = [json.loads(report.read_text()) for report in reports]
    return wall, sum(d["cpu"] for d in done), busy, done


def machine_busy() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far, in clock ticks (Linux); (0, 0)
    elsewhere. The difference over a phase says how busy the machine was, whoever kept it so."""
    try:
        with Path("/proc/stat").open() as stat:
            ticks = [int(n) for n in stat.readline().split()[1:]]
    except OSError:
        return 0, 0
    return sum(ticks) - ticks[3] - ticks[4], sum(ticks)  # idle and iowait are not busy


def busy_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total else float("nan")


def status(platform: Platform, tender: Tender) -> TenderStatus:
    with platform.sessions.begin() as session:
        found = session.scalar(select(Tender.status).where(Tender.id == tender.id))
    assert found is not None
    return found


def check(platform: Platform, tender: Tender, done: list[dict[str, Any]], bids: int) -> None:
    """Stop unless each bid was unsealed and verified exactly once, passed, and the record was
    written once."""
    for what in ("unsealed", "verified"):
        total: Counter[str] = Counter()
        for worker in done:
            total.update(worker[what])
        if len(total) != bids or set(total.values()) != {1}:
            twice = sum(1 for n in total.values() if n > 1)
            sys.exit(f"{tender.reference}: {len(total)} bids {what}, {twice} more than once")
    with platform.sessions.begin() as session:
        verdicts = Counter(
            session.scalars(
                select(OpeningResult.indication).where(OpeningResult.tender_id == tender.id)
            )
        )
        finished = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.tender_id == tender.id, AuditEvent.kind == "opening.finished")
        )
    if verdicts != Counter({"TOTAL_PASSED": bids}) or finished != 1:
        sys.exit(f"{tender.reference}: verdicts {dict(verdicts)}, {finished} records")


# -- Main ------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bids", type=int, default=1000, help="bids per tender")
    parser.add_argument("--mib", type=float, default=1.0, help="size of each bid in MiB")
    parser.add_argument(
        "--threads", type=int, default=2, help="threads of each worker process (as shipped: 2)"
    )
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.threads)
        return
    began = time.perf_counter()
    database, database_url = fresh_postgres()
    try:
        with tempfile.TemporaryDirectory(prefix="tender-bench-opening-") as temp:
            run(Path(temp), database_url, args.bids, int(args.mib * 1024 * 1024), args.threads)
    finally:
        drop_postgres(database)
    print(f"\ntotal {time.perf_counter() - began:.0f} s")


def run(folder: Path, database_url: str, bids: int, size: int, threads: int) -> None:
    data_dir = folder / "var"
    pki = TestPKI.create(data_dir / "test-pki")  # where `tender worker` finds the test TSA
    password = folder / "p12-password"
    password.write_bytes(P12_PASSPHRASE)
    (folder / "bids").mkdir()
    print(
        f"{bids} bids of {size / 1024**2:.1f} MiB a tender; pyHanko {version('pyhanko')}, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    started = time.perf_counter()
    files = generate(folder / "bids", pki, bids, size)
    print(f"generated and signed in {time.perf_counter() - started:.0f} s")
    with EmbeddedS3(folder / "s3", access_key=S3_ACCESS_KEY, secret_key=S3_SECRET_KEY) as s3:
        settings = Settings(
            data_dir=data_dir,
            database_url=database_url,
            s3_endpoint=s3.config.endpoint,
            s3_access_key=S3_ACCESS_KEY,
            s3_secret_key=S3_SECRET_KEY,
            bucket="bench-opening",
            broker_url=REDIS_URL,
            broker_namespace=f"tender-bench-{uuid.uuid4().hex[:12]}",
            trust_dir=pki.trust_dir,
            revocation_dir=pki.revocation_dir,
            platform_p12=pki.p12_path("platform"),
            platform_p12_password_file=password,
            precheck_max_bytes=0,
            allow_key_files=True,  # a throw-away platform: its keys may be files
        )
        # Bids go in before the deadline by this clock; the workers' (real) clock is past it.
        clock = ManualClock(datetime.now(UTC) - timedelta(hours=3))
        with running_platform(
            settings, clock=clock, worker=False, reconciler=False, recover=False, say=lambda _: None
        ) as platform:
            try:
                measure(platform, settings, clock, files, folder, threads)
            finally:
                platform.jobs.broker.flush_all()


def measure(
    platform: Platform,
    settings: Settings,
    clock: ManualClock,
    files: list[tuple[str, Path]],
    folder: Path,
    threads: int,
) -> None:
    bids = len(files)
    started = time.perf_counter()
    first = tender_with_bids(platform, clock, files, "BENCH-1")
    print(f"uploaded to BENCH-1 in {time.perf_counter() - started:.0f} s")
    base_wall, base_cpu, base_busy = baseline(platform, first, platform.trust)
    one_wall, one_cpu, one_busy, one = opening(platform, settings, first, 1, threads, folder)
    check(platform, first, one, bids)
    clock.advance(timedelta(minutes=1))
    started = time.perf_counter()
    second = tender_with_bids(platform, clock, files, "BENCH-2")
    print(f"uploaded to BENCH-2 in {time.perf_counter() - started:.0f} s")
    two_wall, two_cpu, two_busy, two = opening(platform, settings, second, 2, threads, folder)
    check(platform, second, two, bids)

    print(
        f"\n{'':44} {'wall s':>7} {'CPU s':>7} {'ms/bid':>7} {'vs baseline':>12} "
        f"{'vs 1 worker':>12} {'machine busy':>13}"
    )
    rows = [
        ("baseline: unseal + bare pyHanko, in-process", base_wall, base_cpu, base_busy),
        ("opening, 1 worker process", one_wall, one_cpu, one_busy),
        ("opening, 2 worker processes", two_wall, two_cpu, two_busy),
    ]
    for name, wall, cpu, busy in rows:
        print(
            f"{name:44} {wall:7.1f} {cpu:7.1f} {1000 * wall / bids:7.1f} "
            f"{wall / base_wall:11.2f}x {one_wall / wall:11.2f}x {busy:12.0%}"
        )
    spread = " + ".join(str(len(worker["unsealed"])) for worker in two)
    print(
        f"\ntargets: 1 worker <= 1.5x the baseline ({one_wall / base_wall:.2f}x); 2 workers "
        f">= 1.7x faster than 1 ({one_wall / two_wall:.2f}x); no bid twice (counted: each of "
        f"the {bids} bids of each tender unsealed and verified once; 2 workers took {spread})"
    )


if __name__ == "__main__":
    main()
