"""In-app notifications shown in the header and on the member's start page."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ruilkring import clock
from ruilkring.extensions import db
from ruilkring.types import UTCDateTime


class Notification(db.Model):
    """A message for one user; ``text`` is already in the user's language."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    ring_id: Mapped[int | None] = mapped_column(ForeignKey("rings.id"))
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
