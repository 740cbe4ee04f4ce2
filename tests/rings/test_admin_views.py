"""Platform admin pages: creating and editing rings, appointing coordinators, gemeente viewers."""

import re

import pytest
from sqlalchemy import select

from ruilkring.audit.models import AuditEvent
from ruilkring.auth.models import User
from ruilkring.extensions import db
from ruilkring.members.models import Member, MemberRole, MemberStatus
from ruilkring.rings.models import Ring
from tests import factories
from tests.helpers import field_error, mail_link, text


@pytest.fixture
def admin_client(client, login, admin):
    login(admin)
    return client


def ring_data(**overrides) -> dict:
    data = {
        "name": "Ruilkring De Bilt", "municipality": "De Bilt",
        "neighbourhoods": "Bilthoven-Noord\r\nBilthoven-Zuid\r\n\r\n  Groenekan  \r\n",
        "currency_name": "uur", "default_min_balance": "-20:00", "default_max_balance": "40:00",
        "description": "Buren in De Bilt helpen elkaar.", "house_rules": "Eén uur is één uur.",
    }
    data.update(overrides)
    return data


def rings() -> list[Ring]:
    return db.session.scalars(select(Ring).order_by(Ring.id)).all()


# Who may enter

@pytest.mark.parametrize("path", ["/beheer/", "/beheer/kringen/nieuw", "/beheer/gemeenten"])
def test_non_admins_get_404(client, login, coordinator, path):
    login(coordinator.user)
    response = client.get(path)
    assert response.status_code == 404
    assert "Pagina niet gevonden" in text(response)


def test_non_admin_cannot_create_a_ring(client, login, member):
    login(member.user)
    assert client.post("/beheer/kringen/nieuw", data=ring_data()).status_code == 404
    assert [r.id for r in rings()] == [member.ring_id]


def test_anonymous_visitor_is_asked_to_log_in(client):
    response = client.get("/beheer/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/inloggen?next=")


def test_admin_index_lists_rings_and_active_member_counts(admin_client, ring, member, coordinator):
    factories.MemberFactory(ring=ring, status=MemberStatus.PENDING)
    html = text(admin_client.get("/beheer/"))
    assert ring.name in html
    assert re.search(rf"{ring.municipality.name}</td>\s*<td>2</td>", html)


# Creating a ring

def test_admin_creates_a_ring(admin_client, admin):
    form = admin_client.get("/beheer/kringen/nieuw")
    assert form.status_code == 200
    assert 'value="-20:00"' in text(form)
    response = admin_client.post("/beheer/kringen/nieuw", data=ring_data())
    assert response.status_code == 302
    [ring] = rings()
    assert response.headers["Location"] == f"/beheer/kringen/{ring.id}"
    assert (ring.name, ring.slug, ring.municipality.name) == ("Ruilkring De Bilt", "ruilkring-de-bilt", "De Bilt")
    assert [n.name for n in ring.neighbourhoods] == ["Bilthoven-Noord", "Bilthoven-Zuid", "Groenekan"]
    assert (ring.default_min_balance, ring.default_max_balance) == (-20 * 60, 40 * 60)
    assert ring.house_rules_version == 1
    event = db.session.scalars(select(AuditEvent)).one()
    assert (event.action, event.actor_id, event.ring_id) == ("ring.create", admin.id, ring.id)
    assert "De kring Ruilkring De Bilt is aangemaakt." in text(admin_client.get(response.headers["Location"]))
    public = admin_client.get(f"/kring/{ring.slug}/")
    assert "Bilthoven-Noord, Bilthoven-Zuid, Groenekan" in text(public)


@pytest.mark.parametrize(
    ("typed", "minutes"), [("-12:30", -750), ("-10", -10), ("0", 0), ("-2,5", -150)],
)
def test_lower_limit_is_read_as_hours_and_minutes(admin_client, typed, minutes):
    admin_client.post("/beheer/kringen/nieuw", data=ring_data(default_min_balance=typed))
    [ring] = rings()
    assert ring.default_min_balance == minutes


def test_new_ring_reuses_the_wijken_of_its_gemeente(admin_client):
    admin_client.post("/beheer/kringen/nieuw", data=ring_data())
    admin_client.post("/beheer/kringen/nieuw", data=ring_data(name="Ruilkring Groenekan", neighbourhoods="groenekan"))
    first, second = rings()
    assert second.municipality_id == first.municipality_id
    assert [n.id for n in second.neighbourhoods] == [first.neighbourhoods[-1].id]


@pytest.mark.parametrize("wijken", ["", "  \r\n \r\n"])
def test_create_requires_a_wijk(admin_client, wijken):
    response = admin_client.post("/beheer/kringen/nieuw", data=ring_data(neighbourhoods=wijken))
    assert response.status_code == 200
    assert field_error(response, "neighbourhoods") == "Noem minstens één wijk."
    assert rings() == []


def test_create_refuses_a_positive_lower_limit(admin_client):
    response = admin_client.post("/beheer/kringen/nieuw", data=ring_data(default_min_balance="5:00"))
    assert response.status_code == 200
    assert field_error(response, "default_min_balance") == "De ondergrens moet 0 of lager zijn."
    assert 'value="5:00"' in text(response)
    assert rings() == []


def test_create_refuses_a_negative_upper_limit(admin_client):
    response = admin_client.post("/beheer/kringen/nieuw", data=ring_data(default_max_balance="-5:00"))
    assert response.status_code == 200
    assert field_error(response, "default_max_balance") is not None
    assert rings() == []


def test_create_refuses_an_unreadable_limit(admin_client):
    response = admin_client.post("/beheer/kringen/nieuw", data=ring_data(default_max_balance="abc"))
    assert response.status_code == 200
    assert field_error(response, "default_max_balance") == (
        "Dit is geen tijdsduur die we kunnen lezen. Schrijf bijvoorbeeld 1:30, 1,5 of 90m."
    )
    assert 'value="abc"' in text(response)
    assert rings() == []


def test_create_requires_the_limits(admin_client):
    response = admin_client.post("/beheer/kringen/nieuw", data=ring_data(default_min_balance=""))
    assert field_error(response, "default_min_balance") == "Vul een ondergrens in, bijvoorbeeld -20:00."
    assert rings() == []


def test_create_refuses_a_duplicate_name(admin_client, ring):
    response = admin_client.post("/beheer/kringen/nieuw", data=ring_data(name=ring.name.upper()))
    assert response.status_code == 200
    assert field_error(response, "name") == "Er bestaat al een kring met deze naam."
    assert rings() == [ring]


def test_create_refuses_a_name_without_letters(admin_client):
    response = admin_client.post("/beheer/kringen/nieuw", data=ring_data(name="!!!"))
    assert field_error(response, "name") == "Kies een naam met letters of cijfers."
    assert rings() == []


# Editing a ring

def edit_data(ring, **overrides) -> dict:
    data = ring_data(
        name=ring.name, municipality=ring.municipality.name,
        neighbourhoods="\n".join(n.name for n in ring.neighbourhoods), house_rules=ring.house_rules,
        description=ring.description,
    )
    data.update(overrides)
    return data


def test_edit_form_shows_the_settings(admin_client, ring):
    html = text(admin_client.get(f"/beheer/kringen/{ring.id}"))
    assert f'value="{ring.name}"' in html
    assert "Noord\nZuid" in html
    assert 'value="-20:00"' in html and 'value="40:00"' in html
    assert "Deze kring heeft nog geen coördinator." in html


def test_edit_saves_and_keeps_the_house_rules_version(admin_client, ring):
    response = admin_client.post(f"/beheer/kringen/{ring.id}", data=edit_data(
        ring, name="Ruilkring Nieuwe Naam", neighbourhoods="Noord\nOost", default_max_balance="60:00",
    ))
    assert response.status_code == 302
    assert ring.name == "Ruilkring Nieuwe Naam"
    assert [n.name for n in ring.neighbourhoods] == ["Noord", "Oost"]
    assert ring.default_max_balance == 60 * 60
    assert ring.house_rules_version == 1
    assert "De instellingen zijn opgeslagen." in text(admin_client.get(response.headers["Location"]))


def test_changing_the_house_rules_bumps_the_version(admin_client, ring, member):
    admin_client.post(f"/beheer/kringen/{ring.id}", data=edit_data(ring, house_rules="Nieuwe regels."))
    assert (ring.house_rules, ring.house_rules_version) == ("Nieuwe regels.", 2)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "ring.update")).one()
    assert (event.old["house_rules_version"], event.new["house_rules_version"]) == (1, 2)


def test_edit_refuses_bad_input(admin_client, ring):
    response = admin_client.post(f"/beheer/kringen/{ring.id}", data=edit_data(ring, default_min_balance="1:00"))
    assert field_error(response, "default_min_balance") == "De ondergrens moet 0 of lager zijn."
    response = admin_client.post(f"/beheer/kringen/{ring.id}", data=edit_data(ring, neighbourhoods=" \n "))
    assert field_error(response, "neighbourhoods") == "Noem minstens één wijk."
    assert ring.default_min_balance == -20 * 60
    assert [n.name for n in ring.neighbourhoods] == ["Noord", "Zuid"]


def test_edit_of_an_unknown_ring_is_not_found(admin_client):
    assert admin_client.get("/beheer/kringen/999999").status_code == 404


# Coordinators

def appoint(admin_client, ring, **data):
    db.session.commit()
    return admin_client.post(f"/beheer/kringen/{ring.id}/coordinatoren", data=data)


def test_appointing_a_new_person_sends_an_invitation_to_set_a_password(app, admin_client, ring, outbox):
    response = appoint(admin_client, ring, email="Carla@Example.org", name="Carla Coördinator")
    assert response.status_code == 302
    assert "Carla Coördinator is nu coördinator." in text(admin_client.get(response.headers["Location"]))
    user = db.session.scalars(select(User).where(User.email == "carla@example.org")).one()
    assert user.password_hash is None
    member = db.session.scalars(select(Member).where(Member.user_id == user.id)).one()
    assert (member.ring_id, member.role, member.status) == (ring.id, MemberRole.COORDINATOR, MemberStatus.ACTIVE)

    [mail] = outbox()
    assert mail["To"] == "carla@example.org"
    assert ring.name in mail["Subject"]
    link = mail_link(mail)
    assert link.startswith("/wachtwoord-instellen/invite/")

    admin_client.post("/uitloggen")
    invited = app.test_client()
    form = invited.get(link)
    assert form.status_code == 200
    assert "carla@example.org" in text(form)
    response = invited.post(link, data={"password": "mijn eigen wachtwoord", "confirm": "mijn eigen wachtwoord"})
    assert response.status_code == 302
    assert invited.get(link).status_code == 400  # the invitation works once
    response = invited.post("/inloggen", data={"email": "carla@example.org", "password": "mijn eigen wachtwoord"})
    assert response.status_code == 302
    assert invited.get(f"/kring/{ring.slug}/beheer/leden").status_code == 200


def test_appointing_a_new_person_requires_a_name(admin_client, ring, outbox):
    response = appoint(admin_client, ring, email="nieuw@example.org", name="")
    assert "Vul de naam in van deze nieuwe persoon." in text(admin_client.get(response.headers["Location"]))
    assert db.session.scalars(select(User).where(User.email == "nieuw@example.org")).first() is None
    assert outbox() == []


def test_appointing_an_existing_member_makes_them_coordinator(admin_client, ring, member, outbox):
    response = appoint(admin_client, ring, email=member.user.email.upper())
    assert response.status_code == 302
    assert (member.role, member.status) == (MemberRole.COORDINATOR, MemberStatus.ACTIVE)
    assert len(db.session.scalars(select(Member).where(Member.user_id == member.user_id)).all()) == 1
    [mail] = outbox()
    assert mail["To"] == member.user.email
    assert f"/kring/{ring.slug}/start" in mail.get_content()
    assert "wachtwoord-instellen" not in mail.get_content()
    assert member.user.name in text(admin_client.get(f"/beheer/kringen/{ring.id}"))


def test_appointing_a_person_from_another_ring_adds_them_to_this_one(admin_client, ring):
    elsewhere = factories.MemberFactory()
    appoint(admin_client, ring, email=elsewhere.user.email)
    member = db.session.scalars(
        select(Member).where(Member.user_id == elsewhere.user_id, Member.ring_id == ring.id)
    ).one()
    assert (member.role, member.status) == (MemberRole.COORDINATOR, MemberStatus.ACTIVE)
    assert elsewhere.role == MemberRole.MEMBER


def test_appointing_a_coordinator_twice_gives_a_message(admin_client, ring, coordinator, outbox):
    response = appoint(admin_client, ring, email=coordinator.user.email)
    assert "Deze persoon is al coördinator van deze kring." in text(admin_client.get(response.headers["Location"]))
    assert outbox() == []


def test_appointing_with_an_invalid_email_gives_a_message(admin_client, ring):
    response = appoint(admin_client, ring, email="geen adres")
    assert response.status_code == 302
    assert "Dit is geen geldig e-mailadres." in text(admin_client.get(response.headers["Location"]))


# Gemeente viewers

def test_admin_adds_a_new_municipality_viewer(admin_client, ring, outbox):
    db.session.commit()
    form = admin_client.get("/beheer/gemeenten")
    assert ring.municipality.name in text(form)
    response = admin_client.post("/beheer/gemeenten", data={
        "municipality_id": str(ring.municipality_id), "email": "gerrit@example.org", "name": "Gerrit",
    })
    assert response.status_code == 302
    viewer = db.session.scalars(select(User).where(User.email == "gerrit@example.org")).one()
    assert viewer.municipality_id == ring.municipality_id
    assert viewer.memberships == []
    [mail] = outbox()
    assert mail["To"] == "gerrit@example.org"
    assert mail_link(mail).startswith("/wachtwoord-instellen/invite/")
    html = text(admin_client.get("/beheer/"))
    assert "Gerrit kan nu de cijfers van" in html
    assert f"Gerrit (gerrit@example.org) – {ring.municipality.name}" in html


def test_municipality_viewer_cannot_be_a_ring_member(admin_client, ring, member, outbox):
    db.session.commit()
    response = admin_client.post("/beheer/gemeenten", data={
        "municipality_id": str(ring.municipality_id), "email": member.user.email, "name": "",
    })
    assert response.status_code == 200
    assert "Gebruik een apart adres voor de gemeente." in field_error(response, "email")
    assert member.user.municipality_id is None
    assert outbox() == []


def test_existing_person_becomes_viewer_without_invitation(admin_client, ring, outbox):
    person = factories.UserFactory()
    db.session.commit()
    admin_client.post("/beheer/gemeenten", data={
        "municipality_id": str(ring.municipality_id), "email": person.email, "name": "",
    })
    assert person.municipality_id == ring.municipality_id
    assert outbox() == []
