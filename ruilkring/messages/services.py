"""Writes for conversations between members. Nothing here commits.

Rules kept here:
- only members of one ring who take part (active or leaving) write to each other, and
  only the two members of a conversation write in it;
- one conversation per listing and member who reacted to it; one direct conversation per
  pair of members: reacting or writing again adds a message to the existing one;
- the recipient gets one mail for a burst of messages: only for a message that arrives
  while they had nothing unread in that conversation.
"""

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, or_, select

from ruilkring import clock
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.listings.models import Listing, ListingStatus
from ruilkring.members.models import ACCESS_STATUSES, Member
from ruilkring.messages.models import Conversation, Message
from ruilkring.notifications.services import mail_queue

MAX_BODY = 5000
MAIL_PREVIEW = 300  # characters of the message quoted in the mail


def _clean_body(body: str | None) -> str:
    body = (body or "").strip()
    if not body:
        raise DomainError(_l("Schrijf een bericht."), field="body")
    if len(body) > MAX_BODY:
        raise DomainError(_l("Uw bericht is te lang (hoogstens %(n)d tekens). Maak het korter of "
                             "verdeel het over meer berichten.", n=MAX_BODY), field="body")
    return body


def _check_takes_part(sender: Member, recipient: Member) -> None:
    if sender.status not in ACCESS_STATUSES:
        raise DomainError(_l("Alleen leden die meedoen in de kring kunnen berichten sturen."))
    if recipient.status not in ACCESS_STATUSES:
        raise DomainError(_l("%(name)s doet op dit moment niet mee in de kring; u kunt geen bericht sturen.",
                             name=recipient.name))
    if sender.ring_id != recipient.ring_id:
        raise DomainError(_l("U kunt alleen leden van uw eigen kring een bericht sturen."))


def conversation_start(*, listing: Listing, starter: Member, body: str) -> Conversation:
    """React to an offer or request ("Reageer"): the first message of the conversation
    between ``starter`` and the listing's owner about it, or the next one if ``starter``
    reacted before. Nobody reacts to their own listing, nor to one others cannot see."""
    owner = listing.owner
    if listing.ring_id != starter.ring_id:
        raise DomainError(_l("Deze advertentie hoort niet bij uw kring."))
    if owner.id == starter.id:
        raise DomainError(_l("U kunt niet reageren op uw eigen advertentie."))
    _check_takes_part(starter, owner)
    conversation = db.session.scalar(select(Conversation).where(
        Conversation.listing_id == listing.id, Conversation.starter_id == starter.id))
    if conversation is None:
        if listing.status != ListingStatus.ACTIVE or listing.valid_until < clock.now().date():
            raise DomainError(_l("Op deze advertentie kan niet meer worden gereageerd."))
        body = _clean_body(body)  # before anything is added to the session
        conversation = Conversation(ring_id=listing.ring_id, listing_id=listing.id,
                                    starter_id=starter.id, other_id=owner.id, created_at=clock.now())
        db.session.add(conversation)
        db.session.flush()
    message_send(conversation=conversation, sender=starter, body=body)
    return conversation


def direct_conversation_between(a: Member, b: Member) -> Conversation | None:
    """The conversation between two members that is about no listing, if there is one."""
    return db.session.scalar(select(Conversation).where(
        Conversation.listing_id.is_(None),
        or_(and_(Conversation.starter_id == a.id, Conversation.other_id == b.id),
            and_(Conversation.starter_id == b.id, Conversation.other_id == a.id)),
    ).order_by(Conversation.id).limit(1))


def conversation_start_direct(*, starter: Member, other: Member, body: str) -> Conversation:
    """Write to a member from their profile, about no listing in particular. The two
    share one such conversation, whoever wrote first."""
    if starter.id == other.id:
        raise DomainError(_l("U kunt uzelf geen bericht sturen."))
    _check_takes_part(starter, other)
    conversation = direct_conversation_between(starter, other)
    if conversation is None:
        body = _clean_body(body)
        conversation = Conversation(ring_id=starter.ring_id, starter_id=starter.id, other_id=other.id,
                                    created_at=clock.now())
        db.session.add(conversation)
        db.session.flush()
    message_send(conversation=conversation, sender=starter, body=body)
    return conversation


def _read_at(conversation: Conversation, member: Member):
    if member.id == conversation.starter_id:
        return conversation.starter_read_at
    return conversation.other_read_at


def has_unread(*, conversation: Conversation, member: Member) -> bool:
    """Whether the partner wrote something in ``conversation`` that ``member`` has not read."""
    read_at = _read_at(conversation, member)
    condition = [Message.conversation_id == conversation.id, Message.sender_id != member.id]
    if read_at is not None:
        condition.append(Message.created_at > read_at)
    return bool(db.session.scalar(select(exists().where(*condition))))


def message_send(*, conversation: Conversation, sender: Member, body: str) -> Message:
    """Add a message from ``sender`` (one of the two) to ``conversation``. Writing counts
    as having read the conversation. The recipient gets a mail only when this is the first
    message they have not read yet, so a burst of messages gives one mail."""
    if sender.id not in (conversation.starter_id, conversation.other_id):
        raise DomainError(_l("U neemt geen deel aan dit gesprek."))
    recipient = conversation.partner_of(sender)
    _check_takes_part(sender, recipient)
    body = _clean_body(body)
    had_unread = has_unread(conversation=conversation, member=recipient)
    now = clock.now()
    message = Message(conversation_id=conversation.id, sender_id=sender.id, body=body, created_at=now)
    db.session.add(message)
    conversation.last_message_at = now
    _set_read_at(conversation, sender, now)
    db.session.flush()
    if not had_unread:
        _mail_recipient(conversation, message, sender, recipient)
    return message


def _set_read_at(conversation: Conversation, member: Member, moment) -> None:
    if member.id == conversation.starter_id:
        conversation.starter_read_at = moment
    else:
        conversation.other_read_at = moment


def _mail_recipient(conversation: Conversation, message: Message, sender: Member, recipient: Member) -> None:
    ring = recipient.ring
    listing = conversation.listing
    preview = message.body
    if len(preview) > MAIL_PREVIEW:
        preview = preview[:MAIL_PREVIEW].rstrip() + "…"
    if listing is not None:
        subject = _l("Nieuw bericht van %(name)s over '%(title)s'", name=sender.name, title=listing.title)
    else:
        subject = _l("Nieuw bericht van %(name)s", name=sender.name)
    mail_queue(
        user=recipient.user, subject=subject, template="new_message", sender=sender, listing=listing,
        preview=preview, ring=ring,
        link=url_for("messages.conversation", ring_slug=ring.slug, conversation_id=conversation.id,
                     _external=True),
    )


def conversation_mark_read(*, conversation: Conversation, reader: Member) -> None:
    """``reader`` (one of the two) has seen everything in ``conversation`` up to now.
    Writes only when there is something new, so reading a read conversation costs nothing."""
    if reader.id not in (conversation.starter_id, conversation.other_id):
        raise DomainError(_l("U neemt geen deel aan dit gesprek."))
    read_at = _read_at(conversation, reader)
    if read_at is None or conversation.last_message_at > read_at:
        _set_read_at(conversation, reader, clock.now())
        db.session.flush()
