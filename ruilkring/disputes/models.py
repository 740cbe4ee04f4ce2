"""Disputes about transfers and the timeline of each case."""

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ruilkring import clock
from ruilkring.extensions import db
from ruilkring.types import UTCDateTime, str_enum


class DisputeReason(enum.StrEnum):
    NOT_DELIVERED = "not_delivered"
    WRONG_AMOUNT = "wrong_amount"
    NOT_AGREED = "not_agreed"
    OTHER = "other"


class DisputeRequest(enum.StrEnum):
    """What the opener asks for."""

    FULL_REVERSAL = "full_reversal"
    PARTIAL_CORRECTION = "partial_correction"
    TALK = "talk"


class DisputeStatus(enum.StrEnum):
    OPEN = "open"
    IN_MEDIATION = "in_mediation"
    RESOLVED = "resolved"
    WITHDRAWN = "withdrawn"


OPEN_STATUSES = (DisputeStatus.OPEN, DisputeStatus.IN_MEDIATION)


class DisputeOutcome(enum.StrEnum):
    AGREEMENT = "agreement"  # agreed, no change on the books
    FULL_REVERSAL = "full_reversal"
    PARTIAL_CORRECTION = "partial_correction"
    NO_ACTION = "no_action"  # with a reason


class EventKind(enum.StrEnum):
    OPENED = "opened"
    RESPONSE = "response"  # a party writes
    MESSAGE = "message"  # a coordinator writes to both parties
    NOTE = "note"  # a coordinator's private note, never shown to the parties
    TAKEN = "taken"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"
    WITHDRAWN = "withdrawn"


class Dispute(db.Model):
    """A contested transfer. The transfer stays on the books; at most one open dispute
    per transfer (a partial unique index backs that up)."""

    __tablename__ = "disputes"
    __table_args__ = (
        Index("uq_disputes_open_transfer", "transfer_id", unique=True,
              sqlite_where=db.text("status IN ('open', 'in_mediation')"),
              postgresql_where=db.text("status IN ('open', 'in_mediation')")),
        Index("ix_disputes_ring_status", "ring_id", "status"),
        CheckConstraint("outcome_amount IS NULL OR outcome_amount > 0", name="outcome_amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ring_id: Mapped[int] = mapped_column(ForeignKey("rings.id"))
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"))
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    reason: Mapped[DisputeReason] = mapped_column(str_enum(DisputeReason))
    asked: Mapped[DisputeRequest] = mapped_column(str_enum(DisputeRequest))
    explanation: Mapped[str] = mapped_column(Text)
    status: Mapped[DisputeStatus] = mapped_column(str_enum(DisputeStatus), default=DisputeStatus.OPEN)
    mediator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    second_mediator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[DisputeOutcome | None] = mapped_column(str_enum(DisputeOutcome))
    outcome_amount: Mapped[int | None]  # minutes, for a partial correction
    # For a partial correction: True when the payee pays (part) back to the payer.
    outcome_back_to_payer: Mapped[bool | None]
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    resolution_transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    transfer = relationship("Transfer", foreign_keys=[transfer_id])
    resolution_transfer = relationship("Transfer", foreign_keys=[resolution_transfer_id])
    opened_by = relationship("Member")
    mediator = relationship("User", foreign_keys=[mediator_id])
    second_mediator = relationship("User", foreign_keys=[second_mediator_id])
    events: Mapped[list["DisputeEvent"]] = relationship(back_populates="dispute", order_by="DisputeEvent.id")


class DisputeEvent(db.Model):
    """One step in a case's timeline. ``private`` events are coordinators' notes."""

    __tablename__ = "dispute_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("disputes.id"), index=True)
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text, default="")
    private: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    dispute: Mapped[Dispute] = relationship(back_populates="events")
    author = relationship("User")
