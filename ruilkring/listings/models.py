"""Listings (offers and requests), the ring's categories and listing pictures."""

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ruilkring import clock
from ruilkring.extensions import db
from ruilkring.types import UTCDateTime, str_enum


class ListingKind(enum.StrEnum):
    OFFER = "offer"  # aanbod
    REQUEST = "request"  # vraag


class HelpKind(enum.StrEnum):
    """The three kinds of mutual help of social-cohesion research (DESIGN, M12)."""

    PRACTICAL = "practical"
    SOCIAL_EMOTIONAL = "social_emotional"
    INFORMATIVE = "informative"


class ListingPlace(enum.StrEnum):
    AT_HOME = "at_home"  # bij de ander thuis
    AT_MY_PLACE = "at_my_place"  # bij mij
    ONLINE = "online"
    IN_NEIGHBOURHOOD = "in_neighbourhood"  # ergens in de wijk


class ListingStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"  # the owner took it offline for a while
    CLOSED = "closed"  # done or withdrawn
    HIDDEN = "hidden"  # a coordinator hid it for breaking the house rules


class Category(db.Model):
    """One of a ring's own categories. ``care`` marks care and health categories, which
    municipality figures merge into one group (DESIGN, privacy rule 7)."""

    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("ring_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ring_id: Mapped[int] = mapped_column(ForeignKey("rings.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(default=0)
    care: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)


class Listing(db.Model):
    """An offer or request. Visible to the ring's members while active and not expired."""

    __tablename__ = "listings"
    __table_args__ = (
        # Covers the visibility filter of every search (the owner's status is joined).
        Index("ix_listings_ring_status_valid", "ring_id", "status", "valid_until", "owner_id"),
        Index("ix_listings_owner", "owner_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ring_id: Mapped[int] = mapped_column(ForeignKey("rings.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[ListingKind] = mapped_column(str_enum(ListingKind))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    help_kind: Mapped[HelpKind] = mapped_column(str_enum(HelpKind))
    time_estimate: Mapped[int | None]  # minutes, an indication
    place: Mapped[ListingPlace] = mapped_column(str_enum(ListingPlace), default=ListingPlace.IN_NEIGHBOURHOOD)
    status: Mapped[ListingStatus] = mapped_column(str_enum(ListingStatus), default=ListingStatus.ACTIVE)
    hidden_reason: Mapped[str] = mapped_column(Text, default="")
    valid_until: Mapped[date] = mapped_column(Date)
    expiry_reminded_on: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    owner = relationship("Member")
    category = relationship("Category")
    pictures: Mapped[list["ListingPicture"]] = relationship(
        back_populates="listing", order_by="ListingPicture.id")


class ListingPicture(db.Model):
    """A checked, resized picture without metadata, stored under the instance folder."""

    __tablename__ = "listing_pictures"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    filename: Mapped[str] = mapped_column(String(80), unique=True)
    width: Mapped[int]
    height: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    listing: Mapped[Listing] = relationship(back_populates="pictures")
