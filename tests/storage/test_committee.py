"""The committee's cryptography: Shamir shares of any length, commitments, shares encrypted to
members, and the member's passphrase-protected key file."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import stat
from pathlib import Path

import pytest

from tender.storage.committee import (
    HeldShare,
    KeyFileCost,
    KeyFileError,
    MemberKey,
    ShareError,
    combine_shares,
    decrypt_share,
    encrypt_share,
    share_context,
    split_secret,
)

CHEAP = KeyFileCost(time_cost=1, memory_cost_kib=64, parallelism=1)  # where Argon2 is not tested
CONTEXT = share_context(tender_id="t-1", key_name="tender", member_id="m-1")


@pytest.mark.parametrize("length", [0, 1, 13, 14, 15, 16, 32, 96, 1000])
@pytest.mark.parametrize(("quorum", "shares"), [(2, 3), (3, 5), (5, 5)])
def test_every_quorum_of_shares_gives_the_secret_back(
    length: int, quorum: int, shares: int
) -> None:
    secret = os.urandom(length)
    dealt = split_secret(secret, quorum=quorum, shares=shares)

    for chosen in itertools.combinations(dealt, quorum):
        assert combine_shares(chosen) == secret


def test_shares_are_numbered_one_to_n_with_a_salt_each_and_a_value_per_block() -> None:
    dealt = split_secret(os.urandom(96), quorum=2, shares=4)

    assert [share.index for share in dealt] == [1, 2, 3, 4]
    # uint16 length + 96 bytes = 98, padded to 7 blocks of 16.
    assert {len(share.value) for share in dealt} == {7 * 16}
    assert len({share.salt for share in dealt}) == 4


def test_fewer_shares_than_the_quorum_never_give_the_secret() -> None:
    for _ in range(200):
        secret = os.urandom(32)
        dealt = split_secret(secret, quorum=3, shares=5)
        # Usually the result does not even decode (ShareError); it is never the secret.
        with contextlib.suppress(ShareError):
            assert combine_shares(dealt[1:3]) != secret


def test_a_polynomial_without_random_terms_gives_every_member_the_encoded_secret() -> None:
    """Known answer from the definition: if every coefficient but the secret is zero, each share
    is the encoded secret itself, uint16(length) || secret || zero padding, block by block."""
    secret = b"a tender key, 30 bytes long..."
    encoded = len(secret).to_bytes(2, "big") + secret
    shares = [HeldShare(index, bytes(32), encoded) for index in (1, 2, 3)]

    assert len(encoded) == 32
    assert combine_shares(shares[:2]) == secret
    assert combine_shares(shares) == secret


def test_a_line_through_the_secret_is_combined_as_gf_2_128_arithmetic_says() -> None:
    """Known answer from the definition: for p(x) = s + x over GF(2^128), where adding is XOR
    and the point x = i is the 128-bit big-endian integer i, share i is s XOR i."""
    secret = b"fourteen bytes"
    block = len(secret).to_bytes(2, "big") + secret

    def share(index: int) -> HeldShare:
        value = bytes(a ^ b for a, b in zip(block, index.to_bytes(16, "big"), strict=True))
        return HeldShare(index, bytes(32), value)

    assert combine_shares([share(1), share(2)]) == secret
    assert combine_shares([share(7), share(3)]) == secret
    # The arithmetic is GF(2^128)'s: over the integers, (1, s+1) and (2, s+2) would not agree.
    assert combine_shares([share(1), share(2)]) == combine_shares([share(200), share(9)])


def test_shares_that_cannot_be_combined_are_refused() -> None:
    one, *_ = split_secret(b"k" * 32, quorum=2, shares=3)
    longer = split_secret(b"k" * 64, quorum=2, shares=3)[1]

    with pytest.raises(ShareError, match="same index"):
        combine_shares([one, one])
    with pytest.raises(ShareError, match="different lengths"):
        combine_shares([one, longer])
    with pytest.raises(ShareError, match="no shares"):
        combine_shares([])
    with pytest.raises(ShareError, match="quorum"):
        split_secret(b"k", quorum=4, shares=3)


def test_a_held_share_reads_back_as_written_and_refuses_what_is_not_one() -> None:
    share = split_secret(os.urandom(32), quorum=2, shares=3)[2]

    assert HeldShare.from_bytes(share.to_bytes()) == share
    assert share.to_bytes()[:2] == bytes([1, 3])  # format version, index
    with pytest.raises(ShareError, match="too short"):
        HeldShare.from_bytes(share.to_bytes()[:20])
    with pytest.raises(ShareError, match="version"):
        HeldShare.from_bytes(b"\x02" + share.to_bytes()[1:])
    assert share.value.hex() not in repr(share)


def test_a_commitment_binds_the_share_its_index_and_what_it_was_dealt_for() -> None:
    share = split_secret(os.urandom(32), quorum=2, shares=3)[0]
    committed = share.commitment(CONTEXT)
    flipped = bytearray(share.value)
    flipped[5] ^= 1

    assert share.commitment(CONTEXT) == committed
    for other in (
        HeldShare(share.index, share.salt, bytes(flipped)),
        HeldShare(2, share.salt, share.value),
        HeldShare(share.index, bytes(32), share.value),
    ):
        assert other.commitment(CONTEXT) != committed
    for context in (
        share_context(tender_id="t-2", key_name="tender", member_id="m-1"),
        share_context(tender_id="t-1", key_name="financial", member_id="m-1"),
        share_context(tender_id="t-1", key_name="tender", member_id="m-2"),
    ):
        assert share.commitment(context) != committed


def test_contexts_of_different_parts_never_collide() -> None:
    assert share_context(tender_id="a", key_name="bc", member_id="d") != share_context(
        tender_id="ab", key_name="c", member_id="d"
    )


def test_a_share_encrypted_to_a_member_opens_only_with_their_key_and_its_context() -> None:
    member, other = MemberKey.generate(), MemberKey.generate()
    share = split_secret(os.urandom(96), quorum=2, shares=3)[1]
    encrypted = encrypt_share(share, member.public_key_bytes, context=CONTEXT)

    assert decrypt_share(encrypted, member, context=CONTEXT) == share
    with pytest.raises(ShareError, match="another member's key"):
        decrypt_share(encrypted, other, context=CONTEXT)
    with pytest.raises(ShareError, match="another tender or key"):
        decrypt_share(
            encrypted,
            member,
            context=share_context(tender_id="t-1", key_name="financial", member_id="m-1"),
        )
    altered = bytearray(encrypted)
    altered[-3] ^= 1
    with pytest.raises(ShareError, match="altered"):
        decrypt_share(bytes(altered), member, context=CONTEXT)
    with pytest.raises(ShareError, match="format byte"):
        decrypt_share(b"\x07" + encrypted[1:], member, context=CONTEXT)
    with pytest.raises(ShareError, match="1216 bytes"):
        encrypt_share(share, member.public_key_bytes[:-1], context=CONTEXT)


def test_a_member_key_file_opens_with_its_passphrase_only(tmp_path: Path) -> None:
    member = MemberKey.generate()
    path = tmp_path / "member.key"
    member.save(path, "correct horse battery staple")  # the default Argon2id cost

    loaded = MemberKey.load(path, "correct horse battery staple")

    assert loaded.private_bytes() == member.private_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = json.loads(path.read_text())
    assert document["kdf"]["algorithm"] == "argon2id"
    assert document["kdf"]["memory_cost_kib"] == 64 * 1024
    assert member.private_bytes().hex() not in path.read_text()
    with pytest.raises(KeyFileError, match="passphrase is not the one"):
        MemberKey.load(path, "Correct horse battery staple")
    with pytest.raises(FileExistsError):
        MemberKey.generate().save(path, "another")


def test_a_key_file_changed_anywhere_does_not_open() -> None:
    member, other = MemberKey.generate(), MemberKey.generate()
    document = json.loads(member.to_file("pw", cost=CHEAP))
    swapped = {**document, "public_key": json.loads(other.to_file("pw", cost=CHEAP))["public_key"]}
    cheaper = {**document, "kdf": {**document["kdf"], "time_cost": 2}}
    costly = {**document, "kdf": {**document["kdf"], "memory_cost_kib": 2**40}}

    for changed in (swapped, cheaper):
        with pytest.raises(KeyFileError, match="altered"):
            MemberKey.from_file(json.dumps(changed).encode(), "pw")
    with pytest.raises(KeyFileError, match="out of bounds"):
        MemberKey.from_file(json.dumps(costly).encode(), "pw")
    with pytest.raises(KeyFileError, match="not a member key file"):
        MemberKey.from_file(b'{"format": "something else"}', "pw")
    with pytest.raises(KeyFileError, match="not a readable"):
        MemberKey.from_file(b"not json", "pw")
    with pytest.raises(KeyFileError, match="needs a passphrase"):
        member.to_file("", cost=CHEAP)
