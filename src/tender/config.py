"""Settings: one object, read from the environment in one place.

Every variable is documented in README.md ("Settings"). ``Settings.from_env`` is called by the
command line; tests build ``Settings`` directly, so nothing is read at import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "TENDER_"
SEVEN_YEARS_DAYS = 7 * 365 + 2  # seven calendar years, counting the leap days they span


DEFAULT_DEADLINE_HORIZON_DAYS = 730


OCDS_PLACEHOLDER_PREFIX = "ocds-xxxxxx"
"""Not a registered OCDS prefix: six x's mark where the publisher's own goes."""


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Everything the platform can be configured with.

    The defaults are the embedded set-up: SQLite, SeaweedFS and the in-process job worker, all
    under ``data_dir``.
    """

    data_dir: Path = Path("var")
    database_url: str = ""  # empty: SQLite file under data_dir
    s3_endpoint: str = ""  # empty: start SeaweedFS from the wheel under data_dir/s3
    s3_access_key: str = "tender"
    s3_secret_key: str = field(default="tender-secret-key", repr=False)
    s3_secure: bool = False
    s3_region: str = ""
    bucket: str = "tender-bids"
    broker_url: str = ""  # empty: StubBroker with an in-process worker
    broker_namespace: str = "tender"
    trust_dir: Path | None = None  # empty: the embedded set-up makes a test PKI and says so
    revocation_dir: Path | None = None  # CRLs and OCSP responses supplied offline
    revocation_fetch_hosts: str = ""  # comma-separated host[:port] the server may fetch from
    # The platform's keys in a PKCS#11 token (README, "Keys in a PKCS#11 token"): the module
    # (the token's driver library), the token's label, a file holding its user PIN, and the
    # labels of the keys in it. Required outside the embedded default unless allow_key_files.
    pkcs11_module: str = ""
    pkcs11_token: str = ""
    pkcs11_pin_file: Path | None = None
    pkcs11_wrap_key: str = "tender-platform-key"  # AES-256: wraps automatic tenders' keys
    pkcs11_signing_key: str = "tender-signing-key"  # Ed25519: checkpoints and receipts
    pkcs11_seal_key: str = ""  # the seal's key and certificate; empty: platform_p12
    # Outside the embedded default, keep the platform key and signing key in files anyway
    # (trials and tests): whoever reads them can open every automatic tender at any time.
    allow_key_files: bool = False
    platform_key_file: Path | None = None  # empty: data_dir/platform.key
    signing_key_file: Path | None = None  # empty: data_dir/signing.key (Ed25519)
    platform_p12: Path | None = None  # the platform's organisation seal (opening record PDFs)
    platform_p12_password_file: Path | None = None
    log_origin: str = "tender.invalid/audit-log"  # names this log in its checkpoints
    # Open data (OCDS): ocids are "<prefix>-<tender id>". The default is a PLACEHOLDER, not a
    # registered prefix: register one with the Open Contracting Partnership and set it.
    ocds_prefix: str = OCDS_PLACEHOLDER_PREFIX
    ocds_publisher: str = "Tender platform (set TENDER_OCDS_PUBLISHER)"
    tsa_url: str = ""  # empty: the platform's own test TSA time-stamps checkpoints, and says so
    tsa_trust_dir: Path | None = None  # the TSA's CA certificates (default: trust_dir)
    checkpoint_interval_seconds: float = 1.0  # while the log grows; receipts wait for one
    orphan_sweep_after_seconds: float = (
        600.0  # an unrecorded stored object older than this is named
    )
    retention_days: int = SEVEN_YEARS_DAYS
    chunk_size: int = 64 * 1024
    max_bid_bytes: int = 4 * 1024**3
    precheck_max_bytes: int = 256 * 1024**2  # larger files are verified at the opening only
    upload_idle_seconds: float = 60.0  # an upload whose body stalls this long is refused (408)
    # Resumable uploads (sent in parts): one that no part reaches for this long is dropped; at
    # most this many in progress in one server process.
    resumable_idle_seconds: float = 1800.0
    resumable_uploads: int = 100
    reconcile_interval_seconds: float = 30.0
    # The opening waits this long after the deadline for uploads that arrived by it to be
    # recorded; then it goes on without them (and says so in the log).
    recording_grace_seconds: float = 600.0
    # A tender's deadline may be at most this many days ahead (bids stay locked until years
    # after it; a deadline in 9999 is a typing error).
    deadline_horizon_days: int = DEFAULT_DEADLINE_HORIZON_DAYS
    # Per supplier and tender: how many bid files, and how many bytes in all (every stored
    # object is locked for years, so nobody may fill the store).
    max_files_per_bid: int = 50
    max_bytes_per_bid: int = 2 * 1024**3
    request_threads: int = 8  # threads for requests' database and storage work, per process
    rate_limit_per_minute: int = 600  # requests per client address; 0: no limit
    # Browser sessions: how long one lasts, and whether its cookie is sent over HTTPS only
    # (turn off only to try the platform over plain HTTP on a machine of your own).
    session_hours: float = 12.0
    cookie_secure: bool = True
    # Supplier registrations are activated without waiting for an administrator.
    open_registration: bool = False
    # Where people reach the platform, for links in emails (empty: http://host:port).
    public_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    # Email: SMTP when a host is set; else each message is written to outbox_dir as an .eml.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password_file: Path | None = None
    smtp_starttls: bool = True
    smtp_from: str = "tender@tender.invalid"
    outbox_dir: Path | None = None  # empty: data_dir/outbox
    deadline_reminder_hours: float = 24.0  # suppliers who started a bid are reminded then

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``TENDER_*`` variables (``TENDER_DATABASE_URL`` and so on)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = ENV_PREFIX + f.name.upper()
            raw = env.get(name)
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(name, raw, cls.__dataclass_fields__[f.name].type)
        return cls(**values)

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some fields changed (used by tests and the demo)."""
        return replace(self, **changes)

    @property
    def fetch_allowed_hosts(self) -> frozenset[str]:
        return frozenset(h.strip() for h in self.revocation_fetch_hosts.split(",") if h.strip())

    @property
    def embedded(self) -> bool:
        """True when nothing external is configured: SQLite, SeaweedFS, in-process jobs."""
        return not (self.database_url or self.s3_endpoint or self.broker_url)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'tender.db').resolve()}"

    @property
    def effective_platform_key_file(self) -> Path:
        return self.platform_key_file or self.data_dir / "platform.key"

    @property
    def effective_signing_key_file(self) -> Path:
        return self.signing_key_file or self.data_dir / "signing.key"

    @property
    def effective_outbox_dir(self) -> Path:
        return self.outbox_dir or self.data_dir / "outbox"


def _parse(name: str, raw: str, type_name: object) -> object:
    text = str(type_name)
    try:
        if text == "bool":
            if raw.lower() not in {"1", "0", "true", "false", "yes", "no"}:
                raise ValueError(raw)
            return raw.lower() in {"1", "true", "yes"}
        if text == "int":
            return int(raw)
        if text == "float":
            return float(raw)
        if "Path" in text:
            return Path(raw)
    except ValueError as exc:
        raise SettingsError(
            f"{name}={raw!r} is not a valid {text}; set it to a {text} value or unset it."
        ) from exc
    return raw
