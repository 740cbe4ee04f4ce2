"""Conversations and their messages."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ruilkring import clock
from ruilkring.extensions import db
from ruilkring.types import UTCDateTime


class Conversation(db.Model):
    """Two members talking, about a listing or not. ``starter`` wrote first (for a
    listing: the one who reacted); each side's last read time drives the unread counter."""

    __tablename__ = "conversations"
    __table_args__ = (
        CheckConstraint("starter_id <> other_id", name="two_people"),
        UniqueConstraint("listing_id", "starter_id"),
        Index("ix_conversations_starter", "starter_id", "last_message_at"),
        Index("ix_conversations_other", "other_id", "last_message_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ring_id: Mapped[int] = mapped_column(ForeignKey("rings.id"))
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id"))
    starter_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    other_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    starter_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    other_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    listing = relationship("Listing")
    starter = relationship("Member", foreign_keys=[starter_id])
    other = relationship("Member", foreign_keys=[other_id])
    messages: Mapped[list["Message"]] = relationship(back_populates="conversation", order_by="Message.id")

    def partner_of(self, member):
        return self.other if member.id == self.starter_id else self.starter


class Message(db.Model):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")
    sender = relationship("Member")
