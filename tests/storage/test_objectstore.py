"""ObjectStore against a real SeaweedFS server: sealed at rest, locked, versioned, streamed."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from minio import Minio
from minio.error import S3Error

from tender.storage.objectstore import (
    ObjectStore,
    ObjectStoreError,
    S3Config,
    StoredObject,
    stream_from_chunks,
)
from tender.storage.sealing import Sealer, TenderKey, seal, unseal

MARKER = b"CONFIDENTIAL-BID-PRICE-EUR-1234567"


def raw_client(config: S3Config) -> Minio:
    """The SDK without our wrapper: what anyone holding the credentials could do."""
    return Minio(config.endpoint, config.access_key, config.secret_key, secure=config.secure)


def in_a_day() -> datetime:
    return datetime.now(UTC) + timedelta(days=1)


def put_bytes(store: ObjectStore, bucket: str, key: str, data: bytes) -> StoredObject:
    return store.put_locked(
        bucket, key, io.BytesIO(data), length=len(data), retain_until=in_a_day()
    )


def read(store: ObjectStore, stored: StoredObject) -> bytes:
    return b"".join(store.iter_version(stored.bucket, stored.key, stored.version_id))


def test_a_sealed_bid_is_not_plaintext_at_rest(object_store: tuple[ObjectStore, str]) -> None:
    store, bucket = object_store
    tender_key = TenderKey.generate()
    plaintext = MARKER * 10_000
    size = Sealer.sealed_size(len(plaintext), recipient_public_key=tender_key.public_key_bytes)

    sealed_stream = stream_from_chunks(seal([plaintext], tender_key.public_key_bytes))
    stored = store.put_locked(
        bucket, "bid.pdf", sealed_stream, length=size, retain_until=in_a_day()
    )
    at_rest = raw_client(store.config).get_object(bucket, "bid.pdf", version_id=stored.version_id)
    try:
        at_rest_bytes = at_rest.read()
    finally:
        at_rest.close()
        at_rest.release_conn()

    assert stored.size == len(at_rest_bytes) == size
    assert MARKER not in at_rest_bytes
    assert MARKER[:8] not in at_rest_bytes
    assert b"".join(unseal([at_rest_bytes], tender_key)) == plaintext


def test_the_server_refuses_to_delete_a_locked_version(
    object_store: tuple[ObjectStore, str],
) -> None:
    store, bucket = object_store
    stored = put_bytes(store, bucket, "bid", b"sealed bid bytes")
    client = raw_client(store.config)

    with pytest.raises(S3Error) as refused:
        client.remove_object(bucket, "bid", version_id=stored.version_id)

    assert refused.value.code == "AccessDenied"
    assert read(store, stored) == b"sealed bid bytes"


def test_a_delete_without_version_only_hides_the_key(object_store: tuple[ObjectStore, str]) -> None:
    store, bucket = object_store
    stored = put_bytes(store, bucket, "bid", b"sealed bid bytes")

    raw_client(store.config).remove_object(bucket, "bid")  # adds a delete marker

    assert read(store, stored) == b"sealed bid bytes"


def test_an_overwrite_creates_a_new_version_beside_the_old(
    object_store: tuple[ObjectStore, str],
) -> None:
    store, bucket = object_store

    first = put_bytes(store, bucket, "bid", b"first submission")
    second = put_bytes(store, bucket, "bid", b"second submission")

    assert first.version_id != second.version_id
    assert read(store, first) == b"first submission"
    assert read(store, second) == b"second submission"


def test_retention_is_compliance_until_the_requested_second(
    object_store: tuple[ObjectStore, str],
) -> None:
    store, bucket = object_store
    until = datetime(2031, 3, 4, 5, 6, 7, 250_000, tzinfo=UTC)

    stored = store.put_locked(bucket, "bid", io.BytesIO(b"x"), length=1, retain_until=until)

    expected = datetime(2031, 3, 4, 5, 6, 8, tzinfo=UTC)  # rounded up, never down
    assert stored.retain_until == expected
    assert store.get_retention(bucket, "bid", stored.version_id) == ("COMPLIANCE", expected)


SIZE_12_MIB = 12 * 1024 * 1024


@pytest.mark.parametrize("length_known", [True, False], ids=["known-length", "unknown-length"])
def test_a_multipart_bid_round_trips_sealed(
    object_store: tuple[ObjectStore, str], length_known: bool
) -> None:
    store, bucket = object_store
    tender_key = TenderKey.generate()
    digest_in = hashlib.sha256()

    def plaintext() -> Iterator[bytes]:
        for _ in range(SIZE_12_MIB // 65_536):
            piece = os.urandom(65_536)
            digest_in.update(piece)
            yield piece

    sealed_size = Sealer.sealed_size(SIZE_12_MIB, recipient_public_key=tender_key.public_key_bytes)
    stored = store.put_locked(
        bucket,
        "big-bid",
        stream_from_chunks(seal(plaintext(), tender_key.public_key_bytes)),
        length=sealed_size if length_known else -1,
        retain_until=in_a_day(),
        part_size=5 * 1024 * 1024,
    )
    digest_out = hashlib.sha256()
    for piece in unseal(store.iter_version(bucket, "big-bid", stored.version_id), tender_key):
        digest_out.update(piece)

    assert digest_out.hexdigest() == digest_in.hexdigest()
    assert stored.size == sealed_size
    assert stored.etag.endswith("-3")  # S3's multipart ETag: three parts of at most 5 MiB


def test_ensure_bucket_accepts_its_own_bucket_again(object_store: tuple[ObjectStore, str]) -> None:
    store, bucket = object_store

    store.ensure_bucket(bucket)

    assert raw_client(store.config).get_object_lock_config(bucket) is not None


def test_ensure_bucket_refuses_a_bucket_without_object_lock(s3_config: S3Config) -> None:
    bucket = f"plain-{uuid.uuid4().hex}"
    raw_client(s3_config).make_bucket(bucket)

    with pytest.raises(ObjectStoreError, match="exists without Object Lock"):
        ObjectStore(s3_config).ensure_bucket(bucket)


def test_more_data_than_announced_is_an_error(object_store: tuple[ObjectStore, str]) -> None:
    store, bucket = object_store

    with pytest.raises(ObjectStoreError, match="holds more than the 3 bytes announced"):
        store.put_locked(bucket, "k", io.BytesIO(b"abcdef"), length=3, retain_until=in_a_day())


def test_less_data_than_announced_is_an_error(object_store: tuple[ObjectStore, str]) -> None:
    store, bucket = object_store

    with pytest.raises(ObjectStoreError, match="check the source stream and the length"):
        store.put_locked(bucket, "k", io.BytesIO(b"ab"), length=3, retain_until=in_a_day())


def test_a_missing_bucket_is_explained(s3_config: S3Config) -> None:
    with pytest.raises(ObjectStoreError, match=r"NoSuchBucket.*ensure_bucket"):
        put_bytes(ObjectStore(s3_config), "no-such-bucket", "k", b"x")


def test_a_missing_version_is_explained(object_store: tuple[ObjectStore, str]) -> None:
    store, bucket = object_store
    stored = put_bytes(store, bucket, "bid", b"x")

    with pytest.raises(ObjectStoreError, match="NoSuchVersion"):
        b"".join(store.iter_version(bucket, "bid", stored.version_id[::-1]))


def test_wrong_credentials_are_explained(s3_config: S3Config) -> None:
    wrong = S3Config(s3_config.endpoint, s3_config.access_key, "not-the-secret")

    with pytest.raises(ObjectStoreError, match="check the secret key"):
        ObjectStore(wrong).ensure_bucket("any-bucket")


def test_a_naive_retention_date_is_refused(object_store: tuple[ObjectStore, str]) -> None:
    store, bucket = object_store

    with pytest.raises(ValueError, match="timezone-aware"):
        store.put_locked(
            bucket,
            "k",
            io.BytesIO(b"x"),
            length=1,
            retain_until=datetime(2031, 1, 1),  # noqa: DTZ001
        )


def test_reading_requires_a_version_id(object_store: tuple[ObjectStore, str]) -> None:
    store, bucket = object_store

    with pytest.raises(ValueError, match="version id is required"):
        next(store.iter_version(bucket, "k", ""))


def test_reachability(s3_config: S3Config) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        nowhere = S3Config(f"127.0.0.1:{probe.getsockname()[1]}", "a", "b")

    assert ObjectStore(s3_config).is_reachable()
    assert not ObjectStore(nowhere).is_reachable(timeout=0.5)


def test_stream_from_chunks_reads_exact_sizes_across_pieces() -> None:
    stream = stream_from_chunks([b"ab", b"", b"cdefg", b"h"])

    assert [stream.read(3), stream.read(3), stream.read(3), stream.read(3)] == [
        b"abc",
        b"def",
        b"gh",
        b"",
    ]
