"""HTTP API of the caller's own account and its organisation's signing certificates."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency

from tender.accounts import service
from tender.accounts.models import User
from tender.accounts.schemas import AccountOut, CertificateOut
from tender.platform import Platform

MAX_CERTIFICATE_BYTES = 64 * 1024


class AccountController(Controller):
    path = "/api/account"
    tags = ("account",)

    @get("/", summary="Who you are")
    async def me(self, user: NamedDependency[User]) -> AccountOut:
        return AccountOut.of(user)

    @post(
        "/certificates",
        request_max_body_size=MAX_CERTIFICATE_BYTES,
        summary="Register a signing certificate of your organisation (suppliers)",
        description=(
            "The body is the certificate, PEM or DER (not the .p12: never upload your key). "
            "At the opening, a bid's signature counts only if it was made with one of your "
            "organisation's registered certificates."
        ),
    )
    async def register(
        self,
        request: Request[Any, Any, Any],
        user: NamedDependency[User],
        platform: NamedDependency[Platform],
    ) -> CertificateOut:
        data = await request.body()  # a certificate is a few KiB; the route caps it at 64 KiB

        def register() -> CertificateOut:
            with platform.sessions.begin() as session:
                certificate = service.register_certificate(
                    session, actor=user, data=data, clock=platform.clock
                )
                return CertificateOut.of(certificate)

        return await anyio.to_thread.run_sync(register)

    @get("/certificates", sync_to_thread=True, summary="Your organisation's certificates")
    def certificates(
        self, user: NamedDependency[User], platform: NamedDependency[Platform]
    ) -> list[CertificateOut]:
        with platform.sessions.begin() as session:
            return [
                CertificateOut.of(c) for c in service.certificates_of(session, user.organisation)
            ]
