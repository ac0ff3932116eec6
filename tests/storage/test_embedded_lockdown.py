"""The embedded SeaweedFS can be used only through its authenticated S3 API.

``weed mini`` runs a master, a volume server, a filer and an admin server beside the S3
gateway; each listens on HTTP and gRPC, and none of them authenticates by itself. Without the
lockdown a locked object could be listed and read through the filer, its raw bytes read from
the volume server, replaced or deleted through the filer, its bucket's volumes deleted through
the master, and every version deleted over plaintext gRPC.

The test asks the running ``weed`` process which TCP ports and unix sockets it listens on, so
a listener added by a future SeaweedFS is probed too, and tries every one of those ways
without credentials. Afterwards the locked version must still be there, alone, with its bytes.
"""

from __future__ import annotations

import http.client
import io
import re
import secrets
import socket
import ssl
import stat
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest
from minio import Minio
from minio.commonconfig import CopySource

from tender.storage import embedded
from tender.storage.embedded import EmbeddedS3, EmbeddedS3Error
from tender.storage.objectstore import ObjectStore, ObjectStoreError, S3Config, StoredObject

Address = tuple[str, int] | str
"""Where a listener is: (IP, port) for TCP, a path for a unix socket."""

TIMEOUT = 3.0
TCP_LISTENERS_OF_4_48 = 10  # HTTP and gRPC of master, volume server, filer, S3 and admin


@dataclass(frozen=True)
class LockedObject:
    stored: StoredObject
    data: bytes
    volume_id: int
    file_id: str  # the volume server's name for its bytes: "<volume>,<needle id><cookie>"

    @property
    def filer_directory(self) -> str:
        return f"/buckets/{self.stored.bucket}/{self.stored.key}.versions"

    @property
    def filer_path(self) -> str:
        return f"{self.filer_directory}/v_{self.stored.version_id}"


@dataclass(frozen=True)
class Running:
    server: EmbeddedS3
    data_dir: Path
    weed: psutil.Process
    locked: LockedObject


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    data_dir = tmp_path_factory.mktemp("lockdown") / "s3"
    server = EmbeddedS3(
        data_dir, access_key="lockdown-test", secret_key="lockdown-test-secret", stop_timeout=2.0
    )
    with server:
        store = ObjectStore(server.config)
        bucket = f"lockdown-{uuid.uuid4().hex[:12]}"
        store.ensure_bucket(bucket)
        data = b"SEALED-BID-" + secrets.token_bytes(64)  # random: found only where it is
        stored = store.put_locked(
            bucket,
            f"bid-{uuid.uuid4().hex}",
            io.BytesIO(data),
            length=len(data),
            retain_until=datetime.now(UTC) + timedelta(days=1),
        )
        volume_id, file_id = file_id_on_disk(data_dir, bucket, data)
        weed = weed_process_serving(server.config)
        yield Running(server, data_dir, weed, LockedObject(stored, data, volume_id, file_id))


def weed_process_serving(config: S3Config) -> psutil.Process:
    s3_port = int(config.endpoint.rsplit(":", 1)[1])
    for process in psutil.Process().children(recursive=True):
        if process.name() == "weed" and any(
            c.status == psutil.CONN_LISTEN and c.laddr.port == s3_port
            for c in process.net_connections(kind="tcp")
        ):
            return process
    raise AssertionError(f"no weed child process listens on port {s3_port}")


def file_id_on_disk(data_dir: Path, bucket: str, data: bytes) -> tuple[int, str]:
    """The volume id and file id of the needle holding ``data``, read from the bucket's volume
    files (this test runs as weed's user; an intruder would have to guess them, which the
    probes spare it). A version 3 needle is cookie (4), id (8), size (4), data size (4), data."""
    for volume in data_dir.glob(f"{bucket}_*.dat"):
        content = volume.read_bytes()
        at = content.find(data)
        if at >= 20:
            cookie = content[at - 20 : at - 16].hex()
            needle_id = int.from_bytes(content[at - 16 : at - 8], "big")
            volume_id = int(volume.stem.rsplit("_", 1)[1])
            return volume_id, f"{volume_id},{needle_id:x}{cookie}"
    raise AssertionError(f"the object's bytes are in no volume file of {bucket} in {data_dir}")


def listeners(weed: psutil.Process) -> list[Address]:
    """Every TCP port and unix socket ``weed`` listens on, once SeaweedFS has opened them all.

    The admin server opens its ports shortly after the S3 gateway answers: wait for at least
    the ten TCP listeners SeaweedFS 4.48 opens, then until the set stops changing for a moment
    (a newer one may open more; they are all probed).
    """
    seen: set[Address] = set()
    stable_since = time.monotonic()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = set(_tcp_listeners(weed)) | set(_unix_listeners(weed))
        if now != seen:
            seen, stable_since = now, time.monotonic()
        tcp_count = sum(isinstance(address, tuple) for address in seen)
        if tcp_count >= TCP_LISTENERS_OF_4_48 and time.monotonic() - stable_since >= 1:
            break
        time.sleep(0.1)
    return sorted(seen, key=str)


def _tcp_listeners(weed: psutil.Process) -> Iterator[tuple[str, int]]:
    for connection in weed.net_connections(kind="tcp"):
        if connection.status == psutil.CONN_LISTEN:
            wildcards = {"0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104 - reached by loopback
            ip = wildcards.get(connection.laddr.ip, connection.laddr.ip)
            yield ip, connection.laddr.port


def _unix_listeners(weed: psutil.Process) -> Iterator[str]:
    # Accepted connections share the listener's path, so duplicates collapse in the set.
    for connection in weed.net_connections(kind="unix"):
        path: object = connection.laddr  # a path for unix sockets, whatever the stubs say
        if isinstance(path, str) and path:
            yield path


def connect(address: Address) -> socket.socket:
    if isinstance(address, str):
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix.settimeout(TIMEOUT)
        try:
            unix.connect(address)
        except OSError:
            unix.close()
            raise
        return unix
    return socket.create_connection(address, timeout=TIMEOUT)


class _Connection(http.client.HTTPConnection):
    def __init__(self, address: Address) -> None:
        super().__init__("127.0.0.1", timeout=TIMEOUT)
        self._address = address

    def connect(self) -> None:
        self.sock = connect(self._address)


def http_request(
    address: Address, method: str, path: str, body: bytes | None = None, content_type: str = ""
) -> tuple[int, bytes] | None:
    """One HTTP/1.1 request without credentials: (status, body), or None if not HTTP."""
    connection = _Connection(address)
    try:
        headers = {"Content-Type": content_type} if content_type else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read(1 << 20)
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


# --- gRPC by hand (grpcio is not installed): HTTP/2 frames, HPACK literals, protobuf -------

_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_DATA, _HEADERS, _RST_STREAM, _SETTINGS, _GOAWAY = 0x0, 0x1, 0x3, 0x4, 0x7
_END_STREAM, _END_HEADERS = 0x1, 0x4


def _frame(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
    return (
        len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload
    )


def _hpack_integer(value: int, prefix_bits: int) -> bytes:
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([value])
    encoded, value = bytearray([limit]), value - limit
    while value >= 0x80:
        encoded.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes([*encoded, value])


def _hpack_literal(name: str, value: str) -> bytes:
    # "Literal header field without indexing, new name", no Huffman coding.
    return (
        b"\x00"
        + _hpack_integer(len(name), 7)
        + name.encode()
        + _hpack_integer(len(value), 7)
        + value.encode()
    )


def _varint(value: int) -> bytes:
    encoded = bytearray()
    while value >= 0x80:
        encoded.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes([*encoded, value])


def pb_string(field: int, value: str) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(value.encode())) + value.encode()


def pb_uint(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def grpc_call(address: Address, method: str, message: bytes, *, tls: bool) -> bool:
    """Make one unary gRPC call without credentials: in the clear, or over TLS without a
    client certificate. True if the server spoke HTTP/2 back (it accepted the connection);
    the call is read to its end, so whatever it does has happened on return."""
    block = b"".join(
        _hpack_literal(name, value)
        for name, value in (
            (":method", "POST"),
            (":scheme", "https" if tls else "http"),
            (":path", method),
            (":authority", "127.0.0.1"),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
        )
    )
    request = (
        _PREFACE
        + _frame(_SETTINGS, 0, 0, b"")
        + _frame(_HEADERS, _END_HEADERS, 1, block)
        + _frame(_DATA, _END_STREAM, 1, b"\x00" + len(message).to_bytes(4, "big") + message)
    )
    try:
        with connect(address) as raw:
            if not tls:
                raw.sendall(request)
                return _reads_http2_until_the_call_ends(raw)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # any server certificate: we are the intruder
            context.set_alpn_protocols(["h2"])
            with context.wrap_socket(raw) as channel:
                channel.sendall(request)
                return _reads_http2_until_the_call_ends(channel)
    except OSError:  # ssl.SSLError is one
        return False


def _reads_http2_until_the_call_ends(channel: socket.socket) -> bool:
    received = b""
    spoke_http2 = False
    while True:
        try:
            chunk = channel.recv(65536)
        except OSError:
            return spoke_http2
        if not chunk:
            return spoke_http2
        received += chunk
        while len(received) >= 9:
            length = int.from_bytes(received[:3], "big")
            if len(received) < 9 + length:
                break
            kind, flags, stream = received[3], received[4], received[5:9]
            received = received[9 + length :]
            if not spoke_http2 and kind != _SETTINGS:
                return False  # not an HTTP/2 server: its first frame is always SETTINGS
            spoke_http2 = True
            ends_call = kind == _HEADERS and flags & _END_STREAM and stream != bytes(4)
            if ends_call or kind in (_RST_STREAM, _GOAWAY):
                return True


# --- the probes ---------------------------------------------------------------------------


def reads_or_lists(address: Address, locked: LockedObject) -> list[str]:
    """GETs that would list the object or return its bytes, through the filer's paths, the
    volume server's file id, the master's redirect and the S3 API."""
    stored = locked.stored
    paths = [
        "/",
        "/?pretty=y",
        "/buckets/",
        f"/buckets/{stored.bucket}/",
        f"{locked.filer_directory}/",
        locked.filer_path,
        f"/buckets/{stored.bucket}/{stored.key}",
        f"/{locked.file_id}",
        f"/{locked.volume_id}/{locked.file_id.split(',')[1]}",
        f"/dir/lookup?volumeId={locked.volume_id}",
        f"/{stored.bucket}",
        f"/{stored.bucket}?versions",
        f"/{stored.bucket}/{stored.key}?versionId={stored.version_id}",
    ]
    found = []
    for path in paths:
        answer = http_request(address, "GET", path)
        if answer is not None and 200 <= answer[0] < 300:
            status, body = answer
            if locked.data in body or stored.key.encode() in body:
                found.append(f"GET {path} on {address} answered {status} with the object")
    return found


def changes(address: Address, locked: LockedObject) -> list[str]:
    """Requests that would delete or replace the object, or delete its bucket's volumes."""
    stored = locked.stored
    boundary = "lockdown-probe"
    form = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\nreplaced\r\n--{boundary}--\r\n"
    ).encode()
    attempts: list[tuple[str, str, bytes | None, str]] = [
        ("POST", f"/col/delete?collection={stored.bucket}", None, ""),
        ("GET", f"/col/delete?collection={stored.bucket}", None, ""),
        ("PUT", locked.filer_path, b"replaced", "application/octet-stream"),
        ("POST", locked.filer_path, form, f"multipart/form-data; boundary={boundary}"),
        ("PUT", f"/{locked.file_id}", b"replaced", "application/octet-stream"),
        ("POST", f"/{locked.file_id}", form, f"multipart/form-data; boundary={boundary}"),
        ("PUT", f"/{stored.bucket}/{stored.key}", b"replaced", "application/octet-stream"),
        ("DELETE", locked.filer_path, None, ""),
        ("DELETE", f"{locked.filer_directory}?recursive=true", None, ""),
        ("DELETE", f"/buckets/{stored.bucket}?recursive=true", None, ""),
        ("DELETE", f"/{locked.file_id}", None, ""),
        ("DELETE", f"/{stored.bucket}/{stored.key}?versionId={stored.version_id}", None, ""),
    ]
    accepted = []
    for method, path, body, content_type in attempts:
        answer = http_request(address, method, path, body, content_type)
        if answer is not None and 200 <= answer[0] < 300:
            accepted.append(f"{method} {path} on {address} answered {answer[0]}")
    return accepted


def grpc_deletions(address: Address, locked: LockedObject) -> list[str]:
    """gRPC calls that delete the version (filer), the bucket's volumes (master), the needle
    or the whole volume (volume server): in the clear and over TLS without a certificate."""
    stored = locked.stored
    calls = [
        (
            "/filer_pb.SeaweedFiler/DeleteEntry",
            pb_string(1, locked.filer_directory)
            + pb_string(2, f"v_{stored.version_id}")
            + pb_uint(4, 1),  # is_delete_data
        ),
        ("/master_pb.Seaweed/CollectionDelete", pb_string(1, stored.bucket)),
        (
            "/volume_server_pb.VolumeServer/BatchDelete",
            pb_string(1, locked.file_id) + pb_uint(2, 1),  # skip_cookie_check
        ),
        ("/volume_server_pb.VolumeServer/VolumeDelete", pb_uint(1, locked.volume_id)),
    ]
    answered = []
    for tls in (False, True):
        for method, message in calls:
            if grpc_call(address, method, message, tls=tls):
                how = "over TLS without a client certificate" if tls else "in the clear"
                answered.append(f"{address} answered gRPC {method} {how}")
    return answered


def still_locked_and_intact(config: S3Config, locked: LockedObject) -> list[str]:
    stored = locked.stored
    store = ObjectStore(config)
    try:
        data = b"".join(store.iter_version(stored.bucket, stored.key, stored.version_id))
        mode, _ = store.get_retention(stored.bucket, stored.key, stored.version_id)
    except ObjectStoreError as error:
        return [f"the locked version cannot be read any more: {error}"]
    client = Minio(config.endpoint, config.access_key, config.secret_key, secure=config.secure)
    versions = [
        o.version_id
        for o in client.list_objects(stored.bucket, prefix=stored.key, include_version=True)
        if o.object_name == stored.key
    ]
    problems = []
    if data != locked.data:
        problems.append("the locked version's bytes changed")
    if mode != "COMPLIANCE":
        problems.append(f"the locked version's retention is now {mode}")
    if versions != [stored.version_id]:
        problems.append(f"the key's versions are now {versions}, not [{stored.version_id}]")
    return problems


# --- the tests ----------------------------------------------------------------------------


def test_nothing_but_the_authenticated_s3_api_lists_reads_deletes_or_replaces(
    running: Running,
) -> None:
    found = listeners(running.weed)
    assert found, "weed listens nowhere: the probe would prove nothing"
    s3_port = int(running.server.config.endpoint.rsplit(":", 1)[1])
    assert ("127.0.0.1", s3_port) in found

    breaches = [problem for address in found for problem in reads_or_lists(address, running.locked)]
    breaches += [problem for address in found for problem in changes(address, running.locked)]
    breaches += [
        problem for address in found for problem in grpc_deletions(address, running.locked)
    ]
    breaches += still_locked_and_intact(running.server.config, running.locked)

    assert breaches == [], "\n".join(["listeners: " + ", ".join(map(str, found)), *breaches])


def test_the_s3_api_refuses_requests_without_credentials(running: Running) -> None:
    s3 = ("127.0.0.1", int(running.server.config.endpoint.rsplit(":", 1)[1]))
    stored = running.locked.stored
    version = f"/{stored.bucket}/{stored.key}?versionId={stored.version_id}"

    answers = {
        "list": http_request(s3, "GET", f"/{stored.bucket}?versions"),
        "read": http_request(s3, "GET", version),
        "replace": http_request(s3, "PUT", f"/{stored.bucket}/{stored.key}", b"replaced"),
        "delete": http_request(s3, "DELETE", version),
    }

    assert {what: answer and answer[0] for what, answer in answers.items()} == {
        "list": 403,
        "read": 403,
        "replace": 403,
        "delete": 403,
    }
    assert all(answer is not None and b"AccessDenied" in answer[1] for answer in answers.values())


def test_the_data_dir_is_private_and_the_keys_are_owner_only(running: Running) -> None:
    tls = running.data_dir / "tls"
    security = (tls / "security.toml").read_text()
    named_files = {Path(p) for p in re.findall(r'^(?:ca|cert|key) = "(.+)"$', security, re.M)}

    assert stat.S_IMODE(running.data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(tls.stat().st_mode) == 0o700
    assert named_files == {tls / "ca.crt", tls / "weed.crt", tls / "weed.key"}
    for private in [
        tls / "security.toml",
        *named_files,
        running.data_dir / "mini.options",
        running.data_dir / "weed.log",
    ]:
        assert stat.S_IMODE(private.stat().st_mode) == 0o600, private


def test_ranged_reads_and_copies_still_work_through_the_s3_api(running: Running) -> None:
    config, stored = running.server.config, running.locked.stored
    client = Minio(config.endpoint, config.access_key, config.secret_key, secure=config.secure)
    copy_key = f"copy-of-{stored.key}"

    ranged = client.get_object(stored.bucket, stored.key, offset=11, length=16)
    try:
        middle = ranged.read()
    finally:
        ranged.close()
        ranged.release_conn()
    client.copy_object(
        stored.bucket, copy_key, CopySource(stored.bucket, stored.key, version_id=stored.version_id)
    )
    copied = client.get_object(stored.bucket, copy_key)
    try:
        copy = copied.read()
    finally:
        copied.close()
        copied.release_conn()

    assert middle == running.locked.data[11:27]
    assert copy == running.locked.data


def test_a_server_that_answers_grpc_in_the_clear_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What SeaweedFS does, with only a warning, if it finds no usable certificate.
    def no_tls(tls_dir: Path) -> None:
        (tls_dir / "security.toml").write_text("")

    monkeypatch.setattr(embedded, "_write_security_config", no_tls)
    server = EmbeddedS3(
        tmp_path, access_key="lockdown-test", secret_key="lockdown-test-secret", stop_timeout=2.0
    )

    with pytest.raises(
        EmbeddedS3Error, match=r"(?s)did not start: its gRPC port \d+ .* without TLS"
    ):
        server.start()

    assert not [
        process
        for process in psutil.Process().children(recursive=True)
        if process.name() == "weed" and f"-dir={tmp_path}" in process.cmdline()
    ]
