"""Reads of API tokens."""

from sqlalchemy import select

from ruilkring.api.models import ApiToken
from ruilkring.auth.models import User
from ruilkring.extensions import db
from ruilkring.members.models import Member


def user_api_tokens(*, user: User) -> list[ApiToken]:
    """All tokens of a user's memberships, newest first."""
    return list(db.session.scalars(
        select(ApiToken).join(Member, Member.id == ApiToken.member_id)
        .where(Member.user_id == user.id).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ))
