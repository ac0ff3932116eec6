"""Settings come from TENDER_* variables, with clear errors for bad values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tender.config import Settings, SettingsError


def test_defaults_are_the_embedded_setup() -> None:
    settings = Settings.from_env({})
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.s3_endpoint == ""
    assert settings.broker_url == ""
    assert settings.retention_days >= 7 * 365


def test_values_are_parsed_by_type() -> None:
    settings = Settings.from_env(
        {
            "TENDER_DATABASE_URL": "postgresql+psycopg://db/tender",
            "TENDER_RETENTION_DAYS": "30",
            "TENDER_S3_SECURE": "true",
            "TENDER_TRUST_DIR": "/etc/tender/trust",
            "TENDER_RECONCILE_INTERVAL_SECONDS": "2.5",
        }
    )
    assert settings.database_url == "postgresql+psycopg://db/tender"
    assert settings.retention_days == 30
    assert settings.s3_secure is True
    assert settings.trust_dir == Path("/etc/tender/trust")
    assert settings.reconcile_interval_seconds == 2.5


def test_bad_value_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="TENDER_PORT='eighty'"):
        Settings.from_env({"TENDER_PORT": "eighty"})


@pytest.mark.integration
def test_outside_the_embedded_default_a_trust_folder_is_required(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "TENDER_DATA_DIR": str(tmp_path),
        "TENDER_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "TENDER_S3_ENDPOINT": "127.0.0.1:9",
    }
    refused = subprocess.run(
        [sys.executable, "-m", "tender.cli", "worker"],
        env={**env, "TENDER_BROKER_URL": "redis://127.0.0.1:9"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "TENDER_TRUST_DIR is not set" in refused.stderr


def test_revocation_fetch_hosts_are_a_comma_separated_allow_list() -> None:
    settings = Settings.from_env(
        {"TENDER_REVOCATION_FETCH_HOSTS": " ocsp.ca.example, crl.ca:8080 ,"}
    )
    assert settings.fetch_allowed_hosts == {"ocsp.ca.example", "crl.ca:8080"}
    assert Settings.from_env({}).fetch_allowed_hosts == frozenset()
