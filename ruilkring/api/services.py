"""Writes and look-ups of personal API tokens. Nothing here commits."""

import hashlib
import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ruilkring import clock
from ruilkring.api.models import ApiToken
from ruilkring.audit.services import audit_record
from ruilkring.auth.models import User
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.members.models import Member

TOKEN_PREFIX = "rk_"
MAX_NAME = 80
# last_used_at is written at most once a minute, not on every request
LAST_USED_PRECISION = timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_token_create(*, member: Member, name: str, created_by: User) -> tuple[ApiToken, str]:
    """Make a token for ``member``; returns the row and the token, which is shown once
    and never stored."""
    name = name.strip()
    if not name:
        raise DomainError(_l("Geef de sleutel een naam, bijvoorbeeld waar u hem voor gebruikt."), field="name")
    if len(name) > MAX_NAME:
        raise DomainError(_l("De naam is te lang (hoogstens %(n)d tekens).", n=MAX_NAME), field="name")
    if not member.has_access:
        raise DomainError(_l("Alleen actieve leden kunnen een API-sleutel maken."))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(member_id=member.id, name=name, token_hash=_hash(token), hint=token[:8],
                   created_by_id=created_by.id)
    db.session.add(row)
    db.session.flush()
    if created_by.id != member.user_id:
        audit_record(actor=created_by, action="api_token.create", subject=member,
                     new={"token": row.id, "name": name})
    return row, token


def api_token_revoke(*, token: ApiToken, revoked_by: User) -> None:
    """Stop a token from working; revoking twice changes nothing."""
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        if revoked_by.id != token.member.user_id:
            audit_record(actor=revoked_by, action="api_token.revoke", subject=token.member,
                         new={"token": token.id})


def api_token_authenticate(token: str) -> ApiToken | None:
    """The token's row if it exists and is not revoked (its last use is noted, to the
    minute), else None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    now = clock.now()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_PRECISION:
        row.last_used_at = now
    return row
