"""Reads for conversations: a member's inbox and the unread counter in the header.

A conversation is unread for a member when the partner wrote a message after the
member's last read time (or the member never opened it).
"""

from dataclasses import dataclass

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import selectinload

from ruilkring.extensions import db
from ruilkring.members.models import Member
from ruilkring.messages.models import Conversation, Message


def _unread_for(member_ids):
    """SQL: the conversation has a message from the partner of whichever of ``member_ids``
    takes part in it, newer than that member's read time."""
    starter_is_me = Conversation.starter_id.in_(member_ids)
    me = case((starter_is_me, Conversation.starter_id), else_=Conversation.other_id)
    my_read_at = case((starter_is_me, Conversation.starter_read_at), else_=Conversation.other_read_at)
    return exists().where(
        Message.conversation_id == Conversation.id,
        Message.sender_id != me,
        or_(my_read_at.is_(None), Message.created_at > my_read_at),
    )


def _taking_part(member_ids):
    return or_(Conversation.starter_id.in_(member_ids), Conversation.other_id.in_(member_ids))


@dataclass(frozen=True)
class ConversationRow:
    """One line of the inbox."""

    conversation: Conversation
    partner: Member
    unread: bool
    last_message: Message | None


def member_conversations(*, member: Member) -> list[ConversationRow]:
    """The member's conversations, newest message first, with partner, last message and
    whether something in it is unread."""
    ids = [member.id]
    rows = db.session.execute(
        select(Conversation, _unread_for(ids).label("unread"))
        .where(_taking_part(ids))
        .options(selectinload(Conversation.starter).selectinload(Member.user),
                 selectinload(Conversation.other).selectinload(Member.user),
                 selectinload(Conversation.listing))
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
    ).all()
    last_ids = select(func.max(Message.id)).where(
        Message.conversation_id.in_([conversation.id for conversation, _ in rows])
    ).group_by(Message.conversation_id)
    last = {}
    if rows:
        for message in db.session.scalars(select(Message).where(Message.id.in_(last_ids))):
            last[message.conversation_id] = message
    return [ConversationRow(conversation, conversation.partner_of(member), bool(unread),
                            last.get(conversation.id))
            for conversation, unread in rows]


def unread_conversation_count(*, members: list[Member]) -> int:
    """How many conversations have unread messages for any of ``members`` (one person's
    memberships: a conversation lies in one ring, so at most one of them takes part)."""
    ids = [member.id for member in members]
    if not ids:
        return 0
    return db.session.scalar(
        select(func.count()).select_from(Conversation).where(_taking_part(ids), _unread_for(ids))
    )


def conversation_about(*, listing_id: int, member: Member) -> Conversation | None:
    """The conversation ``member`` started by reacting to this listing, if any."""
    return db.session.scalar(select(Conversation).where(
        and_(Conversation.listing_id == listing_id, Conversation.starter_id == member.id)))


def conversation_messages(*, conversation: Conversation) -> list[Message]:
    """All messages of a conversation, oldest first, with their senders."""
    return db.session.scalars(
        select(Message).where(Message.conversation_id == conversation.id)
        .options(selectinload(Message.sender).selectinload(Member.user))
        .order_by(Message.created_at, Message.id)
    ).all()
