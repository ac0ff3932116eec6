"""Accounts: organisations, their users, and the certificates organisations sign with.

Who may call what is decided by the route guards (:mod:`tender.accounts.guards`); this
service checks only what depends on the objects.
"""

from __future__ import annotations

import io
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from asn1crypto import cms
from sqlalchemy import select
from sqlalchemy.orm import Session

from tender import text
from tender.accounts import credentials
from tender.accounts.models import (
    AuditorAppointment,
    CertificateChallenge,
    Language,
    Organisation,
    OrganisationKind,
    OrganisationStatus,
    Role,
    SigningCertificate,
    User,
)
from tender.accounts.signin import SECOND_FACTOR_ROLES, SignInService
from tender.audit import service as audit
from tender.clock import Clock, format_time
from tender.errors import Conflict, Invalid, NotFound
from tender.i18n import HONG_KONG_CHINESE, current_locale
from tender.i18n import gettext as _
from tender.i18n import gettext_noop as N_  # noqa: N812 (the name extractors look for)
from tender.signing import Indication, SignerBinding, TrustStore, read_certificate, verify_document
from tender.verifier.kinds import EventKind

STARTER_ACCOUNTS: tuple[tuple[str, str, Role, str], ...] = (
    ("Olivia Officer", "Procuring Entity", Role.OFFICER, "olivia@procuring-entity.example"),
    ("Alice Supplier", "Alpha Engineering Ltd", Role.SUPPLIER, "alice@alpha.example"),
    ("Bob Supplier", "Beta Builders Ltd", Role.SUPPLIER, "bob@beta.example"),
    ("Carol Supplier", "Gamma Works Ltd", Role.SUPPLIER, "carol@gamma.example"),
    ("Aaron Auditor", "Audit Commission", Role.AUDITOR, "aaron@audit.example"),
)


class StarterAccount(NamedTuple):
    """A starter account with what its holder needs: the operator's API token, and the
    password for signing in on the pages (both shown once)."""

    user: User
    token: str
    password: str


KIND_OF_ROLE: dict[Role, OrganisationKind] = {
    Role.OFFICER: OrganisationKind.BUYER,
    Role.SUPPLIER: OrganisationKind.SUPPLIER,
    Role.AUDITOR: OrganisationKind.PLATFORM,
    Role.ADMIN: OrganisationKind.PLATFORM,
}
"""The kind of organisation a user of each role belongs to."""

# The lengths of the columns that hold them (tender.accounts.models).
NAME_MAX = 200  # an organisation's names, a person's name
BR_NUMBER_MAX = 40
PHONE_MAX = 40


@dataclass(frozen=True, kw_only=True)
class AccountService:
    """Accounts and signing certificates, in the caller's transaction (it never commits)."""

    session: Session
    clock: Clock

    def organisation_named(self, name_en: str, *, kind: OrganisationKind) -> Organisation:
        """The organisation called ``name_en``, added (active, of ``kind``) if there is none."""
        name_en = text.required(name_en, field=N_("organisation name"), max_length=NAME_MAX)
        found = self.session.scalar(select(Organisation).where(Organisation.name_en == name_en))
        if found is not None:
            return found
        return self.add_organisation(kind=kind, name_en=name_en, status=OrganisationStatus.ACTIVE)

    def add_organisation(
        self,
        *,
        kind: OrganisationKind,
        name_en: str,
        status: OrganisationStatus,
        name_zh: str | None = None,
        br_number: str | None = None,
        contact_email: str | None = None,
        contact_phone: str | None = None,
        by: str = audit.SYSTEM_ACTOR,
    ) -> Organisation:
        """Add an organisation, made by ``by`` (the audit trail's actor; by default the
        platform's operator)."""
        name_en = text.required(name_en, field=N_("English name"), max_length=NAME_MAX)
        name_zh = text.optional(name_zh, field=N_("Chinese name"), max_length=NAME_MAX)
        br_number = text.optional(
            br_number, field=N_("business registration number"), max_length=BR_NUMBER_MAX
        )
        contact_email = (
            text.email(contact_email, field=N_("contact email")) if contact_email else None
        )
        contact_phone = text.optional(
            contact_phone, field=N_("contact phone"), max_length=PHONE_MAX
        )
        for column, value, what in (
            (Organisation.name_en, name_en, "name"),
            (Organisation.br_number, br_number, "business registration number"),
        ):
            if value is not None and self.session.scalar(
                select(Organisation).where(column == value)
            ):
                raise Conflict(
                    _("An organisation with the {what} {value!r} is already registered.").format(
                        what=what, value=value
                    ),
                    _("Each organisation is registered once; the {what} identifies it.").format(
                        what=what
                    ),
                    _("Use the organisation that is there, or correct the {what}.").format(
                        what=what
                    ),
                )
        now = self.clock.now()
        organisation = Organisation(
            kind=kind,
            name_en=name_en,
            name_zh=name_zh,
            br_number=br_number,
            contact_email=contact_email,
            contact_phone=contact_phone,
            status=status,
            created_at=now,
        )
        self.session.add(organisation)
        self.session.flush()
        audit.append(
            self.session,
            kind=EventKind.ORGANISATION_CREATED,
            actor=by,
            at=now,
            payload={
                "organisation_id": str(organisation.id),
                "kind": kind.value,
                "name_en": name_en,
                "name_zh": name_zh,
                "br_number": br_number,
                "status": status.value,
            },
        )
        return organisation

    def create_user(
        self,
        *,
        name: str,
        organisation: str | Organisation,
        role: Role,
        email: str | None = None,
        password: str | None = None,
        covers: Sequence[Organisation] = (),
    ) -> tuple[User, str]:
        """Add a user and return it with an API token (shown once, stored only as a hash).

        ``organisation`` is the organisation or its English name (added if new, of the kind
        the role belongs to); with ``email`` and ``password`` the user can also sign in. An
        auditor is appointed to the organisations ``covers`` names, or to every one. Accounts
        are made by the platform's operator (the command line), so the audit event names the
        system as actor, and the token counts as made with a second factor: the operator
        vouches for it, so scripts can publish with it. It lasts until revoked.
        """
        org = (
            organisation
            if isinstance(organisation, Organisation)
            else self.organisation_named(organisation, kind=KIND_OF_ROLE[role])
        )
        user = self.add_person(
            name=name, organisation=org, role=role, email=email, password=password, covers=covers
        )
        return user, self.operator_token(user)

    def add_person(
        self,
        *,
        name: str,
        organisation: Organisation,
        role: Role,
        email: str | None,
        password: str | None,
        language: Language = Language.EN,
        by: str = audit.SYSTEM_ACTOR,
        covers: Sequence[Organisation] = (),
    ) -> User:
        """Add a user of ``organisation``, made by ``by`` (the audit trail's actor); an
        auditor is appointed to the organisations ``covers`` names (none: to every one)."""
        name = text.required(name, field=N_("name"), max_length=NAME_MAX)
        email = text.email(email, field=N_("email")) if email else None
        if email and self.session.scalar(select(User.id).where(User.email == email)):
            raise Conflict(
                _("An account with the email {email} already exists.").format(email=email),
                _("An email signs in to one account."),
                _("Use another email, or the account that has it."),
            )
        now = self.clock.now()
        org = organisation
        user = User(
            name=name,
            organisation_id=org.id,
            org=org,
            email=email,
            password_hash=credentials.hash_password(password) if password else None,
            language=language,
            role=role,
            created_at=now,
        )
        self.session.add(user)
        self.session.flush()
        if role is Role.AUDITOR:
            # No organisation named: a row without one, the appointment to every organisation.
            covered: list[uuid.UUID | None] = [o.id for o in covers]
            for organisation_id in covered or [None]:
                self.session.add(
                    AuditorAppointment(
                        auditor_id=user.id, organisation_id=organisation_id, appointed_at=now
                    )
                )
        audit.append(
            self.session,
            kind=EventKind.USER_CREATED,
            actor=by,
            at=now,
            payload={
                "user_id": str(user.id),
                "name": name,
                "organisation": org.name_en,
                "organisation_id": str(org.id),
                "role": role.value,
                **({"covers": [str(o.id) for o in covers]} if covers else {}),
            },
        )
        return user

    def operator_token(self, user: User) -> str:
        """A new API token for ``user``, made by the platform's operator (the command line):
        a second-factor token, until revoked."""
        _row, token = SignInService(session=self.session, clock=self.clock).issue_token(
            user,
            name="made by the operator",
            second_factor=True,
            expires_at=None,
            by=audit.SYSTEM_ACTOR,
        )
        return token

    def create_starter_accounts(self) -> list[StarterAccount]:
        """One officer, three suppliers and an auditor, for a platform with no users yet.

        Their tokens are the operator's (second-factor) tokens, so scripts can publish with
        them; each may sign in on the pages with its email and a random password; accounts
        whose role signs in with a code get an authenticator secret (``user.totp_secret``),
        for a tester to make codes with.
        """
        if self.session.scalar(select(User.id).limit(1)) is not None:
            return []
        accounts = []
        for name, org, role, email in STARTER_ACCOUNTS:
            password = secrets.token_urlsafe(12)
            user, token = self.create_user(
                name=name, organisation=org, role=role, email=email, password=password
            )
            if role in SECOND_FACTOR_ROLES:
                user.totp_secret = credentials.new_totp_secret()
                user.totp_confirmed_at = self.clock.now()
            accounts.append(StarterAccount(user, token, password))
        return accounts

    def certificates_of(self, organisation_id: uuid.UUID) -> list[SigningCertificate]:
        query = (
            select(SigningCertificate)
            .where(SigningCertificate.organisation_id == organisation_id)
            .order_by(SigningCertificate.registered_at)
        )
        return list(self.session.scalars(query))

    def signer_binding(self, user: User) -> SignerBinding:
        """Whose signatures count for ``user``'s organisation: its registered certificates."""
        return SignerBinding(
            organisation=user.organisation,
            fingerprints=frozenset(c.sha256 for c in self.certificates_of(user.organisation_id)),
        )


CHALLENGE_LIFETIME = timedelta(minutes=15)


@dataclass(frozen=True)
class Challenge:
    id: uuid.UUID
    text: str
    expires_at: datetime


@dataclass(frozen=True, kw_only=True)
class CertificateService:
    """Registering signing certificates, with proof that the organisation holds the key.

    A supplier asks for a challenge, signs its text with the certificate's key (a detached
    CAdES signature, as ``tender certificate register`` or ``tender sign`` make), and sends the
    signature back. The signature is verified as a bid's would be, now: a certificate that is
    not from an accepted authority, expired, revoked or not for signing is refused, and so is
    one another organisation registered. In the caller's transaction.
    """

    session: Session
    clock: Clock
    trust: TrustStore
    platform_name: str  # in the challenge text, so a signature is for this platform only

    def challenge(self, *, actor: User) -> Challenge:
        now = self.clock.now()
        expires = now + CHALLENGE_LIFETIME
        text = (
            "Tender: registration of a signing certificate\n"
            f"platform: {self.platform_name}\n"
            f"user: {actor.id}\n"
            f"organisation: {actor.organisation}\n"
            f"challenge: {secrets.token_hex(32)}\n"
            f"expires: {format_time(expires)}\n"
        )
        row = CertificateChallenge(user_id=actor.id, text=text, created_at=now, expires_at=expires)
        self.session.add(row)
        self.session.flush()
        return Challenge(row.id, text, expires)

    def register(
        self, *, actor: User, challenge_id: uuid.UUID, signature: bytes
    ) -> SigningCertificate:
        """Register the certificate that made ``signature`` (DER CMS) over the challenge."""
        now = self.clock.now()
        challenge = self.session.get(CertificateChallenge, challenge_id, with_for_update=True)
        if challenge is None or challenge.user_id != actor.id:
            raise NotFound(
                _("There is no such registration challenge for you."),
                _("A challenge is made for one user and can be answered only by them."),
                _("Ask for a new challenge (POST /api/account/certificates/challenges)."),
            )
        if challenge.used_at is not None or challenge.expires_at < now:
            raise Conflict(
                _("This registration challenge was already answered, or has expired."),
                _("Each challenge is good once, for {minutes} minutes.").format(
                    minutes=CHALLENGE_LIFETIME.seconds // 60
                ),
                _("Ask for a new challenge and sign it."),
            )
        challenge.used_at = now
        report = verify_document(
            io.BytesIO(challenge.text.encode()),
            detached_signature=io.BytesIO(signature),
            trust=self.trust,
            at=now,
        )
        if report.indication is not Indication.TOTAL_PASSED or not report.signatures:
            raise Invalid(
                _("The certificate cannot be registered."),
                _(
                    "Its signature over the challenge does not pass: {verdict} ({indication})"
                ).format(
                    verdict=report.message_zh
                    if current_locale() == HONG_KONG_CHINESE
                    else report.message_en,
                    indication=report.indication.value
                    + (f"/{report.sub_indication.value}" if report.sub_indication else ""),
                ),
                _(
                    "Sign the challenge with the key of a valid signing certificate from an "
                    "authority the platform accepts (an e-Cert, say); 'tender certificate "
                    "register' does it for you."
                ),
            )
        info = read_certificate(_signer_certificate(signature, report.signatures[0].signer_sha256))
        taken = self.session.scalar(
            select(SigningCertificate).where(SigningCertificate.sha256 == info.sha256)
        )
        if taken is not None and taken.organisation_id == actor.organisation_id:
            raise Conflict(
                _("This certificate is already registered for your organisation."),
                _("It was registered at {registered_at}.").format(
                    registered_at=format_time(taken.registered_at)
                ),
                _("Nothing to do."),
            )
        if taken is not None:
            raise Conflict(
                _("This certificate is registered to another organisation."),
                _("A certificate names one signer, so it can count for one organisation only."),
                _(
                    "Register your own organisation's certificate. If this one is yours, ask "
                    "the platform administrator to investigate: someone else holds its key."
                ),
            )
        certificate = SigningCertificate(
            organisation_id=actor.organisation_id,
            sha256=info.sha256,
            subject=info.subject,
            issuer=info.issuer,
            serial=info.serial,
            not_before=info.not_before,
            not_after=info.not_after,
            der=info.der,
            registered_by=actor.id,
            registered_at=now,
        )
        self.session.add(certificate)
        self.session.flush()
        audit.append(
            self.session,
            kind=EventKind.CERTIFICATE_REGISTERED,
            actor=actor.actor,
            at=now,
            payload={
                "organisation": actor.organisation,
                "sha256": info.sha256,
                "subject": info.subject,
                "issuer": info.issuer,
                "serial": info.serial,
                "proof_of_possession": str(challenge.id),
            },
        )
        return certificate


def _signer_certificate(signature: bytes, sha256: str | None) -> bytes:
    """The DER of the certificate with fingerprint ``sha256`` among those ``signature``
    carries (the signer's, found by the verification)."""
    signed = cms.ContentInfo.load(signature)["content"]
    for choice in signed["certificates"]:
        if choice.name == "certificate" and choice.chosen.sha256.hex() == sha256:
            der: bytes = choice.chosen.dump()
            return der
    raise Invalid(
        _("The signature does not carry its certificate."),
        _("The platform registers the certificate that made the signature, from the signature."),
        _("Sign again with a tool that includes the certificate ('tender certificate register')."),
    )
