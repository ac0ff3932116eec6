"""HTTP API of the caller's own account and its organisation's signing certificates."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import RawBody

from tender.accounts.dependencies import provide_account_service
from tender.accounts.guards import EVERY_ROLE, allow
from tender.accounts.models import Role, User
from tender.accounts.schemas import AccountOut, CertificateOut
from tender.accounts.service import AccountService

MAX_CERTIFICATE_BYTES = 64 * 1024


class AccountController(Controller):
    path = "/api/account"
    tags = ("account",)
    dependencies = {"accounts": Provide(provide_account_service, sync_to_thread=False)}

    @get("/", guards=allow(*EVERY_ROLE, to="see your account"), summary="Who you are")
    async def me(self, user: NamedDependency[User]) -> AccountOut:
        return AccountOut.of(user)

    @post(
        "/certificates",
        guards=allow(Role.SUPPLIER, to="register signing certificates"),
        request_max_body_size=MAX_CERTIFICATE_BYTES,
        sync_to_thread=True,
        summary="Register a signing certificate of your organisation (suppliers)",
        description=(
            "The body is the certificate, PEM or DER (not the .p12: never upload your key). "
            "At the opening, a bid's signature counts only if it was made with one of your "
            "organisation's registered certificates."
        ),
    )
    def register(
        self, body: RawBody, user: NamedDependency[User], accounts: NamedDependency[AccountService]
    ) -> CertificateOut:
        return CertificateOut.of(accounts.register_certificate(actor=user, data=body))

    @get(
        "/certificates",
        guards=allow(*EVERY_ROLE, to="list your organisation's certificates"),
        sync_to_thread=True,
        summary="Your organisation's certificates",
    )
    def certificates(
        self, user: NamedDependency[User], accounts: NamedDependency[AccountService]
    ) -> list[CertificateOut]:
        return [CertificateOut.of(c) for c in accounts.certificates_of(user.organisation)]
