"""The cron jobs of the listings area: expiry reminders with their one-click renew link,
and the weekly digest."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from ruilkring import clock
from ruilkring.extensions import db
from ruilkring.listings import services
from ruilkring.listings.models import HelpKind, Listing, ListingKind, ListingPlace, ListingStatus
from ruilkring.listings.selectors import ring_categories
from ruilkring.members.models import MemberStatus
from tests import factories
from tests.helpers import reload

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # a Friday in ISO week 2026-W47
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def _frozen(app):
    clock.freeze(NOW)


def post(owner, title, kind=ListingKind.OFFER, **extra) -> Listing:
    category = (ring_categories(ring=owner.ring) or services.categories_create_defaults(ring=owner.ring))[0]
    listing = services.listing_create(
        owner=owner, kind=kind, title=title, description="", category_id=category.id,
        help_kind=HelpKind.PRACTICAL, place=ListingPlace.IN_NEIGHBOURHOOD, created_by=owner.user, **extra)
    db.session.commit()
    return listing


def run(app, *args) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def renew_path(mail) -> str:
    [link] = re.findall(r"\S+/verlengen/\S+", mail.get_content())
    return urlsplit(link).path


def test_remind_expiring_mails_each_owner_once_a_week_before_expiry(app, outbox, member):
    due = post(member, "Over een week verlopen", valid_until=TODAY + timedelta(days=7))
    later = post(member, "Verloopt een dag later", valid_until=TODAY + timedelta(days=8))
    paused = post(member, "Op pauze", valid_until=TODAY + timedelta(days=7))
    closed = post(member, "Gesloten", valid_until=TODAY + timedelta(days=7))
    paused.status, closed.status = ListingStatus.PAUSED, ListingStatus.CLOSED
    gone = factories.MemberFactory(ring=member.ring)
    post(gone, "Van iemand die vertrok", valid_until=TODAY + timedelta(days=7))
    gone.status = MemberStatus.LEFT
    db.session.commit()

    assert "1 expiry reminders sent" in run(app, "listings", "remind-expiring")
    [mail] = outbox()
    assert mail["To"] == member.user.email
    assert "Over een week verlopen" in mail["Subject"]
    body = mail.get_content()
    assert "verlengt u haar met drie maanden, zonder in te loggen" in body
    assert renew_path(mail).startswith(f"/kring/{member.ring.slug}/aanbod-en-vraag/{due.id}/verlengen/")
    assert re.search(rf"/kring/{member.ring.slug}/aanbod-en-vraag/{due.id}$", body, re.MULTILINE)
    assert reload(due).expiry_reminded_on == TODAY
    assert reload(later).expiry_reminded_on is None

    assert "0 expiry reminders sent" in run(app, "listings", "remind-expiring")
    assert len(outbox()) == 1

    clock.freeze(NOW + timedelta(days=1))
    assert "1 expiry reminders sent" in run(app, "listings", "remind-expiring")
    assert "Verloopt een dag later" in outbox()[0]["Subject"]
    assert len(outbox()) == 2


def test_the_renew_link_renews_without_logging_in_and_only_once(app, client, outbox, member):
    listing = post(member, "Hulp bij de computer", valid_until=TODAY + timedelta(days=7))
    run(app, "listings", "remind-expiring")
    path = renew_path(outbox()[0])

    page = client.get(path)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Hulp bij de computer" in text and "Verlengen met drie maanden" in text
    assert reload(listing).valid_until == TODAY + timedelta(days=7)  # a GET changes nothing

    clock.freeze(NOW + timedelta(days=3))
    done = client.post(path)
    assert done.status_code == 200
    assert "Verlengd tot en met" in done.get_data(as_text=True)
    renewed = reload(listing)
    assert renewed.valid_until == TODAY + timedelta(days=3 + services.VALIDITY_DAYS)
    assert renewed.expiry_reminded_on is None  # so the next expiry is reminded again

    again = client.post(path)
    assert again.status_code == 400
    assert "Deze link is al gebruikt" in again.get_data(as_text=True)
    assert client.get(path).status_code == 400
    assert reload(listing).valid_until == renewed.valid_until


def test_a_renew_link_works_for_thirty_days(app, client, outbox, member):
    listing = post(member, "Honden uitlaten", valid_until=TODAY + timedelta(days=7))
    run(app, "listings", "remind-expiring")
    path = renew_path(outbox()[0])

    clock.freeze(NOW + timedelta(days=31))
    refused = client.post(path)
    assert refused.status_code == 400
    assert "Deze link is verlopen" in refused.get_data(as_text=True)
    assert reload(listing).valid_until == TODAY + timedelta(days=7)

    clock.freeze(NOW + timedelta(days=29))  # expired as a listing, but the link still works
    assert client.post(path).status_code == 200
    assert reload(listing).valid_until == TODAY + timedelta(days=29 + services.VALIDITY_DAYS)


def test_a_renew_link_is_for_its_own_listing_only(app, client, outbox, member):
    mine = post(member, "Mijn aanbod", valid_until=TODAY + timedelta(days=7))
    neighbour = factories.MemberFactory(ring=member.ring)
    theirs = post(neighbour, "Hun aanbod", valid_until=TODAY + timedelta(days=7))
    run(app, "listings", "remind-expiring")
    [path] = [renew_path(mail) for mail in outbox() if mail["To"] == member.user.email]
    token = path.rsplit("/", 1)[1]
    slug = member.ring.slug

    wrong_listing = client.post(f"/kring/{slug}/aanbod-en-vraag/{theirs.id}/verlengen/{token}")
    assert wrong_listing.status_code == 400
    assert "Deze link is ongeldig" in wrong_listing.get_data(as_text=True)
    tampered = client.post(f"/kring/{slug}/aanbod-en-vraag/{mine.id}/verlengen/{token[:-2]}xy")
    assert tampered.status_code == 400
    other_ring = factories.RingFactory()
    assert client.post(f"/kring/{other_ring.slug}/aanbod-en-vraag/{mine.id}/verlengen/{token}").status_code == 404
    assert reload(theirs).valid_until == reload(mine).valid_until == TODAY + timedelta(days=7)


@pytest.mark.parametrize("status", [ListingStatus.CLOSED, ListingStatus.HIDDEN])
def test_a_renew_link_is_refused_once_the_listing_was_closed_or_hidden(app, client, outbox, member, status):
    listing = post(member, "Tuinieren", valid_until=TODAY + timedelta(days=7))
    run(app, "listings", "remind-expiring")
    path = renew_path(outbox()[0])
    listing.status = status
    db.session.commit()

    for method in (client.get, client.post):
        response = method(path)
        assert response.status_code == 400
        assert "Deze advertentie kan niet meer worden verlengd" in response.get_data(as_text=True)
    assert reload(listing).valid_until == TODAY + timedelta(days=7)


# The weekly digest


@pytest.fixture
def people(ring):
    """Alice and Bob post in ring A; Carol opted out; Dave is in another ring."""
    alice = factories.MemberFactory(ring=ring, user__name="Alice Jansen")
    bob = factories.MemberFactory(ring=ring, user__name="Bob de Vries")
    carol = factories.MemberFactory(ring=ring, digest_opt_out=True)
    dave = factories.MemberFactory(ring=factories.RingFactory())
    clock.freeze(NOW - timedelta(days=10))
    post(bob, "Oude vraag van vorige week", kind=ListingKind.REQUEST)
    clock.freeze(NOW - timedelta(days=2))
    post(alice, "Fiets repareren")
    post(bob, "Hulp in de tuin gezocht", kind=ListingKind.REQUEST)
    post(dave, "Aanbod in een andere kring")
    paused = post(bob, "Gepauzeerd aanbod")
    paused.status = ListingStatus.PAUSED
    db.session.commit()
    clock.freeze(NOW)
    return alice, bob, carol, dave


def mail_to(outbox, member):
    return [mail for mail in outbox() if mail["To"] == member.user.email]


def test_the_digest_brings_what_others_in_the_ring_posted_this_week(app, outbox, ring, people):
    alice, bob, carol, dave = people
    assert "2 digests sent" in run(app, "digest", "send")

    [to_alice] = mail_to(outbox, alice)
    assert ring.name in to_alice["Subject"]
    body = to_alice.get_content()
    assert "Nieuwe vragen" in body and "Hulp in de tuin gezocht" in body and "Bob de Vries" in body
    bobs = db.session.scalar(db.select(Listing).where(Listing.title == "Hulp in de tuin gezocht"))
    assert f"/kring/{ring.slug}/aanbod-en-vraag/{bobs.id}" in body
    for absent in ("Fiets repareren", "Oude vraag van vorige week", "Aanbod in een andere kring",
                   "Gepauzeerd aanbod", "Nieuw aanbod"):
        assert absent not in body
    assert "Liever niet meer?" in body and f"/kring/{ring.slug}/profiel" in body

    [to_bob] = mail_to(outbox, bob)
    assert "Fiets repareren" in to_bob.get_content() and "Nieuw aanbod" in to_bob.get_content()
    assert "Hulp in de tuin gezocht" not in to_bob.get_content()

    assert mail_to(outbox, carol) == []  # opted out
    assert mail_to(outbox, dave) == []  # only his own listing is new in his ring
    assert reload(alice).digest_last_week == reload(bob).digest_last_week == "2026-W47"
    assert reload(carol).digest_last_week is None and reload(dave).digest_last_week is None


def test_the_digest_is_sent_once_per_week(app, outbox, people):
    alice, bob, _carol, _dave = people
    run(app, "digest", "send")
    assert len(outbox()) == 2

    assert "0 digests sent" in run(app, "digest", "send")
    clock.freeze(NOW + timedelta(days=2, hours=14))  # Sunday evening, still week 47
    post(bob, "Nog een aanbod op zondag")
    assert "0 digests sent" in run(app, "digest", "send")
    assert len(outbox()) == 2

    clock.freeze(NOW + timedelta(days=7))  # next Friday, week 48
    assert "1 digests sent" in run(app, "digest", "send")  # Bob's Sunday offer, for Alice
    [newest] = outbox()[:1]
    assert newest["To"] == alice.user.email
    assert "Nog een aanbod op zondag" in newest.get_content()
    assert "Fiets repareren" not in newest.get_content()
    assert reload(alice).digest_last_week == "2026-W48"


def test_no_digest_when_nothing_is_new(app, outbox, member):
    assert "0 digests sent" in run(app, "digest", "send")
    assert outbox() == []
    assert reload(member).digest_last_week is None


def test_members_switch_the_digest_off_and_on_in_their_profile(client, login, ring, member):
    label = "Wekelijks een e-mail met nieuw aanbod en nieuwe vragen"
    login(member.user)
    page = client.get(f"/kring/{ring.slug}/profiel").get_data(as_text=True)
    assert label in page
    assert re.search(r'<input checked[^>]*name="digest"|name="digest"[^>]*checked', page)

    data = {"bio": "", "neighbourhood_id": str(member.neighbourhood_id), "birth_year": ""}
    assert client.post(f"/kring/{ring.slug}/profiel", data=data).status_code == 302
    assert reload(member).digest_opt_out is True
    page = client.get(f"/kring/{ring.slug}/profiel").get_data(as_text=True)
    assert not re.search(r'<input checked[^>]*name="digest"|name="digest"[^>]*checked', page)

    assert client.post(f"/kring/{ring.slug}/profiel", data={**data, "digest": "y"}).status_code == 302
    assert reload(member).digest_opt_out is False
