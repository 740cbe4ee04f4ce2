"""Personal API tokens. Only a hash of the token is stored; the token itself is shown
once, when it is made."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ruilkring import clock
from ruilkring.extensions import db
from ruilkring.types import UTCDateTime


class ApiToken(db.Model):
    """A token that acts as one membership (a ring and a role) through the JSON API."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    # sha256 (hex) of the token; the token is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, so its owner can tell tokens apart.
    hint: Mapped[str] = mapped_column(String(12))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    member = relationship("Member")
    created_by = relationship("User")

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
