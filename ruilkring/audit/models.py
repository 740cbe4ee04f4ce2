"""Audit events: who did what, when, with old and new values and a reason."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ruilkring import clock
from ruilkring.extensions import db
from ruilkring.types import UTCDateTime


class AuditEvent(db.Model):
    """One coordinator or admin action. Rows are only ever inserted."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ring_id: Mapped[int | None] = mapped_column(ForeignKey("rings.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    subject_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    action: Mapped[str] = mapped_column(String(60))
    old: Mapped[dict | None] = mapped_column(JSON)
    new: Mapped[dict | None] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)

    actor = relationship("User")
    subject = relationship("Member")
