"""Rings, municipalities and neighbourhoods."""

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ruilkring import clock
from ruilkring.extensions import db
from ruilkring.types import UTCDateTime


class Municipality(db.Model):
    """A gemeente: funds rings and reads their aggregate figures."""

    __tablename__ = "municipalities"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)

    neighbourhoods: Mapped[list["Neighbourhood"]] = relationship(
        back_populates="municipality", order_by="Neighbourhood.name"
    )
    rings: Mapped[list["Ring"]] = relationship(back_populates="municipality", order_by="Ring.name")


class Neighbourhood(db.Model):
    """A wijk of a gemeente; members name the one they live in."""

    __tablename__ = "neighbourhoods"
    __table_args__ = (UniqueConstraint("municipality_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))

    municipality: Mapped[Municipality] = relationship(back_populates="neighbourhoods")


ring_neighbourhoods = Table(
    "ring_neighbourhoods",
    db.Model.metadata,
    Column("ring_id", ForeignKey("rings.id"), primary_key=True),
    Column("neighbourhood_id", ForeignKey("neighbourhoods.id"), primary_key=True),
)


class Ring(db.Model):
    """One ruilkring (LETS group). Limits are integer minutes."""

    __tablename__ = "rings"
    __table_args__ = (
        CheckConstraint("default_min_balance <= 0", name="min_not_positive"),
        CheckConstraint("default_max_balance >= 0", name="max_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), index=True)
    currency_name: Mapped[str] = mapped_column(String(30), default="uur")
    default_min_balance: Mapped[int] = mapped_column(default=-20 * 60)
    default_max_balance: Mapped[int] = mapped_column(default=40 * 60)
    description: Mapped[str] = mapped_column(Text, default="")
    house_rules: Mapped[str] = mapped_column(Text, default="")
    house_rules_version: Mapped[int] = mapped_column(default=1)
    payment_request_days: Mapped[int] = mapped_column(default=30)
    dispute_days: Mapped[int] = mapped_column(default=60)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    municipality: Mapped[Municipality] = relationship(back_populates="rings")
    neighbourhoods: Mapped[list[Neighbourhood]] = relationship(
        secondary=ring_neighbourhoods, order_by=Neighbourhood.name
    )
