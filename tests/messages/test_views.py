"""The Berichten pages: reacting to a listing, writing from a profile, the private
conversation page with its htmx answer form, the unread counter in the header, and paying
or asking for payment from a conversation about a listing. On SQLite and PostgreSQL."""

import re
from datetime import UTC, datetime
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from ruilkring import clock
from ruilkring.extensions import db
from ruilkring.ledger.models import PaymentRequest, Transfer
from ruilkring.listings import services as listing_services
from ruilkring.listings.models import HelpKind, ListingKind, ListingPlace
from ruilkring.members.models import MemberRole
from ruilkring.messages import services
from ruilkring.messages.models import Conversation, Message
from tests import factories
from tests.helpers import count, hidden_value, htmx_target, redirect_path, text, tick, url

HTMX_THREAD = htmx_target("thread")


@pytest.fixture(autouse=True)
def _clock(app):
    clock.freeze(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def olga(ring):
    """Offers to repair bikes."""
    return factories.MemberFactory(ring=ring, user__name="Olga Fietsvrouw")


@pytest.fixture
def ruud(ring):
    """Needs his bike repaired."""
    return factories.MemberFactory(ring=ring, user__name="Ruud Wielen")


@pytest.fixture
def offer(olga):
    return post(olga, ListingKind.OFFER, "Fietsen repareren")


def post(owner, kind, title):
    category = listing_services.categories_create_defaults(ring=owner.ring)[0]
    listing = listing_services.listing_create(
        owner=owner, kind=kind, title=title, description="", category_id=category.id,
        help_kind=HelpKind.PRACTICAL, place=ListingPlace.IN_NEIGHBOURHOOD, created_by=owner.user)
    db.session.commit()
    return listing


def location(response) -> str:
    assert response.status_code == 302, text(response)
    return response.headers["Location"]


def react(client, ring, listing, body):
    return client.post(url(ring, f"/aanbod-en-vraag/{listing.id}/reageren"), data={"body": body})


def start(listing, starter, body="Kunt u mijn fiets maken?") -> Conversation:
    """Set-up through the service (not the thing under test)."""
    conversation = services.conversation_start(listing=listing, starter=starter, body=body)
    db.session.commit()
    return conversation


def header_badge(html: str) -> str | None:
    """The unread number next to "Berichten" in the ring menu, or None."""
    match = re.search(r'>Berichten(?: <span class="badge"[^>]*>(\d+)</span>)?</a>', html)
    assert match, "no Berichten link in the menu"
    return match[1]


# Reacting and writing


def test_reageer_form_is_on_the_listing_for_others_not_for_the_owner(client, login, login_as, ring, offer, olga, ruud):
    login(ruud.user)
    page = text(client.get(url(ring, f"/aanbod-en-vraag/{offer.id}")))
    assert f'action="/kring/{ring.slug}/aanbod-en-vraag/{offer.id}/reageren"' in page
    assert "Stuur bericht" in page
    # It comes right after the facts about the listing.
    assert page.index('<dl class="facts">') < page.index('id="reageren"')
    login_as(olga.user)
    own = text(client.get(url(ring, f"/aanbod-en-vraag/{offer.id}")))
    assert "/reageren" not in own


def test_reacting_opens_the_conversation_and_mails_the_owner(client, login, ring, offer, olga, ruud, outbox):
    login(ruud.user)
    response = react(client, ring, offer, "Kunt u zaterdag mijn fiets maken?")
    conversation = db.session.scalar(select(Conversation))
    assert (conversation.starter_id, conversation.other_id, conversation.listing_id) == (ruud.id, olga.id, offer.id)
    assert redirect_path(response) == url(ring, f"/berichten/{conversation.id}")
    page = text(client.get(location(response)))
    assert "Uw bericht is verstuurd naar Olga Fietsvrouw." in page
    assert "Kunt u zaterdag mijn fiets maken?" in page and "Fietsen repareren" in page
    mails = outbox()
    assert [mail["To"] for mail in mails] == [olga.user.email]
    body = mails[0].get_content()
    assert "Ruud Wielen" in body and "Fietsen repareren" in body and "Kunt u zaterdag" in body
    assert f"/kring/{ring.slug}/berichten/{conversation.id}" in body
    # Reacting again adds to the same conversation; the listing page links to it.
    tick()
    react(client, ring, offer, "Of zondag?")
    assert count(Conversation) == 1 and count(Message) == 2
    listing_page = text(client.get(url(ring, f"/aanbod-en-vraag/{offer.id}")))
    assert "U heeft hier al op gereageerd." in listing_page
    assert f"/berichten/{conversation.id}" in listing_page


def test_reacting_to_ones_own_listing_or_without_text_is_refused_with_a_message(client, login, ring, offer, olga, ruud):
    login(olga.user)
    response = react(client, ring, offer, "Hallo")
    assert redirect_path(response) == url(ring, f"/aanbod-en-vraag/{offer.id}")
    assert "U kunt niet reageren op uw eigen advertentie." in text(client.get(location(response)))
    client.post("/uitloggen")
    login(ruud.user)
    page = text(client.get(location(react(client, ring, offer, "   "))))
    assert "Schrijf een bericht." in page
    assert count(Conversation) == 0


def test_a_huge_reaction_is_refused_with_a_message(client, login, ring, offer, ruud, outbox):
    login(ruud.user)
    response = react(client, ring, offer, "x" * (services.MAX_BODY + 1))
    page = text(client.get(location(response)))
    assert "Uw bericht is te lang (hoogstens 5000 tekens)." in page
    assert count(Conversation) == count(Message) == 0
    assert outbox() == []


def test_reacting_to_a_listing_of_another_ring_is_404(client, login, ring, ruud):
    elsewhere = post(factories.MemberFactory(), ListingKind.OFFER, "Ver weg")
    login(ruud.user)
    assert react(client, ring, elsewhere, "Hallo").status_code == 404
    assert count(Conversation) == 0


def test_writing_from_a_profile_reuses_the_direct_conversation(client, login, login_as, ring, olga, ruud):
    login(ruud.user)
    profile = text(client.get(url(ring, f"/leden/{olga.id}")))
    assert "Stuur een bericht" in profile and f"/leden/{olga.id}/bericht" in profile
    own_profile = text(client.get(url(ring, f"/leden/{ruud.id}")))
    assert f"/leden/{ruud.id}/bericht" not in own_profile
    first = client.post(url(ring, f"/leden/{olga.id}/bericht"), data={"body": "Hoi Olga"})
    conversation = db.session.scalar(select(Conversation))
    assert conversation.listing_id is None
    assert redirect_path(first) == url(ring, f"/berichten/{conversation.id}")
    login_as(olga.user)
    tick()
    client.post(url(ring, f"/leden/{ruud.id}/bericht"), data={"body": "Hoi Ruud"})
    assert count(Conversation) == 1 and count(Message) == 2


# Privacy


def test_only_the_two_members_see_a_conversation(client, login, login_as, ring, offer, olga, ruud):
    conversation = start(offer, ruud)
    page = url(ring, f"/berichten/{conversation.id}")
    third = factories.MemberFactory(ring=ring)
    coordinator = factories.MemberFactory(ring=ring, role=MemberRole.COORDINATOR)
    admin = factories.UserFactory(is_admin=True)
    db.session.commit()
    for outsider in (third.user, coordinator.user, admin):
        login_as(outsider)
        assert client.get(page).status_code == 404
        assert client.post(page, data={"body": "Ik lees mee"}).status_code == 404
        assert "Kunt u mijn fiets maken?" not in text(client.get(url(ring, "/berichten")))
    assert count(Message) == 1
    for member in (olga, ruud):
        login_as(member.user)
        assert client.get(page).status_code == 200


def test_a_conversation_of_another_ring_is_404_even_for_its_members(client, login, ring, ruud):
    other_ring = factories.RingFactory()
    owner = factories.MemberFactory(ring=other_ring)
    elsewhere = factories.MemberFactory(ring=other_ring, user=ruud.user)
    conversation = start(post(owner, ListingKind.OFFER, "Elders"), elsewhere)
    login(ruud.user)
    assert client.get(url(ring, f"/berichten/{conversation.id}")).status_code == 404
    assert client.get(url(other_ring, f"/berichten/{conversation.id}")).status_code == 200


# Reading, answering, the header counter


def test_unread_counter_in_the_header_until_the_conversation_is_opened(client, login, login_as, ring, offer, olga, ruud):
    conversation = start(offer, ruud)
    tick()
    services.message_send(conversation=conversation, sender=ruud, body="Nog een vraag")
    db.session.commit()
    login(olga.user)
    inbox = text(client.get(url(ring, "/berichten")))
    assert header_badge(inbox) == "1"  # one conversation, two messages
    assert 'class="unread"' in inbox and "Ruud Wielen" in inbox and "Nog een vraag" in inbox
    tick()
    client.get(url(ring, f"/berichten/{conversation.id}"))
    inbox = text(client.get(url(ring, "/berichten")))
    assert header_badge(inbox) is None and 'class="unread"' not in inbox
    login_as(ruud.user)
    assert header_badge(text(client.get(url(ring, "/berichten")))) is None


def test_answering_without_javascript_redirects_to_the_message(client, login, ring, offer, olga, ruud, outbox):
    conversation = start(offer, ruud)
    login(olga.user)
    tick()
    response = client.post(url(ring, f"/berichten/{conversation.id}"), data={"body": "Zaterdag kan!"})
    message = db.session.scalar(select(Message).where(Message.sender_id == olga.id))
    assert location(response).endswith(f"/berichten/{conversation.id}#bericht-{message.id}")
    assert [mail["To"] for mail in outbox()] == [ruud.user.email, olga.user.email]


def test_mail_only_for_the_first_unread_message(client, login, ring, offer, olga, ruud, outbox):
    login(ruud.user)
    react(client, ring, offer, "Eén")
    conversation = db.session.scalar(select(Conversation))
    for body in ("Twee", "Drie"):
        tick()
        client.post(url(ring, f"/berichten/{conversation.id}"), data={"body": body})
    assert count(Message) == 3
    assert [mail["To"] for mail in outbox()] == [olga.user.email]
    # Olga reads; the next message mails her again.
    client.post("/uitloggen")
    login(olga.user)
    tick()
    client.get(url(ring, f"/berichten/{conversation.id}"))
    client.post("/uitloggen")
    login(ruud.user)
    tick()
    client.post(url(ring, f"/berichten/{conversation.id}"), data={"body": "Vier"})
    assert [mail["To"] for mail in outbox()] == [olga.user.email, olga.user.email]


def test_htmx_answer_returns_the_thread_fragment_with_an_empty_form(client, login, ring, offer, olga, ruud):
    conversation = start(offer, ruud)
    login(olga.user)
    page = text(client.get(url(ring, f"/berichten/{conversation.id}")))
    assert 'id="thread"' in page and 'hx-target="#thread"' in page
    tick()
    response = client.post(url(ring, f"/berichten/{conversation.id}"), data={"body": "Zaterdag om tien uur"},
                           headers=HTMX_THREAD)
    html = text(response)
    assert response.status_code == 200
    assert "<html" not in html and 'class="site-header"' not in html
    assert "Kunt u mijn fiets maken?" in html and "Zaterdag om tien uur" in html
    assert re.search(r"<textarea[^>]*>\s*</textarea>", html), "the form is reset"
    # Said in the page's live region; the focus goes back to the empty form.
    assert '<div id="messages" hx-swap-oob="innerHTML"><p class="visually-hidden">Uw bericht is verstuurd.' in html
    assert re.search(r"<textarea [^>]*autofocus", html)
    assert "HX-Request" in response.headers["Vary"] and "HX-Target" in response.headers["Vary"]
    assert count(Message) == 2


def test_htmx_answer_that_is_too_long_keeps_the_text_and_says_why(client, login, ring, offer, olga, ruud):
    conversation = start(offer, ruud)
    login(olga.user)
    tick()
    huge = "lang " * 1100
    response = client.post(url(ring, f"/berichten/{conversation.id}"), data={"body": huge}, headers=HTMX_THREAD)
    html = text(response)
    assert response.status_code == 200 and "<html" not in html
    assert "Uw bericht is te lang (hoogstens 5000 tekens)." in html
    assert "lang lang lang" in html  # what was typed is not lost
    assert count(Message) == 1
    # Without JavaScript: the whole page, with the same message.
    page = text(client.post(url(ring, f"/berichten/{conversation.id}"), data={"body": huge}))
    assert "<html" in page and "Uw bericht is te lang" in page
    assert count(Message) == 1


def test_an_empty_answer_is_refused(client, login, ring, offer, olga, ruud):
    conversation = start(offer, ruud)
    login(olga.user)
    response = client.post(url(ring, f"/berichten/{conversation.id}"), data={"body": "  "}, headers=HTMX_THREAD)
    assert "Schrijf een bericht." in text(response)
    assert count(Message) == 1


def test_script_in_a_message_is_shown_as_text(client, login, ring, offer, olga, ruud):
    conversation = start(offer, ruud, body='<script>alert("hoi")</script> <b>vet</b>')
    login(olga.user)
    for path in (f"/berichten/{conversation.id}", "/berichten"):
        html = text(client.get(url(ring, path)))
        assert "<script>alert" not in html and "<b>vet" not in html
        assert "&lt;script&gt;alert(" in html
    fragment = text(client.post(url(ring, f"/berichten/{conversation.id}"), data={"body": "<img src=x onerror=alert(1)>"},
                                headers=HTMX_THREAD))
    assert "<img src=x" not in fragment and "&lt;img src=x onerror=alert(1)&gt;" in fragment


# Paying from a conversation


def test_pay_button_for_the_helped_member_books_a_transfer_with_the_listing(client, login, login_as, ring, offer,
                                                                            olga, ruud):
    conversation = start(offer, ruud)
    login(ruud.user)  # reacted to an offer: Ruud is helped and pays
    page = text(client.get(url(ring, f"/berichten/{conversation.id}")))
    pay_link = unescape(re.search(r'href="([^"]*/betalen\?[^"]*)"', page)[1])
    assert parse_qs(urlsplit(pay_link).query) == {"aan": [str(olga.id)], "advertentie": [str(offer.id)]}
    assert "/betaalverzoeken?" not in page

    form = text(client.get(pay_link))
    assert re.search(rf'<option selected value="{olga.id}"|<option value="{olga.id}" selected', form)
    assert hidden_value(form, "listing_id") == str(offer.id)
    assert "Fietsen repareren" in form
    data = {"payee": olga.id, "amount": "1:30", "description": "Fiets gemaakt", "listing_id": offer.id,
            "idempotency_key": hidden_value(form, "idempotency_key"), "confirmed": ""}
    confirm = text(client.post(url(ring, "/betalen"), data=data))
    assert "Klopt dit?" in confirm and "Fietsen repareren" in confirm
    assert hidden_value(confirm, "listing_id") == str(offer.id)
    client.post(url(ring, "/betalen"), data={**data, "confirmed": "1"})
    transfer = db.session.scalar(select(Transfer))
    assert (transfer.amount, transfer.listing_id) == (90, offer.id)

    login_as(olga.user)  # the helper asks for payment instead
    page = text(client.get(url(ring, f"/berichten/{conversation.id}")))
    request_link = unescape(re.search(r'href="([^"]*/betaalverzoeken\?[^"]*)"', page)[1])
    assert parse_qs(urlsplit(request_link).query) == {"van": [str(ruud.id)], "advertentie": [str(offer.id)]}
    assert "/betalen?" not in page


def test_request_from_a_conversation_carries_the_listing_to_the_transfer(client, login, login_as, ring, olga, ruud):
    request_listing = post(ruud, ListingKind.REQUEST, "Wie maakt mijn fiets?")
    conversation = start(request_listing, olga, body="Ik kan het doen")
    login(olga.user)  # reacted to a request: Olga helps and asks for payment
    page = text(client.get(url(ring, f"/berichten/{conversation.id}")))
    request_link = unescape(re.search(r'href="([^"]*/betaalverzoeken\?[^"]*)"', page)[1])
    form = text(client.get(request_link))
    assert hidden_value(form, "listing_id") == str(request_listing.id)
    assert re.search(rf'<option selected value="{ruud.id}"|<option value="{ruud.id}" selected', form)
    client.post(url(ring, "/betaalverzoeken"), data={
        "payer": ruud.id, "amount": "1:00", "description": "Fiets gemaakt", "listing_id": request_listing.id,
        "idempotency_key": hidden_value(form, "idempotency_key")})
    payment_request = db.session.scalar(select(PaymentRequest))
    assert payment_request.listing_id == request_listing.id

    login_as(ruud.user)
    assert "Wie maakt mijn fiets?" in text(client.get(url(ring, "/betaalverzoeken")))
    client.post(url(ring, f"/betaalverzoeken/{payment_request.id}/accepteren"))
    transfer = db.session.scalar(select(Transfer))
    assert (transfer.amount, transfer.listing_id) == (60, request_listing.id)


def test_a_listing_of_another_ring_in_the_pay_link_is_ignored(client, login, ring, olga, ruud):
    elsewhere = post(factories.MemberFactory(), ListingKind.OFFER, "Ver weg")
    login(ruud.user)
    form = text(client.get(url(ring, f"/betalen?aan={olga.id}&advertentie={elsewhere.id}")))
    assert hidden_value(form, "listing_id") == "" and "Ver weg" not in form
    client.post(url(ring, "/betalen"), data={
        "payee": olga.id, "amount": "0:30", "description": "Klus", "listing_id": elsewhere.id,
        "idempotency_key": "k-1", "confirmed": "1"})
    transfer = db.session.scalar(select(Transfer))
    assert transfer.amount == 30 and transfer.listing_id is None
