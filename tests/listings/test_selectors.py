"""The one listing search, on both databases: words, accents, filters, visibility."""

from datetime import timedelta

from ruilkring import clock
from ruilkring.extensions import db
from ruilkring.listings import selectors, services
from ruilkring.listings.models import HelpKind, ListingKind, ListingPlace, ListingStatus
from ruilkring.members.models import MemberStatus
from tests import factories


def post(owner, title, description="", kind=ListingKind.OFFER, category=None, **extra):
    if category is None:
        category = services.categories_create_defaults(ring=owner.ring)[0]
    return services.listing_create(
        owner=owner, kind=kind, title=title, description=description, category_id=category.id,
        help_kind=HelpKind.PRACTICAL, place=ListingPlace.IN_NEIGHBOURHOOD, created_by=owner.user, **extra)


def found(ring, **criteria):
    db.session.commit()
    return [listing.title for listing in db.session.scalars(selectors.listing_search(ring=ring, **criteria))]


def test_search_ignores_accents_and_case_and_matches_word_starts(ring, member, categories):
    post(member, "Samen naar het Café", "Gezellig koffie drinken", category=categories[4])
    post(member, "Fietsen repareren", "Ook BAKFIETSEN", category=categories[0])
    assert found(ring, q="cafe") == ["Samen naar het Café"]
    assert found(ring, q="CAFÉ koffie") == ["Samen naar het Café"]
    assert found(ring, q="fiets") == ["Fietsen repareren"]
    assert found(ring, q="repar") == ["Fietsen repareren"]
    assert found(ring, q="tuin") == []
    assert found(ring, q="!!! ' \" ( ) * : &") == ["Fietsen repareren", "Samen naar het Café"]


def test_a_search_of_stop_words_only_still_finds_listings(ring, member, categories):
    # PostgreSQL's dutch configuration drops "de" and "het"; the search must not come
    # back empty for them (SQLite's index keeps every word).
    post(member, "De tuin van het buurthuis", category=categories[0])
    post(member, "Fietsen repareren", category=categories[0])
    assert "De tuin van het buurthuis" in found(ring, q="de het")
    assert found(ring, q="de tuin") == ["De tuin van het buurthuis"]


def test_search_finds_text_after_an_edit(ring, member, categories):
    listing = post(member, "Oude titel", category=categories[0])
    db.session.commit()
    services.listing_update(listing=listing, title="Nieuwe titel over honden", description="",
                            category_id=categories[0].id, help_kind=HelpKind.PRACTICAL,
                            place=ListingPlace.ONLINE, time_estimate=None,
                            valid_until=listing.valid_until, updated_by=member.user)
    assert found(ring, q="honden") == ["Nieuwe titel over honden"]
    assert found(ring, q="oude") == []


def test_filters_kind_category_wijk_and_new_this_week(ring, categories):
    north, south = ring.neighbourhoods
    alice = factories.MemberFactory(ring=ring, neighbourhood=north)
    bob = factories.MemberFactory(ring=ring, neighbourhood=south)
    clock.freeze(clock.now() - timedelta(days=10))
    post(alice, "Oud aanbod", category=categories[0])
    clock.freeze(None)
    post(bob, "Vraag tuin", kind=ListingKind.REQUEST, category=categories[2])
    assert found(ring, kind="request") == ["Vraag tuin"]
    assert found(ring, category_id=categories[0].id) == ["Oud aanbod"]
    assert found(ring, neighbourhood_id=north.id) == ["Oud aanbod"]
    assert found(ring, new_this_week=True) == ["Vraag tuin"]
    assert found(ring) == ["Vraag tuin", "Oud aanbod"]


def page_titles(ring, page, per_page=2, **criteria):
    db.session.commit()
    result = selectors.listing_search_page(ring=ring, page=page, per_page=per_page, **criteria)
    return [listing.title for listing in result.items], result.total


def test_own_wijk_first_pages_through_the_own_wijk_then_the_others(ring, categories):
    north, south = ring.neighbourhoods
    alice = factories.MemberFactory(ring=ring, neighbourhood=north)
    bob = factories.MemberFactory(ring=ring, neighbourhood=south)
    nowhere = factories.MemberFactory(ring=ring, neighbourhood=None)
    for owner, title in ((alice, "N1"), (bob, "S1"), (alice, "N2"), (nowhere, "X1"), (alice, "N3"), (bob, "S2")):
        post(owner, title, category=categories[0])
        clock.freeze(clock.now() + timedelta(minutes=1))
    clock.freeze(None)
    # Newest first within the own wijk, then newest first among all others (no wijk too).
    pages = [page_titles(ring, n, sort="nearby", viewer=alice) for n in (1, 2, 3, 4)]
    assert pages == [(["N3", "N2"], 6), (["N1", "S2"], 6), (["X1", "S1"], 6), ([], 6)]
    assert page_titles(ring, 1, per_page=4, sort="nearby", viewer=alice, q="s") == (["S2", "S1"], 2)
    # Without a wijk of one's own, or sorted by date: newest first.
    assert page_titles(ring, 1, per_page=6, sort="nearby", viewer=nowhere)[0] == ["S2", "N3", "X1", "N2", "S1", "N1"]
    assert page_titles(ring, 1, per_page=6)[0] == ["S2", "N3", "X1", "N2", "S1", "N1"]


def test_only_active_unexpired_listings_of_taking_part_members_of_the_ring(ring, categories):
    owner = factories.MemberFactory(ring=ring)
    paused = post(owner, "Gepauzeerd", category=categories[0])
    services.listing_set_status(listing=paused, status=ListingStatus.PAUSED, changed_by=owner.user)
    post(owner, "Verloopt morgen", category=categories[0], valid_until=clock.now().date() + timedelta(days=1))
    other_ring_member = factories.MemberFactory()
    post(other_ring_member, "Andere kring")
    leaver = factories.MemberFactory(ring=ring)
    post(leaver, "Van een inactief lid", category=categories[0])
    leaver.status = MemberStatus.INACTIVE
    assert found(ring) == ["Verloopt morgen"]
    clock.freeze(clock.now() + timedelta(days=2))
    assert found(ring) == []


def test_matches_offer_the_other_side_in_the_same_category_or_with_a_shared_word(ring, categories):
    asker, helper, other = (factories.MemberFactory(ring=ring) for _ in range(3))
    request = post(asker, "Hulp met mijn computer", kind=ListingKind.REQUEST, category=categories[3])
    post(helper, "Computerles", category=categories[3])
    post(other, "Computer opschonen", category=categories[0])
    post(other, "Tuin", category=categories[2])
    db.session.commit()
    assert {m.title for m in selectors.listing_matches(listing=request)} == {"Computerles", "Computer opschonen"}
