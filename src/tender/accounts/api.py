"""HTTP API of signing in and out, the caller's own account (API tokens, authenticator) and
its organisation's signing certificates."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.datastructures import Cookie
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from tender.accounts.authentication import SESSION_COOKIE
from tender.accounts.dependencies import (
    provide_account_service,
    provide_caller,
    provide_certificate_service,
    provide_registration_service,
    provide_sign_in_service,
)
from tender.accounts.guards import EVERY_ROLE, PUBLIC, allow
from tender.accounts.models import OrganisationStatus, Role, User
from tender.accounts.registration import NewRegistration, RegistrationService
from tender.accounts.schemas import (
    AccountOut,
    CertificateOut,
    CertificateRegistration,
    ChallengeOut,
    Confirmation,
    NewTokenOut,
    NewUserOut,
    OrganisationCreate,
    OrganisationOut,
    PasswordChange,
    PasswordSet,
    Registration,
    RegistrationOut,
    SessionOut,
    SignIn,
    TokenCreate,
    TokenOut,
    TotpCode,
    TotpEnrolment,
    UserCreate,
)
from tender.accounts.service import AccountService, CertificateService
from tender.accounts.signin import Caller, SignedIn, SignInService
from tender.config import Settings
from tender.errors import Invalid
from tender.i18n import gettext as _
from tender.i18n import gettext_noop as N_  # noqa: N812 (the name extractors look for)

MAX_SIGNATURE_BYTES = 256 * 1024  # a CMS signature with its certificate chain


class AccountController(Controller):
    path = "/api/account"
    tags = ("account",)
    dependencies = {
        "accounts": Provide(provide_account_service, sync_to_thread=False),
        "certificates": Provide(provide_certificate_service, sync_to_thread=False),
        "sign_in": Provide(provide_sign_in_service, sync_to_thread=False),
        "caller": Provide(provide_caller, sync_to_thread=False),
    }

    @get("/", guards=allow(*EVERY_ROLE, to=N_("see your account")), summary="Who you are")
    async def me(self, user: NamedDependency[User]) -> AccountOut:
        return AccountOut.of(user)

    @get(
        "/tokens",
        guards=allow(*EVERY_ROLE, to=N_("list your API tokens")),
        sync_to_thread=True,
        summary="Your API tokens (never their values)",
    )
    def tokens(
        self, user: NamedDependency[User], sign_in: NamedDependency[SignInService]
    ) -> list[TokenOut]:
        return [TokenOut.of(t) for t in sign_in.tokens_of(user)]

    @post(
        "/tokens",
        guards=allow(*EVERY_ROLE, to=N_("make API tokens")),
        sync_to_thread=True,
        summary="Make an API token for scripts (shown once)",
        description=(
            "With 'code' (your authenticator's current code), the token may do what needs a "
            "second factor, such as publishing. A token lasts 'days' (1 to 366) or until you "
            "revoke it."
        ),
    )
    def create_token(
        self,
        data: JSONBody[TokenCreate],
        caller: NamedDependency[Caller],
        sign_in: NamedDependency[SignInService],
    ) -> NewTokenOut:
        row, token = sign_in.create_token(caller, name=data.name, days=data.days, code=data.code)
        return NewTokenOut(token=token, about=TokenOut.of(row))

    @delete(
        "/tokens/{token_id:uuid}",
        guards=allow(*EVERY_ROLE, to=N_("revoke your API tokens")),
        status_code=200,
        sync_to_thread=True,
        summary="Revoke one of your API tokens",
    )
    def revoke_token(
        self,
        token_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        sign_in: NamedDependency[SignInService],
    ) -> TokenOut:
        return TokenOut.of(sign_in.revoke_token(user, token_id))

    @put(
        "/password",
        guards=allow(*EVERY_ROLE, to=N_("set your password")),
        status_code=200,
        sync_to_thread=True,
        summary="Set your password (changing it needs the current one, or a second factor)",
    )
    def set_password(
        self,
        data: JSONBody[PasswordChange],
        caller: NamedDependency[Caller],
        sign_in: NamedDependency[SignInService],
    ) -> PasswordSet:
        ended = sign_in.set_password(caller, password=data.password, current=data.current_password)
        return PasswordSet(
            sessions_ended=ended,
            message=f"Your password is set. {ended} other browser session(s) of yours ended; "
            "sign in there again with the new password. API tokens are unchanged: revoke any "
            "you do not trust (DELETE /api/account/tokens/{id}).",
        )

    @post(
        "/totp",
        guards=allow(*EVERY_ROLE, to=N_("enrol an authenticator")),
        sync_to_thread=True,
        summary="Start enrolling an authenticator app (TOTP): a secret to add to it",
    )
    def enrol_totp(
        self, caller: NamedDependency[Caller], sign_in: NamedDependency[SignInService]
    ) -> TotpEnrolment:
        secret, uri = sign_in.enrol_totp(caller)
        return TotpEnrolment(secret=secret, otpauth_uri=uri)

    @post(
        "/totp/confirm",
        guards=allow(*EVERY_ROLE, to=N_("enrol an authenticator")),
        status_code=200,
        sync_to_thread=True,
        summary="Confirm the authenticator with its current code; it is then required",
    )
    def confirm_totp(
        self,
        data: JSONBody[TotpCode],
        caller: NamedDependency[Caller],
        sign_in: NamedDependency[SignInService],
    ) -> None:
        sign_in.confirm_totp(caller, data.code)

    @post(
        "/certificates/challenges",
        guards=allow(Role.SUPPLIER, to=N_("register signing certificates")),
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
        guards=allow(Role.SUPPLIER, to=N_("register signing certificates")),
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
                _("The signature is not base64."),
                _("The signature is sent as the base64 text of the .p7s file's bytes."),
                _("Encode the .p7s file with base64 and send it again."),
            ) from None
        return CertificateOut.of(
            certificates.register(actor=user, challenge_id=data.challenge_id, signature=signature)
        )

    @get(
        "/certificates",
        guards=allow(*EVERY_ROLE, to=N_("list your organisation's certificates")),
        sync_to_thread=True,
        summary="Your organisation's certificates",
    )
    def certificates(
        self, user: NamedDependency[User], accounts: NamedDependency[AccountService]
    ) -> list[CertificateOut]:
        return [CertificateOut.of(c) for c in accounts.certificates_of(user.organisation_id)]


class SessionController(Controller):
    """Browser sessions: sign in with email, password (and a code), sign out."""

    path = "/api/session"
    tags = ("account",)
    dependencies = {
        "sign_in": Provide(provide_sign_in_service, sync_to_thread=False),
        "caller": Provide(provide_caller, sync_to_thread=False),
    }

    @post(
        "/",
        opt=PUBLIC,
        sync_to_thread=True,
        summary="Sign in: a session cookie (HttpOnly) and the CSRF token to send with changes",
        description=(
            "Officers and admins, and anyone who enrolled an authenticator, also send 'code'. "
            "After 5 failed sign-ins an account is locked for 15 minutes (20 from one address)."
        ),
    )
    def sign_in(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[SignIn],
        sign_in: NamedDependency[SignInService],
        settings: NamedDependency[Settings],
    ) -> Response[Any]:
        address = request.client.host if request.client else "unknown"
        outcome = sign_in.sign_in(
            email=data.email, password=data.password, code=data.code, address=address
        )
        if not isinstance(outcome, SignedIn):
            # Answered, not raised: the failure is counted and audited in this request's
            # transaction, which a raised refusal would roll back.
            return Response(
                outcome.to_json(), status_code=outcome.status_code, headers=outcome.headers()
            )
        cookie = Cookie(
            key=SESSION_COOKIE,
            value=outcome.cookie,
            path="/",
            expires=int(outcome.expires_at.timestamp()),
            httponly=True,
            samesite="lax",
            secure=settings.cookie_secure,
        )
        body = SessionOut(
            account=AccountOut.of(outcome.user),
            csrf_token=outcome.csrf_token,
            second_factor=outcome.second_factor,
            expires_at=outcome.expires_at,
        )
        return Response(body, status_code=201, cookies=[cookie])

    @delete(
        "/",
        guards=allow(*EVERY_ROLE, to=N_("sign out")),
        status_code=200,
        sync_to_thread=True,
        summary="Sign out: the session ends and its cookie is cleared",
    )
    def sign_out(
        self, caller: NamedDependency[Caller], sign_in: NamedDependency[SignInService]
    ) -> Response[None]:
        sign_in.sign_out(caller)
        return Response(
            None, status_code=200, cookies=[Cookie(key=SESSION_COOKIE, value="", max_age=0)]
        )


class RegistrationController(Controller):
    """Suppliers register themselves; the email is confirmed with the link sent to it."""

    path = "/api/registrations"
    tags = ("registration",)
    dependencies = {"registrations": Provide(provide_registration_service, sync_to_thread=False)}

    @post(
        "/",
        opt=PUBLIC,
        sync_to_thread=True,
        summary="Register a supplier organisation and its first user (pending until confirmed "
        "and activated)",
    )
    def register(
        self,
        data: JSONBody[Registration],
        registrations: NamedDependency[RegistrationService],
    ) -> RegistrationOut:
        org = registrations.register(
            NewRegistration(
                name_en=data.organisation.name_en,
                name_zh=data.organisation.name_zh,
                br_number=data.organisation.br_number,
                contact_email=data.organisation.contact_email,
                contact_phone=data.organisation.contact_phone,
                user_name=data.user.name,
                email=data.user.email,
                password=data.user.password,
                language=data.user.language,
            )
        )
        return RegistrationOut(
            organisation=OrganisationOut.of(org),
            what_next=(
                f"A link was emailed to {data.user.email}: open it to confirm the address. "
                + (
                    "The organisation is then active and you can sign in."
                    if registrations.open_registration
                    else "Then an administrator activates the organisation, and you can sign in."
                )
            ),
        )

    @post(
        "/confirm",
        opt=PUBLIC,
        status_code=200,
        sync_to_thread=True,
        summary="Confirm a registration's email with the token from its link",
    )
    def confirm(
        self,
        data: JSONBody[Confirmation],
        registrations: NamedDependency[RegistrationService],
    ) -> OrganisationOut:
        return OrganisationOut.of(registrations.confirm(data.token))


class AdminController(Controller):
    """Administrators manage organisations and users (and never read bids)."""

    path = "/api/admin"
    tags = ("admin",)
    dependencies = {
        "registrations": Provide(provide_registration_service, sync_to_thread=False),
        "accounts": Provide(provide_account_service, sync_to_thread=False),
    }

    @get(
        "/organisations",
        guards=allow(Role.ADMIN, to=N_("manage organisations")),
        sync_to_thread=True,
        summary="Every organisation, with its status",
    )
    def organisations(
        self, registrations: NamedDependency[RegistrationService]
    ) -> list[OrganisationOut]:
        return [OrganisationOut.of(o) for o in registrations.organisations()]

    @post(
        "/organisations",
        guards=allow(Role.ADMIN, to=N_("manage organisations"), second_factor=True),
        sync_to_thread=True,
        summary="Add an organisation (active)",
    )
    def add_organisation(
        self,
        data: JSONBody[OrganisationCreate],
        user: NamedDependency[User],
        accounts: NamedDependency[AccountService],
    ) -> OrganisationOut:
        return OrganisationOut.of(
            accounts.add_organisation(
                kind=data.kind,
                name_en=data.name_en,
                name_zh=data.name_zh,
                br_number=data.br_number,
                contact_email=data.contact_email,
                contact_phone=data.contact_phone,
                status=OrganisationStatus.ACTIVE,
                by=user.actor,
            )
        )

    @post(
        "/organisations/{organisation_id:uuid}/activate",
        guards=allow(Role.ADMIN, to=N_("activate organisations"), second_factor=True),
        status_code=200,
        sync_to_thread=True,
        summary="Activate an organisation: its users can sign in",
    )
    def activate(
        self,
        organisation_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        registrations: NamedDependency[RegistrationService],
    ) -> OrganisationOut:
        return OrganisationOut.of(
            registrations.set_status(
                actor=user, organisation_id=organisation_id, status=OrganisationStatus.ACTIVE
            )
        )

    @post(
        "/organisations/{organisation_id:uuid}/suspend",
        guards=allow(Role.ADMIN, to=N_("suspend organisations"), second_factor=True),
        status_code=200,
        sync_to_thread=True,
        summary="Suspend an organisation: its users' sessions and tokens stop working",
    )
    def suspend(
        self,
        organisation_id: FromPath[uuid.UUID],
        user: NamedDependency[User],
        registrations: NamedDependency[RegistrationService],
    ) -> OrganisationOut:
        return OrganisationOut.of(
            registrations.set_status(
                actor=user, organisation_id=organisation_id, status=OrganisationStatus.SUSPENDED
            )
        )

    @get(
        "/users",
        guards=allow(Role.ADMIN, to=N_("manage users")),
        sync_to_thread=True,
        summary="Every user",
    )
    def users(self, registrations: NamedDependency[RegistrationService]) -> list[AccountOut]:
        return [AccountOut.of(u) for u in registrations.users()]

    @post(
        "/users",
        guards=allow(Role.ADMIN, to=N_("manage users"), second_factor=True),
        sync_to_thread=True,
        summary="Add a user: the answer carries a one-time set-up token for them (7 days)",
    )
    def add_user(
        self,
        data: JSONBody[UserCreate],
        user: NamedDependency[User],
        registrations: NamedDependency[RegistrationService],
    ) -> NewUserOut:
        added, token = registrations.add_user(
            actor=user,
            organisation_id=data.organisation_id,
            role=data.role,
            name=data.name,
            email=data.email,
            language=data.language,
        )
        return NewUserOut(account=AccountOut.of(added), token=token)
