"""Signing in and staying signed in: API tokens, browser sessions, TOTP second factor, and
the throttling of failed sign-ins. In the caller's transaction (it never commits).

Authentication is proportionate to risk: a password (or a token) to browse and ask; a second
factor (TOTP) at sign-in for officers and admins, and for anyone before what a route marks
``allow(..., second_factor=True)`` (publishing, awarding...). A caller has that second factor
when their session was signed in with a TOTP code, or their API token was made with one (or
by the platform's operator on the server, who vouches for it).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from tender import text
from tender.accounts import credentials
from tender.accounts.models import (
    ApiToken,
    BrowserSession,
    OrganisationStatus,
    Role,
    SignInFailure,
    User,
)
from tender.audit import service as audit
from tender.clock import Clock, format_time
from tender.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotAuthenticated,
    NotFound,
    Refusal,
    TooManyRequests,
)
from tender.i18n import gettext as _
from tender.i18n import gettext_noop as N_  # noqa: N812 (the name extractors look for)
from tender.verifier.kinds import EventKind

SECOND_FACTOR_ROLES = frozenset({Role.OFFICER, Role.ADMIN})
"""Roles that sign in with a TOTP code as well as a password."""

MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20  # higher: an office shares one address
LOCK_PERIOD = timedelta(minutes=15)
LAST_USED_PRECISION = timedelta(minutes=1)  # a busy token is not written on every request
MAX_TOKEN_DAYS = 366
TOKEN_NAME_MAX = 100  # the length of its column
ANONYMOUS_ACTOR = "anonymous"


@dataclass(frozen=True)
class Caller:
    """Who is calling and how they proved it (the middleware's ``request.auth``)."""

    user: User
    second_factor: bool
    # Signed in by a session cookie: the token each unsafe request must echo (CSRF).
    csrf_token: str | None = None
    session_id: uuid.UUID | None = None


def authenticate_token(session: Session, token: str, *, now: datetime) -> Caller:
    """The caller holding API token ``token``; refused if unknown, revoked or expired."""
    row = session.scalar(select(ApiToken).where(ApiToken.sha256 == credentials.digest(token)))
    if row is None:
        raise NotAuthenticated(
            _("Your token was not recognised."),
            _("It is mistyped, or the account was removed."),
            _(
                "Check the token, or make a new one (POST /api/account/tokens, or ask the "
                "platform administrator: tender users token)."
            ),
        )
    if row.revoked_at is not None:
        raise NotAuthenticated(
            _("Your token {name!r} was revoked at {revoked_at}.").format(
                name=row.name, revoked_at=format_time(row.revoked_at)
            ),
            _("A revoked token is never accepted again."),
            _("Make a new token (POST /api/account/tokens)."),
        )
    if row.expires_at is not None and row.expires_at <= now:
        raise NotAuthenticated(
            _("Your token {name!r} expired at {expires_at}.").format(
                name=row.name, expires_at=format_time(row.expires_at)
            ),
            _("Tokens are made for a limited time, so a forgotten one stops working by itself."),
            _("Make a new token (POST /api/account/tokens)."),
        )
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_PRECISION:
        row.last_used_at = now
    return Caller(user=_active(session, row.user_id), second_factor=row.second_factor)


def authenticate_cookie(session: Session, cookie: str, *, now: datetime) -> Caller:
    """The caller signed in with session cookie ``cookie``; refused if it ended or expired."""
    row = session.scalar(
        select(BrowserSession).where(BrowserSession.sha256 == credentials.digest(cookie))
    )
    if row is None or row.ended_at is not None or row.expires_at <= now:
        raise NotAuthenticated(
            _("Your session has ended."),
            _("You signed out, or it expired, or it was never valid."),
            _("Sign in again (POST /api/session)."),
        )
    return Caller(
        user=_active(session, row.user_id),
        second_factor=row.second_factor,
        csrf_token=row.csrf_token,
        session_id=row.id,
    )


def _active(session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    assert user is not None  # a foreign key guarantees it
    _refuse_unless_active(user)
    return user


def _refuse_unless_active(user: User) -> None:
    status = user.org.status
    if status is OrganisationStatus.ACTIVE:
        return
    raise NotAuthenticated(
        _("Your organisation, {organisation}, is {status}.").format(
            organisation=user.organisation, status=status.value
        ),
        _(
            "Accounts act for their organisation, which must be active: a new registration "
            "waits for its email to be confirmed and for an administrator to activate it; a "
            "suspended one waits for the administrator."
        ),
        _("Confirm your email if you have not; otherwise ask the platform administrator."),
    )


@dataclass(frozen=True)
class SignedIn:
    """A new browser session: the cookie's value and the CSRF token (both shown once)."""

    user: User
    cookie: str
    csrf_token: str
    second_factor: bool
    expires_at: datetime


@dataclass(frozen=True, kw_only=True)
class SignInService:
    """Sign-in, sign-out, API tokens and TOTP enrolment, in the caller's transaction."""

    session: Session
    clock: Clock
    session_lifetime: timedelta = timedelta(hours=12)

    def sign_in(
        self, *, email: str, password: str, code: str | None, address: str
    ) -> SignedIn | Refusal:
        """Open a browser session, or say why not.

        A failure is answered, not raised: it is counted and audited in this transaction, so
        the caller must commit it (raising would roll the count back).
        """
        now = self.clock.now()
        email = text.email(email, field=N_("email"))
        locked = self._locked_until(email, address, now)
        if locked is not None:
            return locked
        user = self.session.scalar(select(User).where(User.email == email))
        if not credentials.password_matches(user.password_hash if user else None, password):
            return self._failed(email, address, now, user, "wrong email or password")
        assert user is not None  # a password matched
        needs_code = user.role in SECOND_FACTOR_ROLES or user.totp_confirmed_at is not None
        if needs_code and (user.totp_secret is None or user.totp_confirmed_at is None):
            return Invalid(
                _("Your account needs a second factor, and has none yet."),
                _(
                    "Accounts with the role '{role}' sign in with a password and a code from an "
                    "authenticator app (TOTP)."
                ).format(role=user.role.value),
                _(
                    "Enrol an authenticator with your API token (POST /api/account/totp, then "
                    "confirm it with a code), or ask the platform administrator."
                ),
            )
        if needs_code and not code:
            return NotAuthenticated(
                _("A code from your authenticator app is needed."),
                _("Your account signs in with a second factor (TOTP)."),
                _(
                    "Send the six-digit code your app shows now as 'code', with your email and "
                    "password."
                ),
            )
        if needs_code:
            step = credentials.totp_step(user.totp_secret or "", code or "", at=now)
            if step is None:
                return self._failed(email, address, now, user, "wrong code")
            if not spend_code(self.session, user, step):
                return self._failed(
                    email, address, now, user, CODE_USED, refusal=_code_used(NotAuthenticated)
                )
        try:
            _refuse_unless_active(user)
        except Refusal as refusal:
            return refusal
        cookie, csrf = credentials.new_secret(), secrets.token_urlsafe(32)
        expires = now + self.session_lifetime
        row = BrowserSession(
            user_id=user.id,
            sha256=credentials.digest(cookie),
            csrf_token=csrf,
            second_factor=needs_code,
            created_at=now,
            expires_at=expires,
        )
        self.session.add(row)
        self.session.flush()
        audit.append(
            self.session,
            kind=EventKind.SIGNED_IN,
            actor=user.actor,
            at=now,
            payload={"session_id": str(row.id), "second_factor": needs_code},
        )
        return SignedIn(user, cookie, csrf, needs_code, expires)

    def _locked_until(self, email: str, address: str, now: datetime) -> Refusal | None:
        since = now - LOCK_PERIOD
        for column, value, limit, what in (
            (SignInFailure.email, email, MAX_FAILURES_PER_ACCOUNT, _("this account")),
            (SignInFailure.address, address, MAX_FAILURES_PER_ADDRESS, _("your address")),
        ):
            count, last = self.session.execute(
                select(func.count(), func.max(SignInFailure.at)).where(
                    column == value, SignInFailure.at > since
                )
            ).one()
            if count >= limit:
                until = last + LOCK_PERIOD
                return _Locked(
                    _("Signing in to {what} is locked until {until}.").format(
                        what=what, until=format_time(until)
                    ),
                    _(
                        "There were {count} failed sign-ins from it in the last {minutes} "
                        "minutes; the lock stops password guessing."
                    ).format(count=count, minutes=LOCK_PERIOD.seconds // 60),
                    _(
                        "Wait until then and sign in with the right password. If you did not "
                        "try to sign in, tell the platform administrator: someone else did."
                    ),
                    retry_after=until - now,
                )
        return None

    def _failed(
        self,
        email: str,
        address: str,
        now: datetime,
        user: User | None,
        reason: str,
        *,
        refusal: Refusal | None = None,
    ) -> Refusal:
        """Count and audit a failed sign-in; the answer is ``refusal`` (by default one that
        does not say what was wrong), or that signing in is now locked."""
        self.session.add(SignInFailure(email=email, address=address, at=now))
        self.session.flush()
        actor = user.actor if user else ANONYMOUS_ACTOR
        audit.append(
            self.session,
            kind=EventKind.SIGN_IN_FAILED,
            actor=actor,
            at=now,
            payload={"email": email, "address": address, "reason": reason},
        )
        locked = self._locked_until(email, address, now)
        if locked is not None:
            audit.append(
                self.session,
                kind=EventKind.SIGN_IN_THROTTLED,
                actor=actor,
                at=now,
                payload={"email": email, "address": address, "what": locked.what},
            )
            return locked
        return refusal or NotAuthenticated(
            _("The sign-in failed."),
            _(
                "The email, the password or the code is wrong (which one is not said, so "
                "guessing learns nothing). After {failures} failures signing in is locked for "
                "{minutes} minutes."
            ).format(failures=MAX_FAILURES_PER_ACCOUNT, minutes=LOCK_PERIOD.seconds // 60),
            _("Check them and try again."),
        )

    def sign_out(self, caller: Caller) -> None:
        if caller.session_id is None:
            raise Conflict(
                _("You are not signed in with a browser session."),
                _(
                    "This request came with an API token, which stays valid until it is revoked "
                    "or expires."
                ),
                _("Revoke the token instead (DELETE /api/account/tokens/{id})."),
            )
        row = self.session.get(BrowserSession, caller.session_id)
        assert row is not None  # the middleware found it
        row.ended_at = self.clock.now()

    def issue_token(
        self,
        user: User,
        *,
        name: str,
        second_factor: bool,
        expires_at: datetime | None,
        by: str,
    ) -> tuple[ApiToken, str]:
        """A new API token of ``user`` and its value (shown once, stored as its hash), made
        by ``by`` (the user, or the system for the operator)."""
        token = credentials.new_secret()
        row = ApiToken(
            user_id=user.id,
            name=name,
            sha256=credentials.digest(token),
            second_factor=second_factor,
            created_at=self.clock.now(),
            expires_at=expires_at,
        )
        self.session.add(row)
        self.session.flush()
        audit.append(
            self.session,
            kind=EventKind.TOKEN_CREATED,
            actor=by,
            at=row.created_at,
            payload={
                "token_id": str(row.id),
                "user_id": str(user.id),
                "name": name,
                "second_factor": second_factor,
                "expires_at": format_time(expires_at) if expires_at else None,
            },
        )
        return row, token

    def create_token(
        self, caller: Caller, *, name: str, days: int, code: str | None
    ) -> tuple[ApiToken, str]:
        """A token the caller makes for themselves; it carries the second factor if made with
        a TOTP code (or from a session that has one)."""
        name = text.required(name, field=N_("token name"), max_length=TOKEN_NAME_MAX)
        if not 1 <= days <= MAX_TOKEN_DAYS:
            raise Invalid(
                _("The token cannot last {days} days.").format(days=days),
                _("A token lasts 1 to {max_token_days} days.").format(
                    max_token_days=MAX_TOKEN_DAYS
                ),
                _("Choose how many days it lasts, and send it again."),
            )
        user = self._user(caller)
        if code:
            self._use_code(
                user,
                code,
                wrong=Invalid(
                    _("The code is not the one your authenticator shows now."),
                    _(
                        "A token made with a code may do what needs a second factor, so the code "
                        "must be right."
                    ),
                    _(
                        "Send the current code, or leave it out for a token without a second "
                        "factor."
                    ),
                ),
            )
        return self.issue_token(
            user,
            name=name,
            # A session's second factor passes to the token made from it; a token's does not
            # (a stolen token must not mint more capable ones for longer).
            second_factor=bool(code) or (caller.second_factor and caller.session_id is not None),
            expires_at=self.clock.now() + timedelta(days=days),
            by=user.actor,
        )

    def tokens_of(self, user: User) -> list[ApiToken]:
        query = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at)
        return list(self.session.scalars(query))

    def revoke_token(self, user: User, token_id: uuid.UUID) -> ApiToken:
        row = self.session.get(ApiToken, token_id)
        if row is None or row.user_id != user.id:
            raise NotFound(
                _("You have no token {token_id}.").format(token_id=token_id),
                _("Each person lists and revokes their own tokens only."),
                _("GET /api/account/tokens lists yours."),
            )
        if row.revoked_at is None:
            row.revoked_at = self.clock.now()
            audit.append(
                self.session,
                kind=EventKind.TOKEN_REVOKED,
                actor=user.actor,
                at=row.revoked_at,
                payload={"token_id": str(row.id), "name": row.name},
            )
        return row

    def set_password(self, caller: Caller, *, password: str, current: str | None) -> int:
        """Set the caller's password; changing one needs the current one (or a second
        factor), so that a stolen token or an unattended browser cannot take the account.

        Ends the user's other browser sessions (a password is changed when it may be known to
        someone else, who may be signed in with it) and returns how many; API tokens stay, to
        be revoked one by one."""
        user = self._user(caller)
        problem = credentials.password_problem(password)
        if problem is not None:
            raise Invalid(_("The password cannot be used."), problem, _("Choose another one."))
        if (
            user.password_hash is not None
            and not caller.second_factor
            and not credentials.password_matches(user.password_hash, current or "")
        ):
            raise Invalid(
                _("The current password is wrong."),
                _("Changing a password needs the current one."),
                _("Send it as 'current_password', or ask the platform administrator."),
            )
        if user.email is None:
            raise Conflict(
                _("Your account has no email to sign in with."),
                _("A password signs in together with the account's email."),
                _("Ask the platform administrator to add your email."),
            )
        now = self.clock.now()
        user.password_hash = credentials.hash_password(password)
        others = [
            row
            for row in self.session.scalars(
                select(BrowserSession).where(
                    BrowserSession.user_id == user.id,
                    BrowserSession.ended_at.is_(None),
                    BrowserSession.expires_at > now,
                )
            )
            if row.id != caller.session_id
        ]
        for row in others:
            row.ended_at = now
        audit.append(
            self.session,
            kind=EventKind.PASSWORD_SET,
            actor=user.actor,
            at=now,
            payload={"user_id": str(user.id), "sessions_ended": len(others)},
        )
        return len(others)

    def enrol_totp(self, caller: Caller) -> tuple[str, str]:
        """A new TOTP secret for the caller and its otpauth URI; in use once confirmed."""
        user = self._user(caller)
        if user.totp_confirmed_at is not None and not caller.second_factor:
            raise Conflict(
                _("Your account has an authenticator already."),
                _(
                    "Replacing it needs the second factor it gives, so that a stolen password "
                    "cannot replace it."
                ),
                _("Sign in with a code first, or ask the platform administrator to reset it."),
            )
        user.totp_secret = credentials.new_totp_secret()
        user.totp_confirmed_at = None
        user.totp_last_step = None  # steps used with the old secret say nothing of the new
        account = user.email or user.name
        return user.totp_secret, credentials.totp_uri(user.totp_secret, account=account)

    def confirm_totp(self, caller: Caller, code: str) -> None:
        user = self._user(caller)
        if user.totp_secret is None:
            raise Conflict(
                _("There is no authenticator to confirm."),
                _("Enrolment gives a secret first; the code confirms the app holds it."),
                _("Enrol first (POST /api/account/totp)."),
            )
        self._use_code(
            user,
            code,
            wrong=Invalid(
                _("The code is not the one your authenticator should show now."),
                _("The app may hold another secret, or the phone's clock may be wrong."),
                _(
                    "Check the app holds the secret just given and its clock, and send the "
                    "current code."
                ),
            ),
        )
        user.totp_confirmed_at = self.clock.now()
        audit.append(
            self.session,
            kind=EventKind.TOTP_ENROLLED,
            actor=user.actor,
            at=user.totp_confirmed_at,
            payload={"user_id": str(user.id)},
        )

    def _use_code(self, user: User, code: str, *, wrong: Refusal) -> None:
        """Accept ``code`` as the user's current TOTP code, once: raise ``wrong`` if it is not,
        or a refusal (audited as a failed sign-in) if it, or a later one, was accepted
        already."""
        step = (
            None
            if user.totp_secret is None
            else credentials.totp_step(user.totp_secret, code, at=self.clock.now())
        )
        if step is None:
            raise wrong
        if not spend_code(self.session, user, step):
            raise _code_used(Forbidden)

    def _user(self, caller: Caller) -> User:
        """The caller's user in this transaction (the middleware's copy is detached)."""
        user = self.session.get(User, caller.user.id)
        assert user is not None
        return user


CODE_USED = "code used already"


def spend_code(session: Session, user: User, step: int) -> bool:
    """Spend the user's code of time-step ``step``, unless it (or a later one) is spent: RFC
    6238 (5.2) accepts each code once, so one seen over a shoulder or caught in transit cannot
    be used again in its window. One conditional UPDATE, so two requests racing with the same
    code cannot both spend it."""
    spent = session.scalar(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .returning(User.id)
        .execution_options(synchronize_session=False)
    )
    if spent is None:
        return False
    session.refresh(user, ["totp_last_step"])
    return True


def _code_used(refusal: type[Refusal]) -> Refusal:
    return refusal(
        _("This code from your authenticator was used already."),
        _(
            "Each code is accepted once, so that someone who saw or caught it cannot use it "
            "again; a code of the same 30 seconds, or an earlier one, is refused too."
        ),
        _(
            "Wait until your authenticator shows the next code (at most 30 seconds) and send "
            "that one."
        ),
        audit_kind=EventKind.SIGN_IN_FAILED,
        details={"reason": CODE_USED},
    )


class _Locked(TooManyRequests):
    """Signing in is locked for a while; the answer says until when."""

    def __init__(self, what: str, why: str, todo: str, *, retry_after: timedelta) -> None:
        super().__init__(what, why, todo)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(max(1, int(self.retry_after.total_seconds())))}
