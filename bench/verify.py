"""What Tender's signature verification costs, against pyHanko doing the bare minimum.

For N bids signed by the test PKI — N signed PDFs (PAdES) and N files with a detached
``.p7s`` (CAdES), one ECDSA P-256 signature each — prints the time per signature of

* bare pyHanko, classic: ``validate_pdf_signature`` (PDF) or ``async_validate_detached_cms``
  (file and ``.p7s``) in this process, with a ``ValidationContext`` on the same trust roots
  (the first baseline: the classic check alone, no AdES process, no reporting);
* bare pyHanko, AdES: ``ades_basic_validation`` (ETSI EN 319 102-1 basic validation) with
  Tender's validation policy, given the signed digest (for a PDF, after parsing it) — the
  second baseline;
* bare pyHanko, both: the classic check and then the AdES process, each in full, on one
  parse (what Tender did before the two shared their work);
* Tender: ``tender.signing.verify_document`` (AdES basic validation *and* the classic status
  for a PDF, the difference analysis, the signer binding and the report);
* for PDFs, the ``pyhanko sign validate`` command, one process per file (what a script calling
  the CLI would pay, start-up included),

each as a ratio to both baselines measured in the same run (the best of ``--repeat`` passes,
the methods taking turns pass by pass),
and, for the in-process methods, how many times per signature each parsed a PDF, validated
a certificate path and made a cryptographic verification (signature values, certificates,
CRLs). The counts come from a separate, untimed pass that wraps pyHanko's
``PdfFileReader.__init__``, ``generic_cms.validate_cert_usage`` and
``DefaultSignatureValidator.validate_signature``. Every method must find every signature
valid, or the numbers would compare different work; the script stops otherwise.

Run: ``.venv/bin/python -m bench.verify [--n 20] [--repeat 3]``. Not a test: timings depend
on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from io import BytesIO
from pathlib import Path
from typing import Any

from asn1crypto import cms
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.validation import (
    EmbeddedPdfSignature,
    async_validate_detached_cms,
    generic_cms,
    validate_pdf_signature,
)
from pyhanko.sign.validation.ades import ades_basic_validation
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.sig_validate import DefaultSignatureValidator

from tender.signing import Indication, TrustStore, verify_document
from tender.signing.signer import sign_detached
from tender.signing.testing import TestPKI, signed_pdf
from tender.signing.trust import point_in_time

PYHANKO = Path(sys.executable).with_name("pyhanko")
SIGNERS = ("supplier-a", "supplier-b", "supplier-c")

Check = Callable[[Path], bool]
"""Validate one signed file (a PDF, or a file whose ``.p7s`` lies beside it); True if its
signature is valid."""


def _p7s(path: Path) -> Path:
    return path.with_name(path.name + ".p7s")


def _context(trust: TrustStore) -> ValidationContext:
    # A fresh context per file, as for Tender: contexts cache validated paths.
    return ValidationContext(
        trust_roots=list(trust.roots), other_certs=list(trust.intermediates), allow_fetching=False
    )


def _classic_pdf(signature: EmbeddedPdfSignature, trust: TrustStore) -> bool:
    status = validate_pdf_signature(signature, signer_validation_context=_context(trust))
    return bool(status.bottom_line)


def _ades(signed_data: cms.SignedData, digest: bytes, trust: TrustStore) -> bool:
    result = asyncio.run(
        ades_basic_validation(
            signed_data,
            trust.validation_spec(),
            timing_info=point_in_time(datetime.now(UTC)),
            raw_digest=digest,
        )
    )
    return result.ades_subindic is AdESPassed.OK


def _classic_detached(content: bytes, signed_data: cms.SignedData, trust: TrustStore) -> bool:
    status = asyncio.run(
        async_validate_detached_cms(
            BytesIO(content), signed_data, signer_validation_context=_context(trust)
        )
    )
    return bool(status.bottom_line)


def _signed_data(path: Path) -> cms.SignedData:
    signed_data: cms.SignedData = cms.ContentInfo.load(_p7s(path).read_bytes())["content"]
    return signed_data


def bare_classic_pdf(trust: TrustStore) -> Check:
    """The first baseline: pyHanko's classic validation only, on the same roots and
    intermediates."""

    def check(path: Path) -> bool:
        with path.open("rb") as pdf:
            (signature,) = PdfFileReader(pdf).embedded_signatures
            return _classic_pdf(signature, trust)

    return check


def bare_ades_pdf(trust: TrustStore) -> Check:
    """The second baseline: ETSI basic validation only, after parsing the PDF for the
    signature and its digest."""

    def check(path: Path) -> bool:
        with path.open("rb") as pdf:
            (signature,) = PdfFileReader(pdf).embedded_signatures
            return _ades(signature.signed_data, signature.compute_digest(), trust)

    return check


def bare_both_pdf(trust: TrustStore) -> Check:
    """The classic check and the AdES process, each in full, on one parse."""

    def check(path: Path) -> bool:
        with path.open("rb") as pdf:
            (signature,) = PdfFileReader(pdf).embedded_signatures
            classic = _classic_pdf(signature, trust)
            return _ades(signature.signed_data, signature.compute_digest(), trust) and classic

    return check


def bare_classic_detached(trust: TrustStore) -> Check:
    """The first baseline for a detached signature: pyHanko's classic CMS validation."""

    def check(path: Path) -> bool:
        return _classic_detached(path.read_bytes(), _signed_data(path), trust)

    return check


def bare_ades_detached(trust: TrustStore) -> Check:
    """The second baseline for a detached signature: ETSI basic validation, given the file's
    SHA-256."""

    def check(path: Path) -> bool:
        digest = hashlib.sha256(path.read_bytes()).digest()
        return _ades(_signed_data(path), digest, trust)

    return check


def bare_both_detached(trust: TrustStore) -> Check:
    """The classic check and the AdES process, each in full."""

    def check(path: Path) -> bool:
        content, signed_data = path.read_bytes(), _signed_data(path)
        classic = _classic_detached(content, signed_data, trust)
        return _ades(signed_data, hashlib.sha256(content).digest(), trust) and classic

    return check


def tender_verify(trust: TrustStore) -> Check:
    """What the opening runs for each signed PDF."""

    def check(path: Path) -> bool:
        with path.open("rb") as pdf:
            report = verify_document(pdf, trust=trust, at=datetime.now(UTC))
        return report.indication is Indication.TOTAL_PASSED

    return check


def tender_verify_detached(trust: TrustStore) -> Check:
    """What the opening runs for each file with a detached signature."""

    def check(path: Path) -> bool:
        with path.open("rb") as content, _p7s(path).open("rb") as signature:
            report = verify_document(
                content, detached_signature=signature, trust=trust, at=datetime.now(UTC)
            )
        return report.indication is Indication.TOTAL_PASSED

    return check


def pyhanko_cli(pki: TestPKI) -> Check:
    """The ``pyhanko`` command, a new process per file."""
    trust_args = [
        "--trust",
        str(pki.trust_dir / "root.pem"),
        "--trust-replace",
        "--other-certs",
        str(pki.trust_dir / "interm.pem"),
        # Tender and the baseline never go online either.
        "--no-revocation-check",
    ]

    def check(path: Path) -> bool:
        command = [str(PYHANKO), "sign", "validate", *trust_args, "--executive-summary", str(path)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        return result.returncode == 0 and result.stdout.strip().endswith(":VALID")

    return check


def one_pass(check: Check, files: list[Path], name: str) -> float:
    """Seconds per file for one pass over ``files``."""
    start = time.perf_counter()
    valid = [check(file) for file in files]
    elapsed = time.perf_counter() - start
    if not all(valid):
        sys.exit(f"{name}: {valid.count(False)} of {len(files)} signatures not valid; stopping")
    return elapsed / len(files)


@contextmanager
def counting() -> Iterator[Counter[str]]:
    """Count PDF parses, certificate-path validations and cryptographic verifications made
    inside the block, by wrapping where pyHanko does each."""
    counts: Counter[str] = Counter()
    parse = PdfFileReader.__init__
    validate_path = generic_cms.validate_cert_usage
    verify = DefaultSignatureValidator.validate_signature

    def counting_parse(self: PdfFileReader, *args: Any, **kwargs: Any) -> None:
        counts["parses"] += 1
        parse(self, *args, **kwargs)

    async def counting_path(*args: Any, **kwargs: Any) -> Any:
        counts["paths"] += 1
        return await validate_path(*args, **kwargs)

    def counting_verify(self: DefaultSignatureValidator, *args: Any, **kwargs: Any) -> None:
        counts["verifications"] += 1
        verify(self, *args, **kwargs)

    PdfFileReader.__init__ = counting_parse  # type: ignore[method-assign]
    generic_cms.validate_cert_usage = counting_path
    DefaultSignatureValidator.validate_signature = counting_verify  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        PdfFileReader.__init__ = parse  # type: ignore[method-assign]
        generic_cms.validate_cert_usage = validate_path
        DefaultSignatureValidator.validate_signature = verify  # type: ignore[method-assign]


def work_per_signature(check: Check, files: list[Path]) -> tuple[float, float, float]:
    """(parses, path validations, cryptographic verifications) per file."""
    with counting() as counts:
        for file in files:
            check(file)
    n = len(files)
    return counts["parses"] / n, counts["paths"] / n, counts["verifications"] / n


@dataclass(frozen=True)
class Row:
    name: str
    seconds: float
    work: tuple[float, float, float] | None  # None: not counted (another process)


def print_table(title: str, rows: list[Row]) -> None:
    classic, ades = rows[0].seconds, rows[1].seconds
    print()
    print(
        f"{title:44} {'per signature':>13} {'vs classic':>10} {'vs AdES':>8} "
        f"{'parses':>7} {'paths':>6} {'verifications':>13}"
    )
    for row in rows:
        work = "" if row.work is None else "{:7.1f} {:6.1f} {:13.1f}".format(*row.work)
        print(
            f"{row.name:44} {row.seconds * 1000:10.1f} ms {row.seconds / classic:9.2f}x "
            f"{row.seconds / ades:7.2f}x {work}"
        )


def measure(methods: list[tuple[str, Check, bool]], files: list[Path], repeat: int) -> list[Row]:
    """Time and count each (name, check, in this process) on ``files``: the best of
    ``repeat`` passes, the methods taking turns pass by pass so that a busy moment of the
    machine does not fall on one of them alone. Each first validates one file unmeasured, so
    that imports and first-use caches are not charged to it. A method in another process is
    timed in one pass and not counted."""
    best = {name: float("inf") for name, _, _ in methods}
    for _, check, _ in methods:
        check(files[0])
    for turn in range(repeat):
        for name, check, in_process in methods:
            if in_process or turn == 0:
                best[name] = min(best[name], one_pass(check, files, name))
    return [
        Row(name, best[name], work_per_signature(check, files) if in_process else None)
        for name, check, in_process in methods
    ]


def n_and_repeat(description: str, *, default_n: int, what: str) -> tuple[int, int]:
    """``--n`` (how many ``what``) and ``--repeat`` (timed passes, best kept) from the command
    line."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--n", type=int, default=default_n, help=f"{what} (default {default_n})")
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed passes per method, best kept (default 3)"
    )
    arguments = parser.parse_args()
    if arguments.n < 1 or arguments.repeat < 1:
        parser.error("--n and --repeat must be at least 1")
    return arguments.n, arguments.repeat


def main() -> None:
    n, repeat = n_and_repeat(__doc__.split("\n\n")[0], default_n=20, what="number of signed bids")
    with tempfile.TemporaryDirectory(prefix="tender-bench-") as folder:
        pki = TestPKI.create(Path(folder) / "pki")
        trust = pki.trust_store()
        pdfs, detached = [], []
        for number in range(n):
            signer = SIGNERS[number % len(SIGNERS)]
            pdf = Path(folder) / f"bid-{number}.pdf"
            pdf.write_bytes(signed_pdf(pki, signer, f"Bid {number}"))
            pdfs.append(pdf)
            content = Path(folder) / f"bid-{number}.csv"
            content.write_bytes(f"item,unit price\nasphalt,{1000 + number}\n".encode() * 500)
            with content.open("rb") as source, _p7s(content).open("wb") as output:
                sign_detached(source, output, pki.signer(signer))
            detached.append(content)
        pades = measure(
            [
                ("bare pyHanko classic (validate_pdf_signature)", bare_classic_pdf(trust), True),
                ("bare pyHanko AdES (ades_basic_validation)", bare_ades_pdf(trust), True),
                ("bare pyHanko classic + AdES, each in full", bare_both_pdf(trust), True),
                ("Tender verify_document", tender_verify(trust), True),
                ("pyhanko sign validate, one process each", pyhanko_cli(pki), False),
            ],
            pdfs,
            repeat,
        )
        cades = measure(
            [
                (
                    "bare pyHanko classic (validate_detached_cms)",
                    bare_classic_detached(trust),
                    True,
                ),
                ("bare pyHanko AdES (ades_basic_validation)", bare_ades_detached(trust), True),
                ("bare pyHanko classic + AdES, each in full", bare_both_detached(trust), True),
                ("Tender verify_document", tender_verify_detached(trust), True),
            ],
            detached,
            repeat,
        )
    print(
        f"{n} signed bids of each kind (one ECDSA P-256 signature each), best of {repeat} "
        f"passes, pyHanko {version('pyhanko')}, Python {sys.version.split()[0]}"
    )
    print_table("PAdES (signed PDF)", pades)
    print_table("CAdES (file + detached .p7s, 12 kB)", cades)


if __name__ == "__main__":
    main()
