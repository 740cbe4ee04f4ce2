"""Pages outside any ring: home, development outbox, notifications, health, language, errors."""

import pytest
from sqlalchemy import select

from ruilkring import create_app
from ruilkring.extensions import db
from ruilkring.notifications.models import Notification
from ruilkring.notifications.services import notification_create
from tests import factories
from tests.helpers import text


@pytest.fixture
def production_app(app, tmp_path):
    """The same database served by an app configured for production."""
    production = create_app({
        "ENV": "production",
        "SECRET_KEY": "production-secret",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "OUTBOX_DIR": str(tmp_path / "production-outbox"),
    })
    assert production.config["ENV"] == "production"
    yield production
    with production.app_context():
        db.engine.dispose()


# Home page

def test_home_lists_the_rings(client):
    first = factories.RingFactory(name="Ruilkring Bilthoven")
    second = factories.RingFactory(name="Ruilkring Amersfoort")
    db.session.commit()
    response = client.get("/")
    assert response.status_code == 200
    html = text(response)
    assert html.index("Ruilkring Amersfoort") < html.index("Ruilkring Bilthoven")
    for ring in (first, second):
        assert f'href="/kring/{ring.slug}/"' in html
        assert f"Gemeente {ring.municipality.name}" in html


def test_home_without_rings_says_so(client):
    assert "Er zijn nog geen kringen." in text(client.get("/"))


def test_home_shows_no_demo_accounts_when_there_are_none(client, ring):
    db.session.commit()
    assert "demo-accounts" not in text(client.get("/"))


def test_home_shows_the_demo_accounts_that_exist(client):
    factories.UserFactory(email="lid@example.org")
    factories.UserFactory(email="admin@example.org", is_admin=True)
    db.session.commit()
    html = text(client.get("/"))
    assert "Uitproberen met de demo-accounts" in html
    assert "<code>lid@example.org</code>" in html
    assert "<code>admin@example.org</code>" in html
    assert "coordinator@example.org" not in html
    assert 'href="/dev/outbox"' in html


def test_home_hides_demo_accounts_in_production(production_app):
    factories.UserFactory(email="lid@example.org")
    factories.RingFactory(name="Ruilkring Productie")
    db.session.commit()
    html = text(production_app.test_client().get("/"))
    assert "Ruilkring Productie" in html
    assert "lid@example.org" not in html
    assert "demo-accounts" not in html


def test_signed_in_member_of_one_ring_goes_to_its_start_page(client, login, member):
    login(member.user)
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/kring/{member.ring.slug}/start"
    assert client.get("/", query_string={"stay": 1}).status_code == 200


def test_signed_in_user_with_a_pending_sign_up_sees_it(client, login, ring):
    from ruilkring.members.models import MemberStatus

    pending = factories.MemberFactory(ring=ring, status=MemberStatus.PENDING)
    login(pending.user)
    html = text(client.get("/"))
    assert ring.name in html
    assert "Uw aanmelding wacht op goedkeuring" in html


def test_municipality_viewer_goes_to_the_gemeente_page(client, login, ring):
    viewer = factories.UserFactory(municipality=ring.municipality)
    login(viewer)
    response = client.get("/")
    assert response.headers["Location"] == "/gemeente/"


# Development outbox

def test_outbox_lists_sent_mail(client, outbox):
    assert "Er zijn nog geen e-mails verstuurd." in text(client.get("/dev/outbox"))
    factories.UserFactory(email="wim@example.org")
    db.session.commit()
    client.post("/wachtwoord-vergeten", data={"email": "wim@example.org"})
    assert len(outbox()) == 1
    html = text(client.get("/dev/outbox"))
    assert "Nieuw wachtwoord instellen" in html
    assert "wim@example.org" in html
    assert '<a href="http://ruilkring.test/wachtwoord-instellen/reset/' in html


def test_outbox_is_not_found_in_production(production_app):
    response = production_app.test_client().get("/dev/outbox")
    assert response.status_code == 404
    assert "Pagina niet gevonden" in text(response)


# Notifications

def test_notifications_page_lists_own_notifications_newest_first(client, login, ring):
    user = factories.UserFactory()
    other = factories.UserFactory()
    notification_create(user=user, text="Eerste melding", ring=ring)
    db.session.flush()
    notification_create(user=user, text="Tweede melding", link=f"/kring/{ring.slug}/")
    notification_create(user=other, text="Niet voor jou")
    login(user)
    response = client.get("/meldingen")
    assert response.status_code == 200
    html = text(response)
    assert html.index("Tweede melding") < html.index("Eerste melding")
    assert f'<a href="/kring/{ring.slug}/">Tweede melding</a>' in html
    assert "Niet voor jou" not in html
    assert 'aria-label="2 ongelezen"' in html


def test_notifications_post_marks_all_read(client, login):
    user = factories.UserFactory()
    other = factories.UserFactory()
    notification_create(user=user, text="Een melding")
    notification_create(user=user, text="Nog een melding")
    notification_create(user=other, text="Niet voor jou")
    login(user)
    response = client.post("/meldingen")
    assert response.status_code == 302
    assert response.headers["Location"] == "/meldingen"
    read = dict(db.session.execute(select(Notification.text, Notification.read_at)).all())
    assert read["Een melding"] is not None and read["Nog een melding"] is not None
    assert read["Niet voor jou"] is None
    html = text(client.get("/meldingen"))
    assert "ongelezen" not in html
    assert '<span class="badge">nieuw</span>' not in html


def test_notifications_page_without_notifications(client, login):
    login(factories.UserFactory())
    assert "U heeft geen meldingen." in text(client.get("/meldingen"))


def test_notifications_require_login(client):
    response = client.get("/meldingen")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/inloggen")


# Health check

def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


# Language

def test_language_switch_to_english_and_back(client):
    response = client.post("/taal/en", data={"next": "/inloggen"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/inloggen"
    html = text(client.get("/inloggen"))
    assert '<html lang="en">' in html
    assert "Log in" in html
    assert 'lang="nl">Nederlands</button>' in html
    client.post("/taal/nl")
    html = text(client.get("/inloggen"))
    assert '<html lang="nl">' in html
    assert "Inloggen" in html


def test_language_switch_is_kept_on_the_account(client, login):
    user = factories.UserFactory()
    login(user)
    client.post("/taal/en", data={"next": "/account"})
    assert user.locale == "en"
    client.post("/uitloggen")
    client.post("/taal/nl")
    login(user)
    assert '<html lang="en">' in text(client.get("/account"))


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", ""])
def test_language_switch_only_returns_to_local_pages(client, target):
    response = client.post("/taal/en", data={"next": target})
    assert response.headers["Location"] == "/"


def test_unknown_language_is_not_found(client):
    assert client.post("/taal/de").status_code == 404
    assert '<html lang="nl">' in text(client.get("/"))


def test_language_switch_needs_post(client):
    response = client.get("/taal/en")
    assert response.status_code == 405
    assert "Dat kan hier niet" in text(response)


# Error pages

def test_not_found_page_is_friendly_and_dutch(client):
    response = client.get("/bestaat-niet")
    assert response.status_code == 404
    html = text(response)
    assert '<html lang="nl">' in html
    assert "<h1>Pagina niet gevonden</h1>" in html
    assert "Deze pagina bestaat niet, of u heeft er geen toegang toe." in html
    assert 'href="/">Naar de startpagina</a>' in html


def test_unknown_ring_is_not_found(client):
    response = client.get("/kring/bestaat-niet/")
    assert response.status_code == 404
    assert "Pagina niet gevonden" in text(response)
