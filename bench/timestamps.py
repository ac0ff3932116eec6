"""What an RFC 3161 time-stamp from the test time-stamping authority costs.

The embedded default (``tender up``) and every test time-stamp checkpoints and opening-record
seals with the test PKI's in-process authority (``TestPKI.timestamper()`` /
``TestPKI.load_timestamper()``). For N tokens over a SHA-256 digest, prints the time per token
of

* a bare RSA-2048 PKCS#1 v1.5 SHA-256 signature over as many bytes as a token's signed
  attributes, with a key loaded beforehand (the baseline: the signature a token needs);
* loading the authority's RSA key from DER (what pyHanko's stamper repeats for every token);
* pyHanko's ``DummyTimeStamper`` on the certificate as Certomancer built it (what
  ``TestPKI.timestamper()`` returned until it made its own), which loads (and checks) its key
  for every token and re-encodes the certificate, which asn1crypto holds as built, for each;
* Tender's ``KeyLoadedTimeStamper``, as ``TestPKI.timestamper()`` makes it: key loaded once,
  certificate and signing-certificate attribute read back from their DER once;

each as a ratio to the baseline measured in the same run (the best of ``--repeat`` passes),
all in one event loop. Every token must validate (``validate_tst_signed_data``, as the audit
verifiers check them) against the test PKI's trust store, or the script stops.

Run: ``.venv/bin/python -m bench.timestamps [--n 50] [--repeat 3]``. Not a test: timings
depend on the machine.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from asn1crypto import cms
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pyhanko.sign.timestamps import DummyTimeStamper, TimeStamper
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data

from bench.verify import n_and_repeat
from tender.signing import TrustStore
from tender.signing.testing import KeyLoadedTimeStamper, TestPKI

Step = Callable[[bytes], None]
"""Do one unit of work for the digest given."""


def best_per_item(step: Step, digests: list[bytes], repeat: int) -> float:
    """Seconds per item, the best of ``repeat`` passes (after one warm-up item)."""
    step(digests[0])
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for digest in digests:
            step(digest)
        best = min(best, time.perf_counter() - start)
    return best / len(digests)


def tokens(stamper: TimeStamper, digests: list[bytes], repeat: int, trust: TrustStore) -> float:
    """Seconds per token from ``stamper``, all requested in one event loop; stops unless
    its tokens validate."""

    async def run() -> float:
        async def one(digest: bytes) -> cms.ContentInfo:
            token: cms.ContentInfo = await stamper.async_timestamp(digest, "sha256")
            return token

        sample = await one(digests[0])
        status = await validate_tst_signed_data(
            sample["content"], trust.validation_context(datetime.now(UTC)), lambda _: digests[0]
        )
        if not (status["intact"] and status["valid"] and status["trust_problem_indic"] is None):
            sys.exit(f"{type(stamper).__name__}: its token does not validate; stopping")
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            for digest in digests:
                await one(digest)
            best = min(best, time.perf_counter() - start)
        return best / len(digests)

    return asyncio.run(run())


def main() -> None:
    n, repeat = n_and_repeat(__doc__.split("\n\n")[0], default_n=50, what="tokens per method")
    digests = [hashlib.sha256(f"checkpoint {number}".encode()).digest() for number in range(n)]
    with tempfile.TemporaryDirectory(prefix="tender-bench-") as folder:
        pki = TestPKI.create(Path(folder) / "pki")
        trust = pki.trust_store()
        ours = pki.timestamper()
        assert isinstance(ours, KeyLoadedTimeStamper)
        key_der = ours.tsa_key.dump()
        key = serialization.load_der_private_key(key_der, password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        # A token's signed attributes: content type, signing time, signing certificate, digest.
        signed_attributes = bytes(300)

        def bare_signature(_: bytes) -> None:
            key.sign(signed_attributes, padding.PKCS1v15(), hashes.SHA256())

        def key_load(_: bytes) -> None:
            serialization.load_der_private_key(key_der, password=None)

        baseline = best_per_item(bare_signature, digests, repeat)
        rows = [
            ("bare RSA-2048 signature, key loaded", baseline),
            ("loading the RSA key (DER)", best_per_item(key_load, digests, repeat)),
            (
                "pyHanko DummyTimeStamper (key per token)",
                tokens(
                    DummyTimeStamper(tsa_cert=pki.certificate("tsa"), tsa_key=ours.tsa_key),
                    digests,
                    repeat,
                    trust,
                ),
            ),
            ("Tender KeyLoadedTimeStamper (key once)", tokens(ours, digests, repeat, trust)),
        ]
    print(
        f"{n} time-stamp tokens (RSA-2048, SHA-256), best of {repeat} passes, "
        f"pyHanko {version('pyhanko')}, cryptography {version('cryptography')}, "
        f"Python {sys.version.split()[0]}"
    )
    print(f"{'method':44} {'per token':>10} {'vs bare signature':>18}")
    for name, seconds in rows:
        print(f"{name:44} {seconds * 1000:7.2f} ms {seconds / baseline:17.1f}x")


if __name__ == "__main__":
    main()
