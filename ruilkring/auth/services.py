"""Writes and checks for login identities and their passwords."""

import hashlib

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from ruilkring import clock
from ruilkring.auth.models import User
from ruilkring.errors import DomainError
from ruilkring.extensions import db

# Checked against when the e-mail is unknown, so a wrong address takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a real password")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def is_placeholder_email(email: str) -> bool:
    """An address under the reserved ``invalid`` domain, given to an erased member or to
    an imported member without e-mail: nobody can receive mail there."""
    return email.endswith("@invalid")


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def password_check_rules(password: str) -> None:
    """Refuse a password that is too short."""
    minimum = current_app.config["MIN_PASSWORD_LENGTH"]
    if len(password) < minimum:
        raise DomainError(
            _l("Kies een wachtwoord van minstens %(n)d tekens.", n=minimum), field="password"
        )


def password_set(*, user: User, password: str) -> None:
    """Give ``user`` a new password (scrypt hash). Outstanding reset links stop working."""
    password_check_rules(password)
    user.password_hash = generate_password_hash(password)


def user_authenticate(*, email: str, password: str) -> User | None:
    """The user with this e-mail and password, or None. Erased users never match."""
    user = user_by_email(email)
    if user is None or user.password_hash is None or not user.is_active:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    user.last_login_at = clock.now()
    return user


def password_change(*, user: User, current_password: str, new_password: str) -> None:
    """Change the password after checking the current one."""
    if not user.password_hash or not check_password_hash(user.password_hash, current_password):
        raise DomainError(_l("Het huidige wachtwoord klopt niet."), field="current_password")
    password_set(user=user, password=new_password)


# Password reset and invitation links. The token carries a fingerprint of the password
# hash: setting a password changes the hash, so each link works once.

class _ClockSigner(TimestampSigner):
    """Dates tokens by ``ruilkring.clock``, so tests can let them expire."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt=f"ruilkring-{purpose}", signer=_ClockSigner
    )


def _fingerprint(user: User) -> str:
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def password_token_create(*, user: User, purpose: str = "reset") -> str:
    """A signed link token to set a password: ``reset`` (short-lived) or ``invite``."""
    return _serializer(purpose).dumps({"user": user.id, "fp": _fingerprint(user)})


def password_token_user(token: str, *, purpose: str = "reset") -> User:
    """The user a valid token is for; DomainError if it expired, was used or is garbage."""
    max_age = current_app.config["INVITE_MAX_AGE" if purpose == "invite" else "PASSWORD_RESET_MAX_AGE"]
    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise DomainError(_l("Deze link is verlopen. Vraag een nieuwe aan.")) from None
    except BadSignature:
        raise DomainError(_l("Deze link is ongeldig. Vraag een nieuwe aan.")) from None
    user = db.session.get(User, data.get("user")) if isinstance(data, dict) else None
    if user is None or not user.is_active or data.get("fp") != _fingerprint(user):
        raise DomainError(_l("Deze link is al gebruikt. Vraag een nieuwe aan."))
    return user


def user_update_account(*, user: User, name: str, phone: str, address: str, locale: str) -> None:
    """Change the user's own name, contact details and language."""
    if locale not in current_app.config["LANGUAGES"]:
        raise DomainError(_l("Kies een taal uit de lijst."), field="locale")
    user.name = name.strip()
    user.phone = phone.strip()
    user.address = address.strip()
    user.locale = locale
