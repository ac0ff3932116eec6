"""Suppliers register themselves: their organisation and its first user, pending until the
email is confirmed (a link sent through the outbox) and an administrator activates the
organisation, or at once on confirmation with open registration. Administrators manage
organisations and users. In the caller's transaction (it never commits).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tender.accounts import credentials
from tender.accounts.models import (
    Language,
    Organisation,
    OrganisationKind,
    OrganisationStatus,
    Role,
    User,
)
from tender.accounts.service import AccountService
from tender.accounts.signin import SignInService
from tender.audit import service as audit
from tender.clock import Clock
from tender.errors import Conflict, Invalid, NotFound
from tender.i18n import gettext as _
from tender.i18n import gettext_noop as N_  # noqa: N812 (the name extractors look for)
from tender.notifications.messages import MessageKind
from tender.notifications.service import NotificationService
from tender.verifier.kinds import EventKind

CONFIRMATION_LIFETIME = timedelta(days=2)
SET_UP_TOKEN_LIFETIME = timedelta(days=7)
REGISTRATION_ACTOR = "registration"  # who the audit trail says made a self-registration


@dataclass(frozen=True, kw_only=True)
class NewRegistration:
    name_en: str
    br_number: str
    contact_email: str
    user_name: str
    email: str
    password: str
    language: Language = Language.EN
    name_zh: str | None = None
    contact_phone: str | None = None


@dataclass(frozen=True, kw_only=True)
class RegistrationService:
    session: Session
    clock: Clock
    open_registration: bool
    confirm_url: str  # the page that confirms: the token is appended as ?token=

    def register(self, data: NewRegistration) -> Organisation:
        """A pending supplier organisation and its first user; the confirmation link is
        emailed (through the outbox) to the user."""
        problem = credentials.password_problem(data.password)
        if problem is not None:
            raise Invalid(_("The password cannot be used."), problem, _("Choose another one."))
        # Bounded and normalised where they are stored (AccountService); a supplier's
        # registration must also give what an administrator's may leave out.
        for value, what in (
            (data.br_number, N_("business registration number")),
            (data.contact_email, N_("contact email")),
            (data.email, N_("email")),
        ):
            if not value.strip():
                raise Invalid(
                    _("The registration has no {what}.").format(what=_(what)),
                    _("A supplier registers with its {what}.").format(what=_(what)),
                    _("Fill in the {what} and send the registration again.").format(what=_(what)),
                    details={"field": what},
                )
        accounts = AccountService(session=self.session, clock=self.clock)
        org = accounts.add_organisation(
            kind=OrganisationKind.SUPPLIER,
            name_en=data.name_en,
            name_zh=data.name_zh,
            br_number=data.br_number,
            contact_email=data.contact_email,
            contact_phone=data.contact_phone,
            status=OrganisationStatus.PENDING,
            by=REGISTRATION_ACTOR,
        )
        user = accounts.add_person(
            name=data.user_name,
            organisation=org,
            role=Role.SUPPLIER,
            email=data.email,
            password=data.password,
            language=data.language,
            by=REGISTRATION_ACTOR,
        )
        token = credentials.new_secret()
        user.confirmation_sha256 = credentials.digest(token)
        user.confirmation_expires_at = self.clock.now() + CONFIRMATION_LIFETIME
        assert user.email is not None  # given above
        NotificationService(session=self.session, clock=self.clock).email(
            user.email,
            user.language.value,
            MessageKind.REGISTRATION_CONFIRMATION,
            name=user.name,
            organisation=org.name_en,
            expires_at=user.confirmation_expires_at,
            link=f"{self.confirm_url}?token={token}",
        )
        return org

    def confirm(self, token: str) -> Organisation:
        """Confirm the email the link was sent to; with open registration the organisation
        is active from now."""
        now = self.clock.now()
        user = self.session.scalar(
            select(User).where(User.confirmation_sha256 == credentials.digest(token))
        )
        if user is None or user.confirmation_expires_at is None:
            raise NotFound(
                _("This confirmation link is not known."),
                _("It is mistyped, or was used already."),
                _("Open the link from the email exactly as it is; if it was used, sign in."),
            )
        if user.confirmation_expires_at <= now:
            raise Conflict(
                _("This confirmation link has expired."),
                _("A link works for {days} days.").format(days=CONFIRMATION_LIFETIME.days),
                _("Register again, or ask the platform administrator."),
            )
        user.email_confirmed_at = now
        user.confirmation_sha256 = user.confirmation_expires_at = None
        audit.append(
            self.session,
            kind=EventKind.EMAIL_CONFIRMED,
            actor=user.actor,
            at=now,
            payload={"user_id": str(user.id), "organisation_id": str(user.organisation_id)},
        )
        if self.open_registration and user.org.status is OrganisationStatus.PENDING:
            self._set_status(user.org, OrganisationStatus.ACTIVE, actor=REGISTRATION_ACTOR)
        return user.org

    def set_status(
        self, *, actor: User, organisation_id: uuid.UUID, status: OrganisationStatus
    ) -> Organisation:
        """An administrator activates or suspends an organisation."""
        org = self.session.get(Organisation, organisation_id)
        if org is None:
            raise NotFound(
                _("There is no organisation {organisation_id}.").format(
                    organisation_id=organisation_id
                ),
                _("No organisation with that id is registered."),
                _("GET /api/admin/organisations lists them."),
            )
        if org.status is not status:
            self._set_status(org, status, actor=actor.actor)
        return org

    def _set_status(self, org: Organisation, status: OrganisationStatus, *, actor: str) -> None:
        org.status = status
        audit.append(
            self.session,
            kind=EventKind.ORGANISATION_STATUS_CHANGED,
            actor=actor,
            at=self.clock.now(),
            payload={"organisation_id": str(org.id), "status": status.value},
        )

    def add_user(
        self,
        *,
        actor: User,
        organisation_id: uuid.UUID,
        role: Role,
        name: str,
        email: str | None,
        language: Language,
    ) -> tuple[User, str]:
        """An administrator adds a user; the answer is the user and a one-time API token
        (a week long, no second factor) to set a password and an authenticator with."""
        org = self.session.get(Organisation, organisation_id)
        if org is None:
            raise NotFound(
                _("There is no organisation {organisation_id}.").format(
                    organisation_id=organisation_id
                ),
                _("A user belongs to a registered organisation."),
                _("Add the organisation first (POST /api/admin/organisations)."),
            )
        user = AccountService(session=self.session, clock=self.clock).add_person(
            name=name,
            organisation=org,
            role=role,
            email=email,
            password=None,
            language=language,
            by=actor.actor,
        )
        _user, token = SignInService(session=self.session, clock=self.clock).issue_token(
            user,
            name="set-up, made by an administrator",
            second_factor=False,
            expires_at=self.clock.now() + SET_UP_TOKEN_LIFETIME,
            by=actor.actor,
        )
        return user, token

    def organisations(self) -> list[Organisation]:
        return list(self.session.scalars(select(Organisation).order_by(Organisation.name_en)))

    def users(self) -> list[User]:
        return list(self.session.scalars(select(User).order_by(User.created_at)))
