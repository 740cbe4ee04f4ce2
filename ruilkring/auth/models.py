"""Login identities: one per person, whatever rings they belong to."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ruilkring import clock
from ruilkring.extensions import db
from ruilkring.types import UTCDateTime


class User(UserMixin, db.Model):
    """A person who can log in. Rings are joined through ``Member`` rows.

    ``municipality_id`` makes the user a read-only viewer of that gemeente's figures;
    ``is_admin`` makes them a platform administrator.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(40), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    locale: Mapped[str] = mapped_column(String(5), default="nl")
    is_admin: Mapped[bool] = mapped_column(default=False)
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipalities.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    municipality = relationship("Municipality")
    memberships = relationship("Member", back_populates="user", foreign_keys="Member.user_id")

    @property
    def is_active(self) -> bool:  # Flask-Login: erased users cannot log in
        return self.erased_at is None
