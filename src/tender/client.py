"""A small client of the platform's HTTP API, for the command line and the demo."""

from __future__ import annotations

import base64
import io
from typing import Any

import httpx
from pyhanko.sign.signers import Signer

from tender.signing.signer import sign_detached


class RefusedError(Exception):
    """The platform refused a request; the message is its explanation."""


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def answer(response: httpx.Response) -> Any:
    """The JSON of a successful answer; a refusal's explanation raised as RefusedError."""
    if response.is_success:
        return response.json()
    try:
        message = response.json().get("message")
    except ValueError:
        message = None
    raise RefusedError(message or f"HTTP {response.status_code}: {response.text[:200]}")


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
