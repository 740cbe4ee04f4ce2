"""Conversations between members: reacting to listings, direct messages, who may write,
the unread state, and one mail per burst of messages. On SQLite and PostgreSQL."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from ruilkring import clock
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.listings import services as listing_services
from ruilkring.listings.models import HelpKind, ListingKind, ListingPlace, ListingStatus
from ruilkring.members.models import MemberStatus
from ruilkring.messages import selectors, services
from ruilkring.messages.models import Conversation, Message
from tests import factories
from tests.helpers import tick

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clock(app):
    clock.freeze(START)


@pytest.fixture
def owner(ring):
    return factories.MemberFactory(ring=ring, user__name="Olga Eigenaar")


@pytest.fixture
def reactor(ring):
    return factories.MemberFactory(ring=ring, user__name="Ruud Reageer")


@pytest.fixture
def listing(owner):
    return post(owner)


def post(owner, kind=ListingKind.OFFER, title="Fietsen repareren"):
    category = listing_services.categories_create_defaults(ring=owner.ring)[0]
    return listing_services.listing_create(
        owner=owner, kind=kind, title=title, description="", category_id=category.id,
        help_kind=HelpKind.PRACTICAL, place=ListingPlace.IN_NEIGHBOURHOOD, created_by=owner.user)


def sent_mails() -> list:
    """Mails queued in this transaction (sent on commit)."""
    return db.session.info.get("ruilkring_outgoing_mail", [])


def unread(member) -> int:
    return selectors.unread_conversation_count(members=[member])


# Reacting to a listing


def test_reacting_starts_one_conversation_with_the_owner(listing, owner, reactor):
    conversation = services.conversation_start(listing=listing, starter=reactor, body="  Kan het zaterdag?  ")
    assert (conversation.listing_id, conversation.starter_id, conversation.other_id) == (
        listing.id, reactor.id, owner.id)
    assert [m.body for m in conversation.messages] == ["Kan het zaterdag?"]
    tick()
    again = services.conversation_start(listing=listing, starter=reactor, body="Of zondag?")
    assert again.id == conversation.id
    assert db.session.scalar(select(func.count()).select_from(Conversation)) == 1
    assert [m.body for m in selectors.conversation_messages(conversation=conversation)] == [
        "Kan het zaterdag?", "Of zondag?"]


def test_two_members_reacting_get_two_conversations(ring, listing, reactor):
    other = factories.MemberFactory(ring=ring)
    first = services.conversation_start(listing=listing, starter=reactor, body="Ik!")
    second = services.conversation_start(listing=listing, starter=other, body="Ik ook!")
    assert first.id != second.id


def test_nobody_reacts_to_their_own_listing(listing, owner):
    with pytest.raises(DomainError, match="eigen advertentie"):
        services.conversation_start(listing=listing, starter=owner, body="Hallo")
    assert db.session.scalar(select(func.count()).select_from(Conversation)) == 0


def test_reacting_needs_a_member_who_takes_part(ring, listing, owner):
    pending = factories.MemberFactory(ring=ring, status=MemberStatus.PENDING)
    with pytest.raises(DomainError, match="meedoen"):
        services.conversation_start(listing=listing, starter=pending, body="Hallo")
    reactor = factories.MemberFactory(ring=ring)
    owner.status = MemberStatus.LEFT
    with pytest.raises(DomainError, match="niet mee"):
        services.conversation_start(listing=listing, starter=reactor, body="Hallo")


def test_a_member_of_another_ring_cannot_react(listing):
    stranger = factories.MemberFactory()
    with pytest.raises(DomainError, match="kring"):
        services.conversation_start(listing=listing, starter=stranger, body="Hallo")


def test_a_closed_listing_takes_no_new_reactions_but_a_conversation_goes_on(listing, owner, reactor):
    other = factories.MemberFactory(ring=listing.owner.ring)
    conversation = services.conversation_start(listing=listing, starter=reactor, body="Graag!")
    listing_services.listing_set_status(listing=listing, status=ListingStatus.CLOSED, changed_by=owner.user)
    with pytest.raises(DomainError, match="niet meer"):
        services.conversation_start(listing=listing, starter=other, body="Ik ook")
    tick()
    assert services.conversation_start(listing=listing, starter=reactor, body="Nog één ding").id == conversation.id


@pytest.mark.parametrize("body, message", [("", "Schrijf een bericht"), ("   \n ", "Schrijf een bericht"),
                                           ("x" * (services.MAX_BODY + 1), "te lang")])
def test_a_message_needs_text_and_not_too_much(listing, reactor, body, message):
    with pytest.raises(DomainError, match=message) as refused:
        services.conversation_start(listing=listing, starter=reactor, body=body)
    assert refused.value.field == "body"
    assert db.session.scalar(select(func.count()).select_from(Conversation)) == 0


def test_the_longest_message_allowed_is_kept_whole(listing, reactor):
    body = "x" * services.MAX_BODY
    conversation = services.conversation_start(listing=listing, starter=reactor, body=body)
    assert conversation.messages[0].body == body


# Direct conversations


def test_direct_conversation_is_shared_by_the_pair_whoever_writes_first(ring, owner, reactor, listing):
    about_listing = services.conversation_start(listing=listing, starter=reactor, body="Over de fiets")
    first = services.conversation_start_direct(starter=reactor, other=owner, body="Hoi")
    assert first.listing_id is None and first.id != about_listing.id
    tick()
    back = services.conversation_start_direct(starter=owner, other=reactor, body="Hoi terug")
    assert back.id == first.id
    assert [m.sender_id for m in selectors.conversation_messages(conversation=first)] == [reactor.id, owner.id]


def test_direct_message_to_oneself_or_another_ring_is_refused(owner):
    with pytest.raises(DomainError, match="uzelf"):
        services.conversation_start_direct(starter=owner, other=owner, body="Hoi")
    with pytest.raises(DomainError, match="eigen kring"):
        services.conversation_start_direct(starter=owner, other=factories.MemberFactory(), body="Hoi")


def test_only_the_two_members_write_in_a_conversation(ring, listing, reactor):
    conversation = services.conversation_start(listing=listing, starter=reactor, body="Hallo")
    third = factories.MemberFactory(ring=ring)
    with pytest.raises(DomainError, match="geen deel"):
        services.message_send(conversation=conversation, sender=third, body="Ik lees mee")
    with pytest.raises(DomainError, match="geen deel"):
        services.conversation_mark_read(conversation=conversation, reader=third)


# Unread state and mail


def test_unread_until_the_recipient_opens_it_and_writing_counts_as_reading(listing, owner, reactor):
    conversation = services.conversation_start(listing=listing, starter=reactor, body="Hallo")
    assert (unread(owner), unread(reactor)) == (1, 0)
    tick()
    services.conversation_mark_read(conversation=conversation, reader=owner)
    assert unread(owner) == 0
    tick()
    services.message_send(conversation=conversation, sender=owner, body="Dag!")
    assert (unread(owner), unread(reactor)) == (0, 1)
    tick()
    services.message_send(conversation=conversation, sender=reactor, body="Tot zaterdag")
    assert (unread(owner), unread(reactor)) == (1, 0)


def test_unread_count_counts_conversations_over_all_rings(ring, owner, reactor, listing):
    services.conversation_start(listing=listing, starter=reactor, body="1")
    tick()
    services.message_send(conversation=selectors.member_conversations(member=owner)[0].conversation,
                          sender=reactor, body="2")
    third = factories.MemberFactory(ring=ring)
    services.conversation_start_direct(starter=third, other=owner, body="3")
    # The same person in a second ring, with a conversation there too.
    elsewhere = factories.MemberFactory(user=owner.user)
    services.conversation_start_direct(starter=factories.MemberFactory(ring=elsewhere.ring),
                                       other=elsewhere, body="4")
    assert unread(owner) == 2  # two conversations, however many messages
    assert selectors.unread_conversation_count(members=[owner, elsewhere]) == 3
    assert selectors.unread_conversation_count(members=[]) == 0


def test_inbox_lists_newest_first_with_partner_unread_flag_and_last_message(ring, listing, owner, reactor):
    about = services.conversation_start(listing=listing, starter=reactor, body="Over de fiets")
    tick()
    third = factories.MemberFactory(ring=ring, user__name="Derde Lid")
    direct = services.conversation_start_direct(starter=owner, other=third, body="Hoi Derde")
    rows = selectors.member_conversations(member=owner)
    assert [(row.conversation.id, row.partner.id, row.unread, row.last_message.body) for row in rows] == [
        (direct.id, third.id, False, "Hoi Derde"),
        (about.id, reactor.id, True, "Over de fiets"),
    ]
    assert selectors.member_conversations(member=factories.MemberFactory(ring=ring)) == []


def test_one_mail_for_a_burst_and_again_after_reading(listing, owner, reactor):
    conversation = services.conversation_start(listing=listing, starter=reactor, body="Eerste bericht")
    mails = sent_mails()
    assert len(mails) == 1
    assert mails[0].to == [owner.user.email]
    assert "Ruud Reageer" in mails[0].subject and "Fietsen repareren" in mails[0].subject
    for text in ("Ruud Reageer", "Fietsen repareren", "Eerste bericht",
                 f"/berichten/{conversation.id}"):
        assert text in mails[0].body
    for number in range(3):
        tick()
        services.message_send(conversation=conversation, sender=reactor, body=f"Nog iets {number}")
    assert len(sent_mails()) == 1  # the owner had unread messages: no mail per message
    tick()
    services.conversation_mark_read(conversation=conversation, reader=owner)
    tick()
    services.message_send(conversation=conversation, sender=reactor, body="Na het lezen")
    assert len(sent_mails()) == 2
    # The reply goes to the reactor, who had nothing unread.
    tick()
    services.message_send(conversation=conversation, sender=owner, body="Antwoord")
    assert len(sent_mails()) == 3 and sent_mails()[-1].to == [reactor.user.email]


def test_mail_quotes_only_the_first_part_of_a_long_message(listing, reactor):
    body = "begin " + "lang " * 400 + "EINDE"
    services.conversation_start(listing=listing, starter=reactor, body=body)
    mail = sent_mails()[0]
    assert "begin lang" in mail.body and "EINDE" not in mail.body


def test_direct_message_mail_has_no_listing(owner, reactor):
    services.conversation_start_direct(starter=reactor, other=owner, body="Hoi")
    mail = sent_mails()[0]
    assert mail.subject == "Nieuw bericht van Ruud Reageer"
    assert "Ruud Reageer stuurde u een bericht:" in mail.body


def test_a_refused_message_writes_nothing(listing, reactor):
    conversation = services.conversation_start(listing=listing, starter=reactor, body="Hallo")
    with pytest.raises(DomainError):
        services.message_send(conversation=conversation, sender=reactor, body="x" * (services.MAX_BODY + 1))
    assert db.session.scalar(select(func.count()).select_from(Message)) == 1


def test_request_conversation_through_the_selectors(ring, owner, reactor):
    request = post(owner, kind=ListingKind.REQUEST, title="Wie helpt met de tuin?")
    conversation = services.conversation_start(listing=request, starter=reactor, body="Ik help graag")
    assert selectors.conversation_about(listing_id=request.id, member=reactor).id == conversation.id
    assert selectors.conversation_about(listing_id=request.id, member=owner) is None
