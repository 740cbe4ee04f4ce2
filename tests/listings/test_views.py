"""Vraag en aanbod pages on both databases: active search (page or htmx fragment), posting
and its validation, escaping of what members type, the owner's actions, moderation,
categories, unanswered requests, and isolation between rings."""

import html as html_lib
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from ruilkring import clock
from ruilkring.audit.models import AuditEvent
from ruilkring.extensions import db
from ruilkring.listings import services
from ruilkring.listings.models import (
    Category,
    HelpKind,
    Listing,
    ListingKind,
    ListingPlace,
    ListingStatus,
)
from ruilkring.messages.models import Conversation
from ruilkring.notifications.models import Notification
from tests import factories
from tests.helpers import field_error, htmx_target, pay, reload, text
from tests.helpers import url as ring_url

FRAGMENT = htmx_target("results")
SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"


# Helpers


def url(ring, path: str = "") -> str:
    """A page of the ring's vraag en aanbod."""
    return ring_url(ring, f"/aanbod-en-vraag{path}")


def post(owner, title, description="", *, kind=ListingKind.OFFER, category, **extra) -> Listing:
    """Post a listing through the service, committed so every request sees it."""
    listing = services.listing_create(
        owner=owner, kind=kind, title=title, description=description, category_id=category.id,
        help_kind=HelpKind.PRACTICAL, place=ListingPlace.IN_NEIGHBOURHOOD, created_by=owner.user, **extra)
    db.session.commit()
    return listing


def found(response) -> list[str]:
    """The titles of the result cards, in order."""
    return [html_lib.unescape(t) for t in
            re.findall(r'<li class="listing-card[^"]*">.*?<h[23] class="card-title"><a href="[^"]*">(.*?)</a></h[23]>', text(response), re.S)]


def form_data(category, **overrides) -> dict:
    data = {
        "kind": "offer", "title": "Fietsen repareren", "description": "Band plakken en remmen afstellen.",
        "category_id": str(category.id), "help_kind": "practical", "place": "in_neighbourhood",
        "time_estimate": "1:30", "valid_until": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def listings_of(member) -> list[Listing]:
    return db.session.scalars(select(Listing).where(Listing.owner_id == member.id)).all()


# The search page and active search


def test_search_page_shows_the_form_and_the_ring_s_listings(client, login, member, categories):
    post(member, "Fietsen repareren", category=categories[0])
    login(member.user)
    response = client.get(url(member.ring))
    assert response.status_code == 200
    html = text(response)
    assert "<html" in html
    assert 'role="search"' in html and '<div id="results"' in html
    assert 'hx-target="#results"' in html and 'hx-push-url="true"' in html
    assert found(response) == ["Fietsen repareren"]
    assert "1 gevonden" in html


def test_active_search_with_htmx_returns_only_the_results_fragment(client, login, member, categories):
    post(member, "Fietsen repareren", category=categories[0])
    post(member, "Hulp in de tuin", category=categories[2])
    login(member.user)
    response = client.get(url(member.ring), query_string={"q": "fiets"}, headers=FRAGMENT)
    assert response.status_code == 200
    html = text(response)
    assert "<html" not in html
    assert 'role="search"' not in html
    assert found(response) == ["Fietsen repareren"]
    assert "1 gevonden" in html


def test_the_same_url_without_htmx_headers_is_the_full_page(client, login, member, categories):
    post(member, "Fietsen repareren", category=categories[0])
    post(member, "Hulp in de tuin", category=categories[2])
    login(member.user)
    response = client.get(url(member.ring), query_string={"q": "fiets"})
    html = text(response)
    assert "<html" in html and 'role="search"' in html
    assert found(response) == ["Fietsen repareren"]


@pytest.mark.parametrize("headers", [
    {"HX-Request": "true", "HX-Target": "main"},
    {"HX-Request": "true", "HX-Boosted": "true"},
    {"HX-Request": "true", "HX-Boosted": "true", "HX-Target": "main"},
], ids=["other-target", "boosted-without-target", "boosted-with-target"])
def test_boosted_navigation_gets_the_full_page(client, login, member, categories, headers):
    post(member, "Fietsen repareren", category=categories[0])
    login(member.user)
    response = client.get(url(member.ring), query_string={"q": "fiets"}, headers=headers)
    assert response.status_code == 200
    assert "<html" in text(response)
    assert found(response) == ["Fietsen repareren"]


@pytest.mark.parametrize("headers", [{}, FRAGMENT], ids=["page", "fragment"])
def test_page_and_fragment_vary_on_the_htmx_headers(client, login, member, categories, headers):
    login(member.user)
    response = client.get(url(member.ring), headers=headers)
    vary = {value.strip().lower() for value in response.headers.get("Vary", "").split(",")}
    assert {"hx-request", "hx-target"} <= vary


def test_search_through_the_page_ignores_accents(client, login, member, categories):
    post(member, "Samen naar het Café", "Koffie drinken en kletsen", category=categories[4])
    post(member, "Fietsen repareren", category=categories[0])
    login(member.user)
    assert found(client.get(url(member.ring), query_string={"q": "cafe"})) == ["Samen naar het Café"]
    assert found(client.get(url(member.ring), query_string={"q": "CAFÉ"}, headers=FRAGMENT)) == [
        "Samen naar het Café"]
    response = client.get(url(member.ring), query_string={"q": "zwemmen"}, headers=FRAGMENT)
    assert found(response) == []
    assert "Niets gevonden" in text(response)


def test_filters_kind_category_wijk_and_new_this_week(client, login, ring, categories):
    north, south = ring.neighbourhoods
    alice = factories.MemberFactory(ring=ring, neighbourhood=north)
    bob = factories.MemberFactory(ring=ring, neighbourhood=south)
    clock.freeze(clock.now() - timedelta(days=10))
    post(alice, "Fiets lenen", category=categories[1])
    clock.freeze(None)
    post(bob, "Fiets gezocht", kind=ListingKind.REQUEST, category=categories[0])
    post(bob, "Tuin omspitten", category=categories[2])
    login(alice.user)

    def titles(**args):
        return found(client.get(url(ring), query_string=args, headers=FRAGMENT))

    assert titles(q="fiets") == ["Fiets gezocht", "Fiets lenen"]
    assert titles(q="fiets", kind="request") == ["Fiets gezocht"]
    assert titles(q="fiets", kind="offer") == ["Fiets lenen"]
    assert titles(q="fiets", category=categories[1].id) == ["Fiets lenen"]
    assert titles(q="fiets", wijk=north.id) == ["Fiets lenen"]
    assert titles(wijk=south.id) == ["Tuin omspitten", "Fiets gezocht"]
    assert titles(q="fiets", new="y") == ["Fiets gezocht"]
    assert titles(q="fiets", sort="nearby") == ["Fiets lenen", "Fiets gezocht"]


def test_filtered_page_keeps_the_query_and_the_chosen_filters(client, login, ring, member, categories):
    post(member, "Fiets gezocht", kind=ListingKind.REQUEST, category=categories[1])
    login(member.user)
    response = client.get(url(ring), query_string={"q": "fiets", "kind": "request",
                                                    "category": categories[1].id, "new": "y"})
    html = text(response)
    assert found(response) == ["Fiets gezocht"]
    assert re.search(r'<input[^>]*name="q"[^>]*value="fiets"', html)
    assert re.search(r'<option selected value="request">', html)
    assert re.search(rf'<option selected value="{categories[1].id}">', html)
    assert re.search(r'<input checked[^>]*name="new"', html)


def test_paging_links_keep_the_query_and_filters(client, login, ring, member, categories):
    for number in range(25):
        post(member, f"Fiets nummer {number}", category=categories[0])
    post(member, "Fiets gezocht", kind=ListingKind.REQUEST, category=categories[0])
    post(member, "Tuin omspitten", category=categories[2])
    login(member.user)
    response = client.get(url(ring), query_string={"q": "fiets", "kind": "offer"}, headers=FRAGMENT)
    html = text(response)
    assert "25 gevonden" in html
    assert len(found(response)) == 20
    assert "Pagina 1 van 2" in html
    [next_link] = re.findall(r'<nav class="pager".*?<a href="([^"]+)">Volgende</a>', html, re.S)
    parts = urlsplit(html_lib.unescape(next_link))
    assert parts.path == url(ring)
    assert parse_qs(parts.query) == {"q": ["fiets"], "kind": ["offer"], "page": ["2"]}

    second = client.get(html_lib.unescape(next_link), headers=FRAGMENT)
    assert len(found(second)) == 5
    assert all(title.startswith("Fiets nummer") for title in found(second))
    [prev_link] = re.findall(r'<nav class="pager".*?<a href="([^"]+)">Vorige</a>', text(second), re.S)
    assert parse_qs(urlsplit(html_lib.unescape(prev_link)).query) == {
        "q": ["fiets"], "kind": ["offer"], "page": ["1"]}


# Posting an offer or a request


def test_member_posts_an_offer(client, login, member, categories):
    login(member.user)
    assert client.get(url(member.ring, "/nieuw")).status_code == 200
    response = client.post(url(member.ring, "/nieuw"), data=form_data(categories[0]))
    [listing] = listings_of(member)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(url(member.ring, f"/{listing.id}"))
    assert (listing.kind, listing.title, listing.category_id) == (ListingKind.OFFER, "Fietsen repareren",
                                                                  categories[0].id)
    assert (listing.time_estimate, listing.status) == (90, ListingStatus.ACTIVE)
    assert listing.valid_until == clock.now().date() + timedelta(days=services.VALIDITY_DAYS)
    assert listing.created_by_id == member.user_id
    detail = text(client.get(response.headers["Location"]))
    assert "Fietsen repareren" in detail and "Band plakken en remmen afstellen." in detail
    assert "Geplaatst. Andere leden kunnen het nu vinden." in detail


def test_member_posts_a_request(client, login, member, categories):
    login(member.user)
    assert re.search(r'<input checked[^>]*value="request"', text(client.get(url(member.ring, "/nieuw?soort=request"))))
    until = clock.now().date() + timedelta(days=30)
    response = client.post(url(member.ring, "/nieuw"), data=form_data(
        categories[4], kind="request", title="Wie wandelt mee?", help_kind="social_emotional",
        place="online", time_estimate="", valid_until=until.isoformat()))
    assert response.status_code == 302
    [listing] = listings_of(member)
    assert (listing.kind, listing.title, listing.help_kind) == (ListingKind.REQUEST, "Wie wandelt mee?",
                                                                HelpKind.SOCIAL_EMOTIONAL)
    assert (listing.place, listing.time_estimate, listing.valid_until) == (ListingPlace.ONLINE, None, until)
    detail = text(client.get(response.headers["Location"]))
    assert "Vraag" in detail and "Gezelschap en steun" in detail and "Online of telefonisch" in detail


def refused(client, member, data, field_id):
    """Post the form, check nothing was saved, and return the error at ``field_id``."""
    response = client.post(url(member.ring, "/nieuw"), data=data)
    assert response.status_code == 200
    assert listings_of(member) == []
    assert "Niet alles is goed ingevuld" in text(response) or 'class="alert alert--error"' in text(response)
    return field_error(response, field_id)


def test_missing_title_is_refused(client, login, member, categories):
    login(member.user)
    assert refused(client, member, form_data(categories[0], title=""), "title") == \
        "Geef uw aanbod of vraag een korte titel."


def test_blank_title_is_refused(client, login, member, categories):
    login(member.user)
    assert refused(client, member, form_data(categories[0], title="   "), "title") == \
        "Geef uw aanbod of vraag een korte titel."


def test_category_of_another_ring_is_refused(client, login, member, categories):
    other_category = services.categories_create_defaults(ring=factories.RingFactory())[0]
    login(member.user)
    # The form offers only this ring's active categories, so WTForms' own (Dutch) message.
    assert refused(client, member, form_data(other_category), "category_id") == "Kies een categorie uit de lijst."


def test_missing_category_is_refused(client, login, member, categories):
    login(member.user)
    assert refused(client, member, form_data(categories[0], category_id=""), "category_id") == \
        "Kies een categorie uit de lijst."


def test_date_in_the_past_is_refused(client, login, member, categories):
    login(member.user)
    yesterday = clock.now().date() - timedelta(days=1)
    assert refused(client, member, form_data(categories[0], valid_until=yesterday.isoformat()), "valid_until") == \
        "Kies een datum na vandaag en binnen een jaar."


def test_date_more_than_a_year_ahead_is_refused(client, login, member, categories):
    login(member.user)
    far = clock.now().date() + timedelta(days=services.MAX_VALIDITY_DAYS + 1)
    assert refused(client, member, form_data(categories[0], valid_until=far.isoformat()), "valid_until") == \
        "Kies een datum na vandaag en binnen een jaar."


def test_unreadable_time_estimate_is_refused(client, login, member, categories):
    login(member.user)
    assert refused(client, member, form_data(categories[0], time_estimate="abc"), "time_estimate") == \
        "Dit is geen tijdsduur die we kunnen lezen. Schrijf bijvoorbeeld 1:30, 1,5 of 90m."


def test_title_over_120_characters_is_refused(client, login, member, categories):
    login(member.user)
    assert refused(client, member, form_data(categories[0], title="x" * 121), "title") == \
        "Veld mag niet langer zijn dan 120 karakters."


def test_huge_description_is_refused(client, login, member, categories):
    login(member.user)
    assert refused(client, member, form_data(categories[0], description="lang " * 2000), "description") == \
        "Veld mag niet langer zijn dan 5000 karakters."


# What members type is shown as text


def test_script_in_title_and_description_is_escaped_everywhere(client, login, ring, member, categories):
    listing = post(member, f"Fiets {SCRIPT}", f"Kijk maar {SCRIPT}", category=categories[0])
    login(member.user)
    pages = {
        "results": client.get(url(ring), query_string={"q": "fiets"}, headers=FRAGMENT),
        "search page": client.get(url(ring), query_string={"q": "fiets"}),
        "detail": client.get(url(ring, f"/{listing.id}")),
        "profile": client.get(f"/kring/{ring.slug}/leden/{member.id}"),
        "mine": client.get(f"/kring/{ring.slug}/mijn-advertenties"),
        "edit": client.get(url(ring, f"/{listing.id}/bewerken")),
    }
    for name, response in pages.items():
        html = text(response)
        assert response.status_code == 200, name
        assert SCRIPT not in html, name
        assert ESCAPED_SCRIPT in html, name
    assert text(pages["detail"]).count(ESCAPED_SCRIPT) >= 2  # title and description


def test_url_in_description_becomes_a_nofollow_link_but_javascript_does_not(client, login, member, categories):
    listing = post(member, "Fiets te leen",
                   "Foto's: https://example.org/fiets?kleur=rood en niet javascript:alert(1) of "
                   '<a href="javascript:alert(2)">klik</a>', category=categories[0])
    login(member.user)
    html = text(client.get(url(member.ring, f"/{listing.id}")))
    [link] = re.findall(r'<a [^>]*href="https://example.org/fiets\?kleur=rood"[^>]*>', html)
    assert 'rel="nofollow noopener"' in link
    assert "javascript:" in html  # shown as text ...
    assert not re.search(r'href="\s*javascript:', html, re.I)  # ... never as a link
    assert '&lt;a href=&#34;javascript:alert(2)&#34;&gt;' in html or \
        "&lt;a href=&quot;javascript:alert(2)&quot;&gt;" in html


# The owner's actions


def test_owner_edits_a_listing(client, login, login_as, ring, member, categories):
    listing = post(member, "Fiets", category=categories[0])
    login(member.user)
    assert 'value="Fiets"' in text(client.get(url(ring, f"/{listing.id}/bewerken")))
    response = client.post(url(ring, f"/{listing.id}/bewerken"), data=form_data(
        categories[1], kind=None, title="Fiets en bakfiets", description="Ook op zondag"))
    assert response.status_code == 302
    listing = reload(listing)
    assert (listing.title, listing.description, listing.category_id) == ("Fiets en bakfiets", "Ook op zondag",
                                                                         categories[1].id)
    assert listing.kind == ListingKind.OFFER
    assert found(client.get(url(ring), query_string={"q": "bakfiets"}, headers=FRAGMENT)) == ["Fiets en bakfiets"]

    login_as(factories.MemberFactory(ring=ring).user)
    assert client.get(url(ring, f"/{listing.id}/bewerken")).status_code == 404
    assert client.post(url(ring, f"/{listing.id}/bewerken"), data=form_data(categories[0], kind=None,
                                                                            title="Overgenomen")).status_code == 404
    assert reload(listing).title == "Fiets en bakfiets"


def test_edit_with_bad_input_shows_the_error_and_keeps_the_listing(client, login, ring, member, categories):
    listing = post(member, "Fiets", category=categories[0])
    login(member.user)
    response = client.post(url(ring, f"/{listing.id}/bewerken"),
                           data=form_data(categories[0], kind=None, title=""))
    assert response.status_code == 200
    assert field_error(response, "title") == "Geef uw aanbod of vraag een korte titel."
    assert reload(listing).title == "Fiets"


def test_paused_listing_is_gone_for_others_but_the_owner_still_sees_it(client, login, login_as, ring, member,
                                                                       categories):
    listing = post(member, "Fiets", category=categories[0])
    other = factories.MemberFactory(ring=ring)
    login(member.user)
    response = client.post(url(ring, f"/{listing.id}/pauzeren"))
    assert response.status_code == 302
    assert reload(listing).status == ListingStatus.PAUSED
    owner_view = client.get(url(ring, f"/{listing.id}"))
    assert owner_view.status_code == 200
    assert "Gepauzeerd: andere leden zien dit nu niet." in text(owner_view)

    login_as(other.user)
    assert client.get(url(ring, f"/{listing.id}")).status_code == 404
    assert found(client.get(url(ring), headers=FRAGMENT)) == []
    assert client.post(url(ring, f"/{listing.id}/hervatten")).status_code == 404
    assert reload(listing).status == ListingStatus.PAUSED


def test_resumed_listing_is_visible_again(client, login, login_as, ring, member, categories):
    listing = post(member, "Fiets", category=categories[0])
    services.listing_set_status(listing=listing, status=ListingStatus.PAUSED, changed_by=member.user)
    login(member.user)
    assert client.post(url(ring, f"/{listing.id}/hervatten")).status_code == 302
    assert reload(listing).status == ListingStatus.ACTIVE
    login_as(factories.MemberFactory(ring=ring).user)
    assert client.get(url(ring, f"/{listing.id}")).status_code == 200
    assert found(client.get(url(ring), headers=FRAGMENT)) == ["Fiets"]


def test_closed_listing_is_gone_for_others(client, login, login_as, ring, member, categories):
    listing = post(member, "Fiets", category=categories[0])
    login(member.user)
    response = client.post(url(ring, f"/{listing.id}/sluiten"), follow_redirects=True)
    assert "Gesloten. Dank u wel!" in text(response)
    assert reload(listing).status == ListingStatus.CLOSED
    assert client.post(url(ring, f"/{listing.id}/hervatten"), follow_redirects=True).status_code == 200
    assert reload(listing).status == ListingStatus.CLOSED  # a closed listing stays closed
    login_as(factories.MemberFactory(ring=ring).user)
    assert client.get(url(ring, f"/{listing.id}")).status_code == 404
    assert found(client.get(url(ring), headers=FRAGMENT)) == []


def test_renew_moves_valid_until_to_today_plus_91_days(client, login, ring, member, categories):
    start = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
    clock.freeze(start)
    listing = post(member, "Fiets", category=categories[0])
    assert listing.valid_until == start.date() + timedelta(days=91)
    clock.freeze(start + timedelta(days=60))
    login(member.user)
    response = client.post(url(ring, f"/{listing.id}/verlengen"), follow_redirects=True)
    expected = (start + timedelta(days=60)).date() + timedelta(days=91)
    assert reload(listing).valid_until == expected
    assert f"Verlengd tot {expected.strftime('%d-%m-%Y')}." in text(response)


def test_expired_listing_leaves_search_and_is_404_for_others(client, login, login_as, ring, member, categories):
    listing = post(member, "Fiets", category=categories[0],
                   valid_until=clock.now().date() + timedelta(days=1))
    other = factories.MemberFactory(ring=ring)
    login(other.user)
    assert found(client.get(url(ring), query_string={"q": "fiets"}, headers=FRAGMENT)) == ["Fiets"]
    clock.freeze(clock.now() + timedelta(days=2))
    assert found(client.get(url(ring), query_string={"q": "fiets"}, headers=FRAGMENT)) == []
    assert client.get(url(ring, f"/{listing.id}")).status_code == 404

    login_as(member.user)
    own = client.get(url(ring, f"/{listing.id}"))
    assert own.status_code == 200
    assert "Verlopen op" in text(own)
    client.post(url(ring, f"/{listing.id}/verlengen"))
    assert reload(listing).valid_until == clock.now().date() + timedelta(days=91)
    login_as(other.user)
    assert client.get(url(ring, f"/{listing.id}")).status_code == 200


# Coordinators


def test_coordinator_posts_on_behalf_of_a_member_and_it_is_audited(client, login, ring, coordinator, categories):
    member = factories.MemberFactory(ring=ring, user__name="Wim de Vries")
    login(coordinator.user)
    form = text(client.get(url(ring, f"/nieuw?voor={member.id}")))
    assert "U plaatst dit namens Wim de Vries." in form
    response = client.post(url(ring, f"/nieuw?voor={member.id}"), data=form_data(categories[0]))
    assert response.status_code == 302
    [listing] = listings_of(member)
    assert (listing.owner_id, listing.created_by_id) == (member.id, coordinator.user_id)
    assert listings_of(coordinator) == []
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "listing.create_on_behalf")).all()
    assert (event.actor_id, event.subject_member_id) == (coordinator.user_id, member.id)
    assert event.new["listing"] == listing.id


def test_coordinator_cannot_post_for_a_member_of_another_ring(client, login, ring, coordinator, categories):
    stranger = factories.MemberFactory()
    login(coordinator.user)
    assert client.get(url(ring, f"/nieuw?voor={stranger.id}")).status_code == 404
    assert client.post(url(ring, f"/nieuw?voor={stranger.id}"), data=form_data(categories[0])).status_code == 404
    assert listings_of(stranger) == []


def test_member_cannot_post_on_behalf(client, login, ring, member, categories):
    other = factories.MemberFactory(ring=ring)
    login(member.user)
    assert client.get(url(ring, f"/nieuw?voor={other.id}")).status_code == 404
    assert client.post(url(ring, f"/nieuw?voor={other.id}"), data=form_data(categories[0])).status_code == 404
    assert listings_of(other) == [] and listings_of(member) == []


def test_coordinator_hides_a_listing_with_a_reason_and_unhides_it(client, login, login_as, ring, member,
                                                                  coordinator, categories):
    listing = post(member, "Goedkope zonnepanelen", category=categories[0])
    other = factories.MemberFactory(ring=ring)
    login(coordinator.user)
    response = client.post(url(ring, f"/{listing.id}/verbergen"), data={"reason": "Dit is reclame."})
    assert response.status_code == 302
    listing = reload(listing)
    assert (listing.status, listing.hidden_reason) == (ListingStatus.HIDDEN, "Dit is reclame.")
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "listing.hide")).all()
    assert (event.actor_id, event.subject_member_id, event.reason) == (coordinator.user_id, member.id,
                                                                       "Dit is reclame.")
    [note] = db.session.scalars(select(Notification).where(Notification.user_id == member.user_id)).all()
    assert "Goedkope zonnepanelen" in note.text and "Dit is reclame." in note.text

    login_as(other.user)
    assert client.get(url(ring, f"/{listing.id}")).status_code == 404
    assert found(client.get(url(ring), headers=FRAGMENT)) == []

    login_as(member.user)
    own = client.get(url(ring, f"/{listing.id}"))
    assert own.status_code == 200
    assert "Verborgen door een coördinator. Reden: Dit is reclame." in text(own)
    assert client.get(url(ring, f"/{listing.id}/bewerken")).status_code == 200
    client.post(url(ring, f"/{listing.id}/bewerken"), data=form_data(categories[0], kind=None, title="Andere titel"))
    assert reload(listing).title == "Goedkope zonnepanelen"  # a hidden listing cannot be changed
    client.post(url(ring, f"/{listing.id}/hervatten"))
    assert reload(listing).status == ListingStatus.HIDDEN  # nor switched back on by its owner

    login_as(coordinator.user)
    assert client.post(url(ring, f"/{listing.id}/tonen")).status_code == 302
    assert reload(listing).status == ListingStatus.PAUSED
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "listing.unhide")).one().actor_id == \
        coordinator.user_id


def test_hiding_needs_a_reason(client, login, ring, member, coordinator, categories):
    listing = post(member, "Fiets", category=categories[0])
    login(coordinator.user)
    response = client.post(url(ring, f"/{listing.id}/verbergen"), data={"reason": ""}, follow_redirects=True)
    assert "Geef een reden op" in text(response)
    assert reload(listing).status == ListingStatus.ACTIVE


def test_member_cannot_hide_or_unhide(client, login, ring, member, categories):
    listing = post(member, "Fiets", category=categories[0])
    login(factories.MemberFactory(ring=ring).user)
    assert client.post(url(ring, f"/{listing.id}/verbergen"), data={"reason": "weg"}).status_code == 404
    assert reload(listing).status == ListingStatus.ACTIVE
    detail = text(client.get(url(ring, f"/{listing.id}")))
    assert "/verbergen" not in detail and "/pauzeren" not in detail


def categories_url(ring, path=""):
    return ring_url(ring, f"/beheer/categorieen{path}")


def category_named(ring, name) -> Category | None:
    db.session.expire_all()
    return db.session.scalar(select(Category).where(Category.ring_id == ring.id, Category.name == name))


def test_categories_page_is_for_coordinators(client, login, ring, member, coordinator, categories):
    login(member.user)
    assert client.get(categories_url(ring)).status_code == 404
    assert client.post(categories_url(ring), data={"new-name": "Fietsen"}).status_code == 404
    assert client.post(categories_url(ring, f"/{categories[0].id}"),
                       data={f"c{categories[0].id}-name": "Weg"}).status_code == 404
    assert category_named(ring, "Fietsen") is None and category_named(ring, "Klussen") is not None


def test_coordinator_adds_a_category_and_a_duplicate_is_refused(client, login, ring, coordinator, categories):
    login(coordinator.user)
    html = text(client.get(categories_url(ring)))
    assert all(category.name in html for category in categories)
    response = client.post(categories_url(ring), data={"new-name": "Fietsen", "new-care": ""})
    assert response.status_code == 302
    added = category_named(ring, "Fietsen")
    assert added is not None and added.active and not added.care
    assert added.position == len(categories)

    response = client.post(categories_url(ring), data={"new-name": "  kLUSSEN "})
    assert response.status_code == 200
    assert field_error(response, "new-name") == "Deze categorie bestaat al."
    assert len(db.session.scalars(select(Category).where(Category.ring_id == ring.id)).all()) == len(categories) + 1


def test_coordinator_renames_marks_care_and_retires_a_category(client, login, login_as, ring, member, coordinator,
                                                              categories):
    klussen, vervoer = categories[0], categories[1]
    login(coordinator.user)
    response = client.post(categories_url(ring, f"/{klussen.id}"), data={
        f"c{klussen.id}-name": "Klussen in huis", f"c{klussen.id}-active": "y", f"c{klussen.id}-care": "y"})
    assert response.status_code == 302
    renamed = category_named(ring, "Klussen in huis")
    assert renamed.id == klussen.id and renamed.care and renamed.active

    response = client.post(categories_url(ring, f"/{vervoer.id}"), data={f"c{vervoer.id}-name": "Taal"},
                           follow_redirects=True)
    assert "Deze categorie bestaat al." in text(response)
    assert category_named(ring, "Vervoer").active

    client.post(categories_url(ring, f"/{vervoer.id}"), data={f"c{vervoer.id}-name": "Vervoer"})
    assert not category_named(ring, "Vervoer").active

    login_as(member.user)
    form = text(client.get(url(ring, "/nieuw")))
    assert f'<option value="{klussen.id}">Klussen in huis</option>' in form
    assert f'value="{vervoer.id}"' not in form
    [filter_options] = re.findall(r'<select[^>]*id="category".*?</select>', text(client.get(url(ring))), re.S)
    assert "Klussen in huis" in filter_options and "Vervoer" not in filter_options  # nor as a search filter
    response = client.post(url(ring, "/nieuw"), data=form_data(vervoer))
    assert response.status_code == 200
    assert field_error(response, "category_id") == "Kies een categorie uit de lijst."
    assert listings_of(member) == []


def test_unanswered_requests_lists_old_requests_without_conversations(client, login, ring, member, coordinator,
                                                                     categories):
    helper = factories.MemberFactory(ring=ring)
    clock.freeze(clock.now() - timedelta(days=15))
    old = post(member, "Wie helpt met de belastingaangifte?", kind=ListingKind.REQUEST, category=categories[6])
    answered = post(member, "Wie kan mijn gordijnen zomen?", kind=ListingKind.REQUEST, category=categories[11])
    post(helper, "Oud aanbod: taalles", category=categories[5])
    clock.freeze(None)
    post(member, "Nieuwe vraag: tuin", kind=ListingKind.REQUEST, category=categories[2])
    db.session.add(Conversation(ring_id=ring.id, listing_id=answered.id, starter_id=helper.id, other_id=member.id))
    db.session.commit()
    login(coordinator.user)
    html = text(client.get(f"/kring/{ring.slug}/beheer/onbeantwoord"))
    assert "Wie helpt met de belastingaangifte?" in html
    assert "Wie kan mijn gordijnen zomen?" not in html
    assert "taalles" not in html and "Nieuwe vraag" not in html

    db.session.add(Conversation(ring_id=ring.id, listing_id=old.id, starter_id=helper.id, other_id=member.id))
    db.session.commit()
    html = text(client.get(f"/kring/{ring.slug}/beheer/onbeantwoord"))
    assert "Wie helpt met de belastingaangifte?" not in html
    assert "Alle vragen hebben een reactie gekregen." in html


def test_unanswered_requests_is_for_coordinators(client, login, ring, member):
    login(member.user)
    assert client.get(f"/kring/{ring.slug}/beheer/onbeantwoord").status_code == 404


# Rings are closed to each other


def test_members_of_another_ring_get_404_everywhere(client, login, login_as, ring, member, categories):
    listing = post(member, "Fiets", category=categories[0])
    outsider_ring = factories.RingFactory()
    services.categories_create_defaults(ring=outsider_ring)
    outsider = factories.MemberFactory(ring=outsider_ring, role="coordinator")
    login(outsider.user)
    gets = [url(ring), url(ring) + "?q=fiets", url(ring, "/nieuw"), url(ring, f"/{listing.id}"),
            url(ring, f"/{listing.id}/bewerken"), f"/kring/{ring.slug}/mijn-advertenties",
            categories_url(ring), f"/kring/{ring.slug}/beheer/onbeantwoord"]
    for path in gets:
        assert client.get(path).status_code == 404, path
    assert client.get(url(ring) + "?q=fiets", headers=FRAGMENT).status_code == 404
    posts = [url(ring, "/nieuw"), url(ring, f"/{listing.id}/bewerken"), url(ring, f"/{listing.id}/pauzeren"),
             url(ring, f"/{listing.id}/sluiten"), url(ring, f"/{listing.id}/verlengen"),
             url(ring, f"/{listing.id}/verbergen"), url(ring, f"/{listing.id}/tonen"), categories_url(ring),
             categories_url(ring, f"/{categories[0].id}")]
    for path in posts:
        assert client.post(path, data={"reason": "x", "title": "x", "new-name": "x"}).status_code == 404, path

    # Ring A's ids through ring B's own pages, where the outsider is a coordinator.
    for path in [url(outsider_ring, f"/{listing.id}"), url(outsider_ring, f"/{listing.id}/bewerken")]:
        assert client.get(path).status_code == 404, path
    for path in [url(outsider_ring, f"/{listing.id}/{action}") for action in ("pauzeren", "sluiten", "verlengen")] + \
            [url(outsider_ring, f"/{listing.id}/verbergen"), url(outsider_ring, f"/{listing.id}/tonen"),
             categories_url(outsider_ring, f"/{categories[0].id}"), url(outsider_ring, f"/nieuw?voor={member.id}")]:
        assert client.post(path, data={"reason": "x", f"c{categories[0].id}-name": "x"}).status_code == 404, path
    assert found(client.get(url(outsider_ring), query_string={"q": "fiets"}, headers=FRAGMENT)) == []

    listing = reload(listing)
    assert (listing.status, listing.title) == (ListingStatus.ACTIVE, "Fiets")
    assert category_named(ring, "Klussen") is not None and len(listings_of(member)) == 1
    assert db.session.scalars(select(AuditEvent)).all() == []


# Profiles


def test_profile_shows_active_listings_and_trade_count_but_no_balance(client, login, login_as, ring, member,
                                                                      categories):
    neighbour = factories.MemberFactory(ring=ring)
    post(member, "Fietsen repareren", category=categories[0])
    paused = post(member, "Gepauzeerd aanbod", category=categories[0])
    services.listing_set_status(listing=paused, status=ListingStatus.PAUSED, changed_by=member.user)
    db.session.commit()
    for key, amount in (("a", 90), ("b", 45)):
        pay(member, neighbour, amount, "fiets", key=key)
    db.session.commit()

    for viewer in (neighbour, member):
        login_as(viewer.user)
        html = text(client.get(f"/kring/{ring.slug}/leden/{member.id}"))
        assert "Fietsen repareren" in html
        assert "Gepauzeerd aanbod" not in html
        assert re.search(r"<dt>Aantal ruilen</dt><dd>2</dd>", html)
        # The cards stand under the page's h2 "Aanbod en vraag van ...": their titles are h3.
        assert re.search(r'<h3 class="card-title"><a href="[^"]*">Fietsen repareren</a></h3>', html)
        # (-135 minutes, not part of a slug such as ruilkring-135)
        assert "2:15" not in html and not re.search(r"[^\w-]-135\b", html) and "Saldo en ruilen" not in html
        assert not re.search(r"<dt>[^<]*[Ss]aldo", html)
