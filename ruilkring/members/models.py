"""A person's membership of one ring."""

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ruilkring import clock
from ruilkring.extensions import db
from ruilkring.types import UTCDateTime, str_enum


class MemberStatus(enum.StrEnum):
    PENDING = "pending"  # signed up, waiting for a coordinator
    DECLINED = "declined"  # sign-up refused; kept for the record
    ACTIVE = "active"
    INACTIVE = "inactive"  # paused by a coordinator; cannot log in to the ring
    LEAVING = "leaving"  # may only trade towards a zero balance
    LEFT = "left"


class MemberRole(enum.StrEnum):
    MEMBER = "member"
    COORDINATOR = "coordinator"


# Statuses whose members may use the ring's pages.
ACCESS_STATUSES = (MemberStatus.ACTIVE, MemberStatus.LEAVING)


class Member(db.Model):
    """A user in a ring, with role, status, wijk and what they share with other members."""

    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("ring_id", "user_id"),
        CheckConstraint("birth_year IS NULL OR birth_year BETWEEN 1900 AND 2100", name="birth_year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ring_id: Mapped[int] = mapped_column(ForeignKey("rings.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[MemberRole] = mapped_column(str_enum(MemberRole), default=MemberRole.MEMBER)
    status: Mapped[MemberStatus] = mapped_column(
        str_enum(MemberStatus), default=MemberStatus.PENDING, index=True
    )
    neighbourhood_id: Mapped[int | None] = mapped_column(ForeignKey("neighbourhoods.id"))
    birth_year: Mapped[int | None]
    bio: Mapped[str] = mapped_column(Text, default="")
    share_email: Mapped[bool] = mapped_column(default=False)
    share_phone: Mapped[bool] = mapped_column(default=False)
    share_address: Mapped[bool] = mapped_column(default=False)
    house_rules_accepted_version: Mapped[int] = mapped_column(default=0)
    digest_opt_out: Mapped[bool] = mapped_column(default=False)
    # ISO week ('2026-W47') of the last weekly digest sent, so cron never sends one twice.
    digest_last_week: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    ring = relationship("Ring")
    user = relationship("User", back_populates="memberships", foreign_keys=[user_id])
    neighbourhood = relationship("Neighbourhood")

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def is_coordinator(self) -> bool:
        return self.role == MemberRole.COORDINATOR and self.status in ACCESS_STATUSES

    @property
    def has_access(self) -> bool:
        return self.status in ACCESS_STATUSES
