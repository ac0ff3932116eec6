"""What Tender's signature verification costs, against pyHanko doing the bare minimum.

For N bids signed by the test PKI, prints the time per signature of

* bare pyHanko: ``validate_pdf_signature`` in this process, with a ``ValidationContext`` on the
  same trust roots (the baseline: the classic check alone, no AdES process, no reporting);
* Tender: ``tender.signing.verify_document`` (AdES basic validation *and* the classic status,
  plus the report);
* the ``pyhanko sign validate`` command, one process per file (what a script calling the CLI
  would pay, start-up included),

and each as a ratio to the baseline measured in the same run. Every method must find every
signature valid, or the numbers would compare different work; the script stops otherwise.

Run: ``.venv/bin/python bench/verify.py [--n 20]``. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from tender.signing import Indication, TrustStore, verify_document
from tender.signing.testing import TestPKI, signed_pdf

PYHANKO = Path(sys.executable).with_name("pyhanko")
SIGNERS = ("supplier-a", "supplier-b", "supplier-c")

Check = Callable[[Path], bool]
"""Validate one signed file; True if its signature is valid."""


def bare_pyhanko(trust: TrustStore) -> Check:
    """The baseline: pyHanko's classic validation only, on the same roots and intermediates."""

    def check(path: Path) -> bool:
        with path.open("rb") as pdf:
            (signature,) = PdfFileReader(pdf).embedded_signatures
            # A fresh context per file, as for Tender: contexts cache validated paths.
            context = ValidationContext(
                trust_roots=list(trust.roots),
                other_certs=list(trust.intermediates),
                allow_fetching=False,
            )
            status = validate_pdf_signature(signature, signer_validation_context=context)
        return bool(status.bottom_line)

    return check


def tender_verify(trust: TrustStore) -> Check:
    """What the opening runs for each bid."""

    def check(path: Path) -> bool:
        with path.open("rb") as pdf:
            report = verify_document(pdf, trust=trust, at=datetime.now(UTC))
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


def per_signature(check: Check, files: list[Path], name: str) -> float:
    """Seconds per file; the first file is validated once beforehand so that imports and
    first-use caches are not charged to the measurement."""
    check(files[0])
    start = time.perf_counter()
    valid = [check(file) for file in files]
    elapsed = time.perf_counter() - start
    if not all(valid):
        sys.exit(f"{name}: {valid.count(False)} of {len(files)} signatures not valid; stopping")
    return elapsed / len(files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20, help="number of signed bids (default 20)")
    n = parser.parse_args().n
    if n < 1:
        parser.error("--n must be at least 1")
    with tempfile.TemporaryDirectory(prefix="tender-bench-") as folder:
        pki = TestPKI.create(Path(folder) / "pki")
        trust = pki.trust_store()
        files = []
        for number in range(n):
            path = Path(folder) / f"bid-{number}.pdf"
            path.write_bytes(signed_pdf(pki, SIGNERS[number % len(SIGNERS)], f"Bid {number}"))
            files.append(path)
        baseline = per_signature(bare_pyhanko(trust), files, "bare pyHanko")
        rows = [
            ("bare pyHanko validate_pdf_signature", baseline),
            ("Tender verify_document", per_signature(tender_verify(trust), files, "Tender")),
            (
                "pyhanko sign validate, one process each",
                per_signature(pyhanko_cli(pki), files, "pyhanko CLI"),
            ),
        ]
    print(
        f"{n} signed bids (PAdES, one ECDSA P-256 signature each), "
        f"pyHanko {version('pyhanko')}, Python {sys.version.split()[0]}"
    )
    print(f"{'method':42} {'per signature':>14} {'vs bare':>9}")
    for name, seconds in rows:
        print(f"{name:42} {seconds * 1000:11.1f} ms {seconds / baseline:8.2f}x")


if __name__ == "__main__":
    main()
