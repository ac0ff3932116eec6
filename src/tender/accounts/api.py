"""HTTP API of the caller's own account and its organisation's signing certificates."""

from __future__ import annotations

import base64

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody

from tender.accounts.dependencies import provide_account_service, provide_certificate_service
from tender.accounts.guards import EVERY_ROLE, allow
from tender.accounts.models import Role, User
from tender.accounts.schemas import (
    AccountOut,
    CertificateOut,
    CertificateRegistration,
    ChallengeOut,
)
from tender.accounts.service import AccountService, CertificateService
from tender.errors import Invalid

MAX_SIGNATURE_BYTES = 256 * 1024  # a CMS signature with its certificate chain


class AccountController(Controller):
    path = "/api/account"
    tags = ("account",)
    dependencies = {
        "accounts": Provide(provide_account_service, sync_to_thread=False),
        "certificates": Provide(provide_certificate_service, sync_to_thread=False),
    }

    @get("/", guards=allow(*EVERY_ROLE, to="see your account"), summary="Who you are")
    async def me(self, user: NamedDependency[User]) -> AccountOut:
        return AccountOut.of(user)

    @post(
        "/certificates/challenges",
        guards=allow(Role.SUPPLIER, to="register signing certificates"),
        sync_to_thread=True,
        summary="Ask for a text to sign with the certificate you want to register (suppliers)",
    )
    def challenge(
        self, user: NamedDependency[User], certificates: NamedDependency[CertificateService]
    ) -> ChallengeOut:
        made = certificates.challenge(actor=user)
        return ChallengeOut(challenge_id=made.id, text=made.text, expires_at=made.expires_at)

    @post(
        "/certificates",
        guards=allow(Role.SUPPLIER, to="register signing certificates"),
        request_max_body_size=MAX_SIGNATURE_BYTES,
        sync_to_thread=True,
        summary="Register a signing certificate of your organisation, with proof (suppliers)",
        description=(
            "The body answers a challenge: its id and a detached CAdES signature over its text, "
            "made with the key of the certificate to register (never upload the key itself). "
            "The certificate must be valid, for signing, not revoked, from an authority the "
            "platform accepts, and not registered to another organisation. At the opening, a "
            "bid's signature counts only if made with one of your organisation's registered "
            "certificates."
        ),
    )
    def register(
        self,
        data: JSONBody[CertificateRegistration],
        user: NamedDependency[User],
        certificates: NamedDependency[CertificateService],
    ) -> CertificateOut:
        try:
            signature = base64.b64decode(data.signature, validate=True)
        except ValueError:
            raise Invalid(
                "The signature is not base64.",
                "The signature is sent as the base64 text of the .p7s file's bytes.",
                "Encode the .p7s file with base64 and send it again.",
            ) from None
        return CertificateOut.of(
            certificates.register(actor=user, challenge_id=data.challenge_id, signature=signature)
        )

    @get(
        "/certificates",
        guards=allow(*EVERY_ROLE, to="list your organisation's certificates"),
        sync_to_thread=True,
        summary="Your organisation's certificates",
    )
    def certificates(
        self, user: NamedDependency[User], accounts: NamedDependency[AccountService]
    ) -> list[CertificateOut]:
        return [CertificateOut.of(c) for c in accounts.certificates_of(user.organisation_id)]
