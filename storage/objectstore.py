"""Write-once object storage on any S3 server with Object Lock, over the ``minio`` SDK.

Every object is written as a new version under COMPLIANCE-mode retention: until its
retain-until date nobody, not even the account owner, can delete or overwrite that version.
Writing the same key again creates another version beside it, so objects are read back by
their version id, never by key alone. This module deliberately has no method that deletes.

Works with MinIO, AWS S3 and SeaweedFS (see :mod:`tender.storage.embedded`). Uploads and
downloads stream: an upload holds one multipart part in memory, a download one chunk.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, BinaryIO

import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE
from minio.error import MinioException, S3Error
from minio.retention import Retention

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = [
    "DEFAULT_PART_SIZE",
    "ObjectStore",
    "ObjectStoreError",
    "S3Config",
    "StoredObject",
    "stream_from_chunks",
]

DEFAULT_PART_SIZE = 8 * 1024 * 1024
"""Multipart part size: the memory one upload holds. S3 allows 5 MiB to 5 GiB and 10,000
parts, so this default stores objects up to 80 GB."""

# What to do about the S3 error codes a caller of this module can meet.
_ADVICE = {
    "AccessDenied": "the credentials lack the permission, or Object Lock forbids the operation",
    "InvalidAccessKeyId": "check the access key in the S3 settings",
    "SignatureDoesNotMatch": "check the secret key in the S3 settings",
    "NoSuchBucket": "create the bucket with ensure_bucket() first",
    "NoSuchKey": "check the object key",
    "NoSuchVersion": "check the version id",
    "BucketAlreadyExists": "the name is taken by another account; choose another bucket name",
    "InvalidRequest": "a locked write, for one, needs a bucket made by ensure_bucket()",
}


@dataclass(frozen=True)
class S3Config:
    """Where and how to reach an S3 server."""

    endpoint: str
    """``host:port``, without scheme."""
    access_key: str
    secret_key: str
    secure: bool = False
    """Use HTTPS."""
    region: str | None = None
    """The region, or None to ask the server."""


@dataclass(frozen=True)
class StoredObject:
    """One stored, locked version of an object."""

    bucket: str
    key: str
    version_id: str
    """The version to read back; the key alone may later name a newer version."""
    size: int
    """Bytes stored."""
    etag: str
    """The server's entity tag (an MD5 only for single-part uploads)."""
    retain_until: datetime | None
    """End of the COMPLIANCE retention, as the server reports it (UTC)."""


class ObjectStoreError(Exception):
    """An object store operation failed. The message says what failed, why, and what to do."""


class ObjectStore:
    """Locked, versioned, streamed object storage on one S3 server.

    Safe to share between threads. Every failure to talk to the server, or a refusal from it,
    is raised as :class:`ObjectStoreError`; invalid arguments raise :class:`ValueError`.
    """

    def __init__(self, config: S3Config) -> None:
        """Prepare a client; no request is made yet.

        :param config: the server and credentials.
        """
        self._config = config
        self._client = Minio(
            config.endpoint,
            access_key=config.access_key,
            secret_key=config.secret_key,
            secure=config.secure,
            region=config.region,
        )

    @property
    def config(self) -> S3Config:
        """The settings this store was made with."""
        return self._config

    def ensure_bucket(self, bucket: str) -> None:
        """Create ``bucket`` with Object Lock (and so versioning) enabled, if it does not exist.

        :param bucket: an S3 bucket name (3 to 63 lowercase letters, digits, dots, hyphens).
        :raises ObjectStoreError: if the bucket exists without Object Lock — objects in it could
            be deleted, and most servers enable Object Lock only when a bucket is created — or
            if the server cannot be reached or refuses.
        """
        with self._errors(f"preparing bucket {bucket!r}"):
            if not self._client.bucket_exists(bucket):
                try:
                    self._client.make_bucket(bucket, object_lock=True)
                except S3Error as exc:
                    if exc.code != "BucketAlreadyOwnedByYou":  # else: created concurrently
                        raise
            try:
                self._client.get_object_lock_config(bucket)
            except S3Error as exc:
                if exc.code != "ObjectLockConfigurationNotFoundError":
                    raise
                raise ObjectStoreError(
                    f"bucket {bucket!r} on {self._config.endpoint} exists without Object Lock, "
                    "so objects in it could be deleted or overwritten. Most servers enable "
                    "Object Lock only when a bucket is created: configure a new bucket name."
                ) from None

    def put_locked(
        self,
        bucket: str,
        key: str,
        data: BinaryIO,
        *,
        length: int,
        retain_until: datetime,
        part_size: int = DEFAULT_PART_SIZE,
        content_type: str = "application/octet-stream",
    ) -> StoredObject:
        """Stream ``data`` into a new version of ``key``, locked in COMPLIANCE mode.

        After the upload the retention is read back from the server, so an object store that
        accepted the upload without locking it is detected rather than trusted.

        :param bucket: a bucket made by :meth:`ensure_bucket`.
        :param key: the object key.
        :param data: read with ``data.read(n)`` until ``length`` bytes, or until it returns
            ``b""`` if ``length`` is -1.
        :param length: the exact number of bytes, or -1 if unknown.
        :param retain_until: timezone-aware end of the retention. S3 keeps whole seconds, so
            a fraction of a second is rounded up: the lock never ends before this moment.
        :param part_size: bytes per multipart part (5 MiB to 5 GiB), held in memory one at a
            time. Data up to one part long is sent in a single request.
        :param content_type: the object's media type.
        :returns: the stored version, with the size and retention the server reports.
        :raises ValueError: if ``retain_until`` is naive or ``part_size`` is out of range.
        :raises ObjectStoreError: if the upload fails, ``data`` holds more than ``length``
            bytes, or the server did not version or lock the object as asked. In the last two
            cases the version already written stays (it cannot be deleted); do not use it.
        """
        if retain_until.tzinfo is None:
            raise ValueError("retain_until must be timezone-aware, in UTC")
        until = retain_until.astimezone(UTC)
        if until.microsecond:
            until = until.replace(microsecond=0) + timedelta(seconds=1)
        counter = _ByteCounter()
        action = f"storing {bucket}/{key}"
        with self._errors(action):
            result = self._client.put_object(
                bucket,
                key,
                data,
                length,
                content_type=content_type,
                progress=counter,
                part_size=part_size,
                # One part in flight keeps memory at one part; parallel parts would multiply it.
                num_parallel_uploads=1,
                retention=Retention(COMPLIANCE, until),
            )
        version_id = result.version_id
        if not version_id:
            raise ObjectStoreError(
                f"{action}: the server returned no version id, so the bucket is not versioned "
                "and a later write could replace this object. Use a bucket made by "
                "ensure_bucket()."
            )
        if length >= 0 and data.read(1):
            raise ObjectStoreError(
                f"{action}: the stream holds more than the {length} bytes announced; version "
                f"{version_id} holds only the first {length}. Store it again with the right "
                "length, and do not use that version."
            )
        mode, locked_until = self.get_retention(bucket, key, version_id)
        if mode != COMPLIANCE or locked_until < until:
            raise ObjectStoreError(
                f"{action}: version {version_id} was stored but the server reports retention "
                f"{mode} until {locked_until.isoformat()}, not {COMPLIANCE} until "
                f"{until.isoformat()}. This server does not enforce Object Lock as required; "
                "do not use it for sealed bids."
            )
        return StoredObject(
            bucket=bucket,
            key=key,
            version_id=version_id,
            size=counter.count,
            etag=result.etag or "",
            retain_until=locked_until,
        )

    def iter_version(
        self, bucket: str, key: str, version_id: str, *, chunk_size: int = 1024 * 1024
    ) -> Iterator[bytes]:
        """Stream the bytes of one version of an object.

        The request is made when iteration starts; the connection goes back to the pool when
        the iterator is exhausted or closed. A response cut short raises, never ends quietly.

        :param version_id: the version to read, as returned by :meth:`put_locked`.
        :param chunk_size: the most bytes yielded at a time.
        :raises ValueError: if ``version_id`` is empty (that would read the newest version).
        :raises ObjectStoreError: if the version cannot be read.
        """
        _require_version(version_id)
        with self._errors(f"reading {bucket}/{key} version {version_id}"):
            response = self._client.get_object(bucket, key, version_id=version_id)
            try:
                yield from response.stream(chunk_size, decode_content=False)
            finally:
                response.close()
                response.release_conn()

    def list_versions(self, bucket: str, prefix: str) -> list[tuple[str, str]]:
        """Every version of every object whose key starts with ``prefix``, as ``(key,
        version_id)`` pairs, oldest key first.

        Versions, not only the newest: a locked version that a later write hid is still there,
        and a reader that trusts a pointer to one version can be shown another.

        :raises ObjectStoreError: if the listing fails.
        """
        with self._errors(f"listing {bucket}/{prefix}"):
            return sorted(
                (item.object_name, item.version_id)
                for item in self._client.list_objects(
                    bucket, prefix=prefix, recursive=True, include_version=True
                )
                if item.object_name is not None
                and item.version_id is not None
                and not item.is_delete_marker
            )

    def get_retention(self, bucket: str, key: str, version_id: str) -> tuple[str, datetime]:
        """Read the retention of one version, as the server enforces it.

        :returns: the mode (``"COMPLIANCE"`` or ``"GOVERNANCE"``) and the retain-until date
            (UTC).
        :raises ValueError: if ``version_id`` is empty.
        :raises ObjectStoreError: if the version has no retention or cannot be read.
        """
        _require_version(version_id)
        action = f"reading the retention of {bucket}/{key} version {version_id}"
        with self._errors(action):
            retention = self._client.get_object_retention(bucket, key, version_id=version_id)
        if retention is None:
            raise ObjectStoreError(
                f"{action}: the version has no retention, so it is not protected from deletion"
            )
        return retention.mode, retention.retain_until_date

    def is_reachable(self, timeout: float = 2.0) -> bool:
        """Whether the server answers HTTP at all, within ``timeout`` seconds and without retries.

        Credentials and buckets are not checked (:meth:`ensure_bucket` does that).
        """
        scheme = "https" if self._config.secure else "http"
        try:
            urllib3.request(
                "HEAD", f"{scheme}://{self._config.endpoint}/", timeout=timeout, retries=False
            )
        except urllib3.exceptions.HTTPError:
            return False
        return True

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn what the SDK and urllib3 raise into :class:`ObjectStoreError`."""
        endpoint = self._config.endpoint
        try:
            yield
        except S3Error as exc:
            advice = _ADVICE.get(exc.code or "", "see the S3 server's log for details")
            raise ObjectStoreError(
                f"{action} failed: the S3 server at {endpoint} answered {exc.code} "
                f"({exc.message}); {advice}."
            ) from exc
        except MinioException as exc:
            raise ObjectStoreError(
                f"{action} failed: the S3 server at {endpoint} gave an unusable answer ({exc}); "
                "see its log, and check that the endpoint is an S3 server."
            ) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise ObjectStoreError(
                f"{action} failed: no usable connection to {endpoint} ({exc}); check that the "
                "S3 server is running and that the endpoint and the secure flag are right."
            ) from exc
        except OSError as exc:  # the data stream failed, or was shorter than announced
            raise ObjectStoreError(
                f"{action} failed while reading the data to send ({exc}); check the source "
                "stream and the length given for it."
            ) from exc


class _ByteCounter:
    """Counts the bytes the SDK reads from the upload stream (its progress hook)."""

    def __init__(self) -> None:
        self.count = 0

    def set_meta(self, object_name: str, total_length: int) -> None:
        """Part of the SDK's progress protocol; nothing to record."""

    def update(self, length: int) -> None:
        self.count += length


def _require_version(version_id: str) -> None:
    if not version_id:
        raise ValueError("a version id is required: without one S3 reads the newest version")


def stream_from_chunks(chunks: Iterable[bytes]) -> BinaryIO:
    """Present an iterable of byte strings as a readable binary stream.

    Feeds a generator such as :func:`tender.storage.sealing.seal` to
    :meth:`ObjectStore.put_locked` without collecting it: ``read(n)`` pulls pieces only until
    it has ``n`` bytes.
    """
    return io.BufferedReader(_ChunksRaw(chunks))


class _ChunksRaw(io.RawIOBase):
    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        while not self._pending:
            piece = next(self._chunks, None)
            if piece is None:
                return 0
            self._pending = memoryview(piece)
        with memoryview(buffer) as view, view.cast("B") as target:
            size = min(target.nbytes, self._pending.nbytes)
            target[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size
