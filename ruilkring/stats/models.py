"""Ties (who traded with whom), the contact question, the yearly survey and rollups."""

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ruilkring import clock
from ruilkring.extensions import db
from ruilkring.types import UTCDateTime, str_enum


class Tie(db.Model):
    """An unordered pair of members of one ring who traded. Formed by their first trade
    that still stands (reversed trades do not count); maintained by the ledger's write
    path in the same transaction and rebuildable from the transfers."""

    __tablename__ = "ties"
    __table_args__ = (
        UniqueConstraint("ring_id", "member_low_id", "member_high_id"),
        CheckConstraint("member_low_id < member_high_id", name="ordered_pair"),
        CheckConstraint("trade_count >= 0", name="count_not_negative"),
        Index("ix_ties_ring_first_date", "ring_id", "first_date"),
        Index("ix_ties_member_high", "member_high_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ring_id: Mapped[int] = mapped_column(ForeignKey("rings.id"))
    member_low_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    member_high_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    first_transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id"))
    first_date: Mapped[date | None] = mapped_column(Date)
    last_date: Mapped[date | None] = mapped_column(Date)
    # Trades that stand (not reversed). Zero: the pair traded only by mistake; no tie.
    trade_count: Mapped[int] = mapped_column(default=0)
    minutes: Mapped[int] = mapped_column(default=0)
    # The two sides' answers to the contact question, counted here by ``tie_answer`` (and
    # repaired by ``ties_rebuild``) so the dashboards need no join: "ja", and "nee" or
    # "van gezicht". A new contact has two answers and no "ja".
    answers_yes: Mapped[int] = mapped_column(default=0, server_default="0")
    answers_other: Mapped[int] = mapped_column(default=0, server_default="0")

    member_low = relationship("Member", foreign_keys=[member_low_id])
    member_high = relationship("Member", foreign_keys=[member_high_id])


class ContactAnswer(enum.StrEnum):
    """"Kende je deze persoon al vóór deze ruil?\""""

    YES = "yes"  # ja
    BY_SIGHT = "by_sight"  # van gezicht
    NO = "no"  # nee
    SKIPPED = "skipped"  # would rather not say: counted as unknown


class TieAnswer(db.Model):
    """One side's answer to the contact question, asked once per tie."""

    __tablename__ = "tie_answers"
    __table_args__ = (
        UniqueConstraint("tie_id", "member_id"),
        Index("ix_tie_answers_ring_id", "ring_id", "id"),  # the dashboards' newest answer
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ring_id: Mapped[int] = mapped_column(ForeignKey("rings.id"))
    tie_id: Mapped[int] = mapped_column(ForeignKey("ties.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    answer: Mapped[ContactAnswer] = mapped_column(str_enum(ContactAnswer))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Survey(db.Model):
    """The optional yearly survey a coordinator opens for a period."""

    __tablename__ = "surveys"
    __table_args__ = (CheckConstraint("opens_on <= closes_on", name="period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ring_id: Mapped[int] = mapped_column(ForeignKey("rings.id"), index=True)
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class SurveyParticipation(db.Model):
    """That a member answered (so nobody answers twice), kept apart from what they
    answered: responses carry no member, so answers are aggregated only."""

    __tablename__ = "survey_participations"
    __table_args__ = (UniqueConstraint("survey_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))


class SurveyResponse(db.Model):
    """Anonymous answers: belonging (1-5), new people met through the ring (0, 1-2, 3-5,
    6+), and whether help is available when needed (yes/no/don't know)."""

    __tablename__ = "survey_responses"
    __table_args__ = (CheckConstraint("belonging BETWEEN 1 AND 5", name="belonging_scale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"), index=True)
    belonging: Mapped[int]
    new_people: Mapped[str] = mapped_column(db.String(10))
    help_available: Mapped[str] = mapped_column(db.String(10))


class MemberMonth(db.Model):
    """Rollup: one member's trades in one month (derived; rebuilt by ``stats refresh``)."""

    __tablename__ = "stats_member_months"
    __table_args__ = (Index("ix_stats_member_months_ring_month", "ring_id", "month"),)

    ring_id: Mapped[int] = mapped_column(ForeignKey("rings.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # first day of the month
    trades_given: Mapped[int] = mapped_column(default=0)
    trades_received: Mapped[int] = mapped_column(default=0)
    minutes_given: Mapped[int] = mapped_column(default=0)
    minutes_received: Mapped[int] = mapped_column(default=0)
