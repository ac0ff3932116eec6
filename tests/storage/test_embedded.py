"""EmbeddedS3: a real SeaweedFS process, its ports, its restarts and its failures."""

from __future__ import annotations

import io
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest

from tender.storage.embedded import EmbeddedS3, EmbeddedS3Error
from tender.storage.objectstore import ObjectStore, S3Config


def server_in(data_dir: Path, s3_port: int | None = None) -> EmbeddedS3:
    return EmbeddedS3(
        data_dir, access_key="embedded-test", secret_key="embedded-test-secret", s3_port=s3_port
    )


def listeners_of_server_on(s3_port: int) -> list[tuple[str, int]]:
    """The listening addresses of the ``weed`` child process that serves ``s3_port``."""
    for process in psutil.Process().children(recursive=True):
        if process.name() == "weed":
            listening = [
                (c.laddr.ip, c.laddr.port)
                for c in process.net_connections("inet")
                if c.status == psutil.CONN_LISTEN
            ]
            if ("127.0.0.1", s3_port) in listening:
                return listening
    raise AssertionError(f"no weed child process listens on port {s3_port}")


def test_every_listener_is_on_loopback(s3_config: S3Config) -> None:
    s3_port = int(s3_config.endpoint.rsplit(":", 1)[1])
    # HTTP and gRPC for master, volume server, filer, S3 gateway and admin server. The admin
    # server comes up last, shortly after the S3 gateway answers.
    deadline = time.monotonic() + 10
    while len(listening := listeners_of_server_on(s3_port)) < 10 and time.monotonic() < deadline:
        time.sleep(0.1)

    assert len(listening) == 10
    assert {ip for ip, _ in listening} == {"127.0.0.1"}


def test_data_survives_a_restart_on_other_ports(tmp_path: Path) -> None:
    server = server_in(tmp_path)
    with server:
        store = ObjectStore(server.config)
        store.ensure_bucket("bids")
        stored = store.put_locked(
            "bids",
            "bid",
            io.BytesIO(b"kept across restarts"),
            length=20,
            retain_until=datetime.now(UTC) + timedelta(days=1),
        )

    with server:
        again = ObjectStore(server.config)
        assert b"".join(again.iter_version("bids", "bid", stored.version_id)) == (
            b"kept across restarts"
        )
    assert (tmp_path / "weed.log").stat().st_size > 0


def test_a_taken_s3_port_fails_with_the_log_tail(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = server_in(tmp_path, s3_port=taken.getsockname()[1])

        with pytest.raises(EmbeddedS3Error, match=r"(?s)did not start.*weed\.log.*not available"):
            server.start()

    with pytest.raises(EmbeddedS3Error, match="not running"):
        _ = server.config


def test_stopping_a_server_that_is_not_running_does_nothing(tmp_path: Path) -> None:
    server = server_in(tmp_path)

    server.stop()

    with pytest.raises(EmbeddedS3Error, match="not running"):
        _ = server.config
