"""End-to-end fixtures: the platform as `tender up` runs it, served over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tender import migrate
from tender.config import Settings
from tender.platform import Platform
from tender.runtime import create_starter_accounts, running_platform, serving
from tender.signing.testing import P12_PASSPHRASE, TestPKI
from tender.storage.objectstore import S3Config

BIDDING_WINDOW = timedelta(seconds=12)
"""How long a tender made by an end-to-end test stays open, from its creation: enough for its
bids on a loaded two-core machine (4 seconds was not: three signed uploads took longer while
other suites ran beside them, and the bids arrived late)."""


@dataclass
class Site:
    """A running platform seen from outside: its URL and the starter accounts' tokens."""

    client: httpx.Client
    officer: str
    alice: str
    bob: str
    carol: str
    auditor: str
    platform: Platform  # the platform serving it, for what a test arranges behind the API

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment a `tender` process needs to run with ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENDER_")}
    env.update(
        TENDER_DATA_DIR=str(settings.data_dir),
        TENDER_DATABASE_URL=settings.effective_database_url,
        TENDER_S3_ENDPOINT=settings.s3_endpoint,
        TENDER_S3_ACCESS_KEY=settings.s3_access_key,
        TENDER_S3_SECRET_KEY=settings.s3_secret_key,
        TENDER_BUCKET=settings.bucket,
        TENDER_BROKER_URL=settings.broker_url,
        TENDER_BROKER_NAMESPACE=settings.broker_namespace,
        TENDER_TRUST_DIR=str(settings.trust_dir or ""),
        TENDER_PLATFORM_P12=str(settings.platform_p12 or ""),
        TENDER_PLATFORM_P12_PASSWORD_FILE=str(settings.platform_p12_password_file or ""),
        TENDER_ALLOW_KEY_FILES=str(settings.allow_key_files),
        TENDER_PKCS11_MODULE=settings.pkcs11_module,
        TENDER_PKCS11_TOKEN=settings.pkcs11_token,
        TENDER_PKCS11_PIN_FILE=str(settings.pkcs11_pin_file or ""),
        TENDER_PKCS11_SEAL_KEY=settings.pkcs11_seal_key,
        TENDER_RECONCILE_INTERVAL_SECONDS=str(settings.reconcile_interval_seconds),
        TENDER_HOST=settings.host,
        TENDER_PORT=str(settings.port),
    )
    return env


@dataclass
class Server:
    """A running `tender up` process, seen from outside."""

    base: str
    process: subprocess.Popen[bytes]
    tokens: dict[str, str]  # by role: officer, supplier (the last starter supplier), auditor


@contextmanager
def tender_up(
    settings: Settings,
    *,
    env: dict[str, str] | None = None,
    code: str | None = None,
    log_name: str = "server.log",
) -> Iterator[Server]:
    """Run `tender up` with ``settings`` (or ``python -c code`` in its place, for a server
    with something patched) until it answers, and stop it afterwards if still running."""
    command = ["-c", code] if code is not None else ["-m", "tender.cli", "up"]
    log_path = settings.data_dir.parent / log_name
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, *command],
            env={**settings_env(settings), **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{settings.port}"
        give_up = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > give_up:
                process.kill()
                raise AssertionError(log_path.read_text())
            time.sleep(0.2)
        tokens = {
            line.split()[0]: line.split()[-1]
            for line in (settings.data_dir / "tokens.txt").read_text().splitlines()
        }
        try:
            yield Server(base, process, tokens)
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)


@pytest.fixture
def e2e_settings(
    tmp_path: Path, database_url: str, s3_config: S3Config, test_pki: TestPKI
) -> Settings:
    password_file = tmp_path / "platform-p12-password"
    password_file.write_bytes(P12_PASSPHRASE)
    return Settings(
        data_dir=tmp_path / "var",
        database_url=database_url,
        s3_endpoint=s3_config.endpoint,
        s3_access_key=s3_config.access_key,
        s3_secret_key=s3_config.secret_key,
        bucket=f"e2e-{datetime.now(UTC):%H%M%S%f}",
        trust_dir=test_pki.trust_dir,
        platform_p12=test_pki.p12_path("platform"),
        platform_p12_password_file=password_file,
        reconcile_interval_seconds=1.0,
        allow_key_files=True,  # tests/platform/test_token_keys.py runs one with a token
    )


@pytest.fixture
def worker_process(e2e_settings: Settings) -> Iterator[subprocess.Popen[str] | None]:
    """A separate `tender worker` when a real broker is configured, as in production."""
    if not e2e_settings.broker_url:
        yield None
        return
    migrate.upgrade(e2e_settings.effective_database_url)  # as `tender migrate` at deploy time
    log = (e2e_settings.data_dir.parent / "worker.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "tender.cli", "worker"],
        env=settings_env(e2e_settings),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_for_worker(e2e_settings)  # it creates the platform key the API process then loads
    yield process
    process.terminate()
    process.wait(timeout=20)
    log.close()


def wait_for_worker(settings: Settings) -> None:
    log = settings.data_dir.parent / "worker.log"
    give_up = time.monotonic() + 60
    while "waiting for openings" not in (log.read_text() if log.exists() else ""):
        if time.monotonic() > give_up:
            raise AssertionError(f"tender worker did not start:\n{log.read_text()}")
        time.sleep(0.1)


@pytest.fixture
def site(e2e_settings: Settings, worker_process: subprocess.Popen[str] | None) -> Iterator[Site]:
    in_process = worker_process is None
    with (
        running_platform(
            e2e_settings, worker=in_process, reconciler=in_process, say=lambda _: None
        ) as platform,
        serving(platform) as base,
    ):
        accounts = create_starter_accounts(platform)
        officer, alice, bob, carol, auditor = (account.token for account in accounts)
        with httpx.Client(base_url=base, timeout=60) as client:
            yield Site(client, officer, alice, bob, carol, auditor, platform)
