"""A small client of the platform's HTTP API, for the command line and the demo."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import httpx
from pyhanko.sign.signers import Signer

from tender.signing.signer import sign_detached


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
) -> dict[str, Any]:
    """Stream ``chunks`` (``size`` bytes in all) as the bid file ``file_name``; its receipt.

    The length is declared up front so that the platform refuses a file over its limit before
    a byte is sent."""
    receipt: dict[str, Any] = answer(
        client.put(
            f"/api/tenders/{tender_id}/bids/{quote(file_name, safe='')}",
            content=chunks,
            headers={
                **bearer(token),
                "Content-Length": str(size),
                "Content-Type": "application/octet-stream",
            },
        )
    )
    return receipt


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
