"""What people prove who they are with: passwords (argon2id), TOTP codes (RFC 6238) and
random tokens (API tokens, session cookies, confirmation links), stored only as hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tender.i18n import gettext as _

ISSUER = "Tender"  # what an authenticator app shows beside the account
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256  # argon2 takes any length; a bound keeps hashing cheap to refuse

_hasher = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters
# Verified against when the account does not exist, so a wrong address takes as long as a
# wrong password and timing does not tell which accounts exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def new_secret() -> str:
    """A 256-bit random token, URL-safe."""
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """How a random token is stored: its SHA-256 (it is unguessable, so no stretching)."""
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(stored: str | None, password: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from (None: no password; the
    check still takes as long). One longer than any password may be is refused unhashed:
    hashing megabytes sent to the sign-in would be work for nothing."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    """Why ``password`` cannot be used, or None."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        return _(
            "A password has {min_length} to {max_length} characters; a long passphrase of "
            "ordinary words is easy to remember and hard to guess."
        ).format(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
    return None


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, *, account: str) -> str:
    """The otpauth:// URI an authenticator app reads (as a QR code or typed in)."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def totp_step(secret: str, code: str, *, at: datetime) -> int | None:
    """The time-step (RFC 6238's T) whose TOTP of ``secret`` is ``code``, within one 30-second
    step of ``at`` (clocks of phones drift); None if it is none of them. The caller refuses a
    step at or before the last one accepted, so that a code is used once."""
    code = code.strip().replace(" ", "")
    if not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(at)
    for step in (now - 1, now, now + 1):
        if hmac.compare_digest(code, totp.generate_otp(step)):
            return step
    return None


def totp_now(secret: str, *, at: datetime) -> str:
    """The code an authenticator app shows at ``at`` (for tests and the starter accounts)."""
    return pyotp.TOTP(secret).at(at)
