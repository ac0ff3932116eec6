"""A small client of the platform's HTTP API, for the command line and the demo."""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import httpx
from pyhanko.sign.signers import Signer

from tender.bids.schemas import PLAINTEXT_SHA256_HEADER
from tender.signing.signer import sign_detached
from tender.storage.committee import HeldShare, MemberKey, decrypt_share, share_context
from tender.verifier.committee import TENDER_KEY


class RefusedError(Exception):
    """The platform refused a request; the message is its explanation, and ``what``,
    ``why`` and ``what_to_do`` its parts (empty when the answer was not a refusal's body)."""

    def __init__(
        self, message: str, *, status: int = 0, what: str = "", why: str = "", what_to_do: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.what, self.why, self.what_to_do = what, why, what_to_do


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def answer(response: httpx.Response) -> Any:
    """The JSON of a successful answer; a refusal's explanation raised as RefusedError."""
    if response.is_success:
        return response.json()
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    raise RefusedError(
        str(body.get("message") or f"HTTP {response.status_code}: {response.text[:200]}"),
        status=response.status_code,
        what=str(body.get("what") or ""),
        why=str(body.get("why") or ""),
        what_to_do=str(body.get("what_to_do") or ""),
    )


def register_certificate(client: httpx.Client, token: str, signer: Signer) -> dict[str, Any]:
    """Register ``signer``'s certificate for the token holder's organisation, proving that the
    key is at hand: ask for a challenge, sign its text (detached CAdES), send the signature."""
    challenge = answer(client.post("/api/account/certificates/challenges", headers=bearer(token)))
    signature = io.BytesIO()
    sign_detached(io.BytesIO(challenge["text"].encode()), signature, signer)
    registered: dict[str, Any] = answer(
        client.post(
            "/api/account/certificates",
            headers=bearer(token),
            json={
                "challenge_id": challenge["challenge_id"],
                "signature": base64.b64encode(signature.getvalue()).decode("ascii"),
            },
        )
    )
    return registered


def find_tender(client: httpx.Client, token: str, reference: str) -> dict[str, Any]:
    """The tender with ``reference``, compared case-insensitively as the platform compares
    references."""
    wanted = reference.strip().casefold()
    tenders: list[dict[str, Any]] = answer(client.get("/api/tenders", headers=bearer(token)))
    for tender in tenders:
        if str(tender["reference"]).casefold() == wanted:
            return tender
    raise RefusedError(
        f"There is no tender {reference!r} that you can see. Check the reference in the "
        "tender notice; 'tender receipts' lists the tenders you submitted to.",
        status=404,
    )


def upload_bid(
    client: httpx.Client,
    token: str,
    tender_id: str,
    file_name: str,
    chunks: Iterable[bytes],
    size: int,
    *,
    envelope: str | None = None,
    plaintext_sha256: str | None = None,
) -> dict[str, Any]:
    """Stream ``chunks`` (``size`` bytes in all) as the bid file ``file_name`` (in
    ``envelope`` of a two-envelope tender); its receipt.

    The length is declared up front so that the platform refuses a file over its limit before
    a byte is sent. ``plaintext_sha256``: the chunks are the file sealed here, to a
    supplier-sealed tender, and this is the plain file's SHA-256."""
    declared = {} if plaintext_sha256 is None else {PLAINTEXT_SHA256_HEADER: plaintext_sha256}
    receipt: dict[str, Any] = answer(
        client.put(
            f"/api/tenders/{tender_id}/bids/{quote(file_name, safe='')}",
            params={} if envelope is None else {"envelope": envelope},
            content=chunks,
            headers={
                **bearer(token),
                "Content-Length": str(size),
                "Content-Type": "application/octet-stream",
                **declared,
            },
        )
    )
    return receipt


def tender_public_key(
    client: httpx.Client, tender_id: str, *, envelope: str | None = None
) -> bytes:
    """The public key the tender's bids (in ``envelope`` of a two-envelope tender) are sealed
    to, checked against its fingerprint."""
    shown = answer(
        client.get(
            f"/api/tenders/{quote(tender_id, safe='')}/public-key",
            params={} if envelope is None else {"envelope": envelope},
        )
    )
    key = base64.b64decode(shown["public_key"], validate=True)
    if hashlib.sha256(key).hexdigest() != shown["fingerprint"]:
        raise RefusedError(
            f"The platform gave tender {shown['reference']}'s public key with a fingerprint "
            "that is not its own, so nothing was sealed to it. Try again; if it persists, tell "
            "the procuring entity."
        )
    return key


def platform_public_key(client: httpx.Client) -> str:
    """The platform's public key (C2SP verifier key), which signs receipts."""
    response = client.get("/api/audit/public-key")
    if not response.is_success:
        answer(response)  # raises the refusal
    return response.text.strip()


def own_receipts(
    client: httpx.Client, token: str, tender_id: str | None = None
) -> list[dict[str, Any]]:
    """The caller's receipts, each saying whether its version counts for the opening."""
    params = {} if tender_id is None else {"tender_id": tender_id}
    receipts: list[dict[str, Any]] = answer(
        client.get("/api/receipts", params=params, headers=bearer(token))
    )
    return receipts


def receipt_pdf(client: httpx.Client, token: str, receipt_id: str) -> bytes:
    """One of the caller's receipts as a PDF."""
    response = client.get(f"/api/receipts/{quote(receipt_id, safe='')}/pdf", headers=bearer(token))
    if not response.is_success:
        answer(response)  # raises the refusal
    return response.content


def register_committee_key(
    client: httpx.Client, token: str, member_key: MemberKey
) -> dict[str, Any]:
    """Register ``member_key``'s public half as the caller's committee key."""
    public_key = base64.b64encode(member_key.public_key_bytes).decode("ascii")
    registered: dict[str, Any] = answer(
        client.post("/api/committee/keys", headers=bearer(token), json={"public_key": public_key})
    )
    return registered


def decrypted_share(share: dict[str, Any], member_key: MemberKey) -> HeldShare:
    """The held share in ``share`` (the platform's answer to a member's ``GET .../committee/
    share``, as fetched or saved from the committee page), decrypted with ``member_key`` and
    checked against the commitment the log holds.

    :raises RefusedError: if it is encrypted to another key or does not match its commitment.
    :raises ShareError: if it does not decrypt with ``member_key``.
    """
    if share["member_key"] != member_key.fingerprint:
        raise RefusedError(
            f"Your share of tender {share['reference']} is encrypted to the committee key "
            f"{share['member_key'][:16]}, not to the key in this file "
            f"({member_key.fingerprint[:16]}). Use the key file you had registered when the "
            "tender was created."
        )
    context = share_context(
        tender_id=share["tender_id"], key_name=share["key"], member_id=share["member_id"]
    )
    held = decrypt_share(base64.b64decode(share["encrypted_share"]), member_key, context=context)
    if held.commitment(context) != share["share_commitment"]:
        raise RefusedError(
            f"The share the platform gave you for tender {share['reference']} does not match the "
            "commitment to it in the audit log, so it was not released. Tell the platform's "
            "auditors."
        )
    return held


def release_committee_share(
    client: httpx.Client,
    token: str,
    tender_id: str,
    member_key: MemberKey,
    *,
    key_name: str = TENDER_KEY,
) -> dict[str, Any]:
    """Fetch the caller's encrypted share of the tender's key, decrypt it here with
    ``member_key``, check it against the commitment the log holds, and release it; the
    committee's state afterwards. The member key never leaves this computer.

    :raises RefusedError: if the platform refuses, or the share is not for this key or does
        not match its commitment (then nothing is released).
    :raises ShareError: if the share does not decrypt with ``member_key``.
    """
    committee = f"/api/tenders/{quote(tender_id, safe='')}/committee"
    share = answer(
        client.get(f"{committee}/share", params={"key": key_name}, headers=bearer(token))
    )
    held = decrypted_share(share, member_key)
    released: dict[str, Any] = answer(
        client.post(
            f"{committee}/releases",
            headers=bearer(token),
            json={"key": key_name, "share": base64.b64encode(held.to_bytes()).decode("ascii")},
        )
    )
    return released


def qualification_of(client: httpx.Client, token: str, tender_id: str) -> dict[str, Any]:
    """A two-envelope tender's opened bids and the verdict on each so far."""
    standing: dict[str, Any] = answer(
        client.get(f"/api/tenders/{quote(tender_id, safe='')}/qualification", headers=bearer(token))
    )
    return standing


def qualify_bid(
    client: httpx.Client,
    token: str,
    tender_id: str,
    *,
    supplier_id: str,
    qualified: bool,
    reason: str,
) -> dict[str, Any]:
    """Record (or correct) the verdict on one bid of a two-envelope tender."""
    verdict: dict[str, Any] = answer(
        client.post(
            f"/api/tenders/{quote(tender_id, safe='')}/qualification",
            headers=bearer(token),
            json={"supplier_id": supplier_id, "qualified": qualified, "reason": reason},
        )
    )
    return verdict


def request_financial_opening(client: httpx.Client, token: str, tender_id: str) -> dict[str, Any]:
    """Ask for the qualified bids' financial envelopes to be opened."""
    requested: dict[str, Any] = answer(
        client.post(
            f"/api/tenders/{quote(tender_id, safe='')}/financial-opening", headers=bearer(token)
        )
    )
    return requested


def committee_of(client: httpx.Client, token: str, tender_id: str) -> dict[str, Any]:
    """The tender's opening committee: who has released a share, who has not."""
    committee: dict[str, Any] = answer(
        client.get(f"/api/tenders/{quote(tender_id, safe='')}/committee", headers=bearer(token))
    )
    return committee
