"""Member pages: sign-up, access of pending members, the coordinator's member admin, profiles."""

import re

import pytest
from sqlalchemy import select

from ruilkring.audit.models import AuditEvent
from ruilkring.extensions import db
from ruilkring.members.models import Member, MemberRole, MemberStatus
from tests import factories
from tests.helpers import HTMX, field_error, text, url

# Sign-up

def signup_data(ring, **overrides) -> dict:
    data = {
        "name": "Wim de Vries", "email": "wim@example.org", "password": "een lang wachtwoord",
        "phone": "06-12345678", "address": "Laan 3", "neighbourhood_id": str(ring.neighbourhoods[0].id),
        "birth_year": "1950", "share_email": "y", "accept_rules": "y",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def post_signup(client, ring, **overrides):
    db.session.commit()
    return client.post(url(ring, "/aanmelden"), data=signup_data(ring, **overrides))


def members_of(ring) -> list[Member]:
    return db.session.scalars(select(Member).where(Member.ring_id == ring.id)).all()


def test_signup_form_shows_wijken_and_house_rules(client, ring):
    db.session.commit()
    response = client.get(url(ring, "/aanmelden"))
    assert response.status_code == 200
    html = text(response)
    assert ring.house_rules in html
    for wijk in ring.neighbourhoods:
        assert f'<option value="{wijk.id}">{wijk.name}</option>' in html
    assert 'name="password"' in html


def test_signup_creates_pending_member_and_thanks(client, ring):
    response = post_signup(client, ring)
    assert response.status_code == 200
    assert "Bedankt voor uw aanmelding" in text(response)
    [member] = members_of(ring)
    assert member.status == MemberStatus.PENDING
    assert member.role == MemberRole.MEMBER
    assert (member.user.name, member.user.email, member.user.phone) == ("Wim de Vries", "wim@example.org", "06-12345678")
    assert (member.neighbourhood_id, member.birth_year) == (ring.neighbourhoods[0].id, 1950)
    assert (member.share_email, member.share_phone, member.share_address) == (True, False, False)


def test_signup_notifies_the_coordinators(client, ring, coordinator, login):
    post_signup(client, ring)
    login(coordinator.user)
    html = text(client.get("/meldingen"))
    assert "Wim de Vries heeft zich aangemeld en wacht op goedkeuring." in html


def test_signup_refuses_an_email_already_in_the_ring(client, ring, member):
    response = post_signup(client, ring, email=member.user.email.upper())
    assert response.status_code == 200
    assert field_error(response, "email") == "Dit e-mailadres is al aangemeld bij deze kring."
    assert len(members_of(ring)) == 1


def test_signup_with_an_email_known_elsewhere_asks_to_log_in(client, ring):
    elsewhere = factories.MemberFactory()
    response = post_signup(client, ring, email=elsewhere.user.email)
    assert "Log eerst in" in field_error(response, "email")
    assert members_of(ring) == []


def test_signup_refuses_a_wijk_of_another_ring(client, ring):
    other = factories.RingFactory(neighbourhoods=["Elders"])
    response = post_signup(client, ring, neighbourhood_id=str(other.neighbourhoods[0].id))
    assert response.status_code == 200
    # the select only offers this ring's wijken; WTForms' Dutch catalogue words the refusal
    assert field_error(response, "neighbourhood_id") == "Kies een wijk uit de lijst van deze kring."
    assert members_of(ring) == []


def test_signup_requires_a_wijk(client, ring):
    response = post_signup(client, ring, neighbourhood_id="")
    assert field_error(response, "neighbourhood_id") == "Kies uw wijk."
    assert members_of(ring) == []


def test_signup_refuses_a_short_password(client, ring):
    response = post_signup(client, ring, password="kort")
    assert response.status_code == 200
    assert field_error(response, "password") == "Kies een wachtwoord van minstens 10 tekens."
    assert members_of(ring) == []


def test_signup_requires_the_house_rules_tick(client, ring):
    response = post_signup(client, ring, accept_rules=None)
    assert response.status_code == 200
    assert field_error(response, "accept_rules") == "U moet de huisregels accepteren om lid te worden."
    assert members_of(ring) == []


def test_signup_refuses_an_invalid_email(client, ring):
    response = post_signup(client, ring, email="wim at example")
    assert response.status_code == 200
    assert field_error(response, "email") == "Dit is geen geldig e-mailadres."
    assert members_of(ring) == []


def test_signup_requires_a_name(client, ring):
    response = post_signup(client, ring, name="")
    assert field_error(response, "name") == "Vul uw naam in."
    assert members_of(ring) == []


def test_signup_refuses_an_impossible_birth_year(client, ring):
    response = post_signup(client, ring, birth_year="1890")
    assert "Vul een jaartal in" in field_error(response, "birth_year")
    assert members_of(ring) == []


def test_failed_signup_keeps_what_was_typed_but_not_the_password(client, ring):
    response = post_signup(client, ring, accept_rules=None)
    html = text(response)
    assert 'value="Wim de Vries"' in html
    assert 'value="wim@example.org"' in html
    assert "een lang wachtwoord" not in html


def test_signed_in_user_of_another_ring_joins_with_the_short_form(client, login, ring):
    elsewhere = factories.MemberFactory()
    login(elsewhere.user)
    form = client.get(url(ring, "/aanmelden"))
    assert form.status_code == 200
    assert 'name="password"' not in text(form)
    assert 'name="email"' not in text(form)
    response = client.post(url(ring, "/aanmelden"), data={
        "neighbourhood_id": str(ring.neighbourhoods[1].id), "share_phone": "y", "accept_rules": "y",
    })
    assert response.status_code == 200
    assert "Bedankt voor uw aanmelding" in text(response)
    [member] = members_of(ring)
    assert member.user_id == elsewhere.user_id
    assert member.status == MemberStatus.PENDING
    assert member.share_phone and not member.share_email


def test_signed_in_join_still_requires_the_house_rules(client, login, ring):
    elsewhere = factories.MemberFactory()
    login(elsewhere.user)
    response = client.post(url(ring, "/aanmelden"), data={"neighbourhood_id": str(ring.neighbourhoods[0].id)})
    assert field_error(response, "accept_rules") == "U moet de huisregels accepteren om lid te worden."
    assert members_of(ring) == []


def test_member_of_the_ring_visiting_signup_is_sent_on(client, login, member):
    login(member.user)
    response = client.get(url(member.ring, "/aanmelden"), follow_redirects=True)
    assert "U bent al aangemeld bij deze kring." in text(response)


# Access to ring pages

@pytest.mark.parametrize("path", ["start", "leden", "profiel", "beheer/leden"])
def test_pending_member_gets_404_on_ring_pages(client, login, ring, path):
    pending = factories.MemberFactory(ring=ring, status=MemberStatus.PENDING)
    login(pending.user)
    response = client.get(url(ring, f"/{path}"))
    assert response.status_code == 404
    assert "Pagina niet gevonden" in text(response)


def test_pending_member_sees_the_public_page_with_a_waiting_note(client, login, ring):
    pending = factories.MemberFactory(ring=ring, status=MemberStatus.PENDING)
    login(pending.user)
    response = client.get(url(ring, "/"))
    assert response.status_code == 200
    assert "Uw aanmelding wacht op goedkeuring" in text(response)


def test_pending_member_cannot_see_a_profile(client, login, ring, member):
    pending = factories.MemberFactory(ring=ring, status=MemberStatus.PENDING)
    login(pending.user)
    assert client.get(url(ring, f"/leden/{member.id}")).status_code == 404


def test_anonymous_visitor_of_a_ring_page_is_asked_to_log_in(client, ring):
    db.session.commit()
    response = client.get(url(ring, "/leden"))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/inloggen?next=")


def test_member_of_another_ring_gets_404(client, login, ring):
    outsider = factories.MemberFactory()
    login(outsider.user)
    assert client.get(url(ring, "/leden")).status_code == 404


def test_active_member_sees_the_directory(client, login, ring, member):
    pending = factories.MemberFactory(ring=ring, status=MemberStatus.PENDING)
    login(member.user)
    html = text(client.get(url(ring, "/leden")))
    assert member.user.name in html
    assert pending.user.name not in html


# The coordinator's member admin

@pytest.fixture
def coordinator_client(client, login, coordinator):
    login(coordinator.user)
    return client


def admin_list(client, ring, headers=None, **params):
    return client.get(url(ring, "/beheer/leden"), query_string=params, headers=headers or {})


def test_ordinary_member_gets_404_on_member_admin(client, login, ring, member):
    login(member.user)
    assert admin_list(client, ring).status_code == 404


def test_admin_list_shows_every_status_with_pending_first(coordinator_client, ring):
    factories.MemberFactory(ring=ring, user__name="Aaf Actief")
    factories.MemberFactory(ring=ring, user__name="Zeger Zoekt", status=MemberStatus.PENDING)
    factories.MemberFactory(ring=ring, user__name="Ineke Inactief", status=MemberStatus.INACTIVE)
    html = text(admin_list(coordinator_client, ring))
    assert "<html" in html
    for name in ("Aaf Actief", "Zeger Zoekt", "Ineke Inactief"):
        assert name in html
    assert html.index("Zeger Zoekt") < html.index("Aaf Actief")


def test_admin_list_filters_by_status(coordinator_client, ring):
    factories.MemberFactory(ring=ring, user__name="Aaf Actief")
    factories.MemberFactory(ring=ring, user__name="Zeger Zoekt", status=MemberStatus.PENDING)
    html = text(admin_list(coordinator_client, ring, status="pending"))
    assert "Zeger Zoekt" in html
    assert "Aaf Actief" not in html


def test_admin_list_searches_name_and_email(coordinator_client, ring):
    factories.MemberFactory(ring=ring, user__name="Aaf Actief", user__email="aaf@example.org")
    factories.MemberFactory(ring=ring, user__name="Bert Bakker", user__email="bert@example.org")
    by_name = text(admin_list(coordinator_client, ring, q="BAKK"))
    assert "Bert Bakker" in by_name and "Aaf Actief" not in by_name
    by_email = text(admin_list(coordinator_client, ring, q="aaf@"))
    assert "Aaf Actief" in by_email and "Bert Bakker" not in by_email
    assert "Geen leden gevonden." in text(admin_list(coordinator_client, ring, q="niemand"))


def test_admin_list_ignores_an_unknown_status(coordinator_client, ring):
    factories.MemberFactory(ring=ring, user__name="Aaf Actief")
    response = admin_list(coordinator_client, ring, status="bestaat-niet")
    assert response.status_code == 200
    assert "Aaf Actief" in text(response)


def test_admin_list_never_shows_other_rings(coordinator_client, ring):
    factories.MemberFactory(user__name="Olga Elders")
    assert "Olga Elders" not in text(admin_list(coordinator_client, ring))


def test_admin_list_htmx_returns_only_the_table(coordinator_client, ring):
    factories.MemberFactory(ring=ring, user__name="Aaf Actief")
    factories.MemberFactory(ring=ring, user__name="Zeger Zoekt", status=MemberStatus.PENDING)
    response = admin_list(coordinator_client, ring, headers={**HTMX, "HX-Target": "member-table"},
                          status="pending")
    html = text(response)
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<div class="table-scroll" tabindex="0"><table')
    assert "Zeger Zoekt" in html and "Aaf Actief" not in html
    assert {"HX-Request", "HX-Target"} <= set(response.vary)


def test_admin_list_boosted_navigation_gets_the_whole_page(coordinator_client, ring):
    response = admin_list(coordinator_client, ring, headers={**HTMX, "HX-Boosted": "true", "HX-Target": "main"})
    assert "<html" in text(response)


def action_url(member, action):
    return url(member.ring, f"/beheer/leden/{member.id}/{action}")


def test_approve_by_htmx_returns_just_the_row(coordinator_client, ring, outbox):
    pending = factories.MemberFactory(ring=ring, status=MemberStatus.PENDING, user__name="Zeger Zoekt")
    db.session.commit()
    response = coordinator_client.post(action_url(pending, "approve"),
                                       headers={**HTMX, "HX-Target": f"member-{pending.id}"})
    html = text(response)
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith(f'<tr id="member-{pending.id}">')
    assert '<span class="status status--active">actief</span>' in html
    assert "Zeger Zoekt is toegelaten." in html
    assert pending.status == MemberStatus.ACTIVE
    assert outbox()[0]["To"] == pending.user.email


def test_approve_without_htmx_redirects_with_a_message(coordinator_client, ring):
    pending = factories.MemberFactory(ring=ring, status=MemberStatus.PENDING, user__name="Zeger Zoekt")
    db.session.commit()
    response = coordinator_client.post(action_url(pending, "approve"))
    assert response.status_code == 302
    assert response.headers["Location"] == url(ring, "/beheer/leden")
    assert pending.status == MemberStatus.ACTIVE
    assert "Zeger Zoekt is toegelaten." in text(coordinator_client.get(response.headers["Location"]))


def test_decline_records_the_reason(coordinator_client, ring, outbox):
    pending = factories.MemberFactory(ring=ring, status=MemberStatus.PENDING)
    db.session.commit()
    coordinator_client.post(action_url(pending, "decline"), data={"reason": "Woont buiten de wijken"})
    assert pending.status == MemberStatus.DECLINED
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "member.decline")).one()
    assert event.reason == "Woont buiten de wijken"
    assert "Woont buiten de wijken" in outbox()[0].get_content()


def test_illegal_action_gives_a_message_not_an_error(coordinator_client, ring, member):
    db.session.commit()
    response = coordinator_client.post(action_url(member, "approve"), follow_redirects=True)
    assert response.status_code == 200
    assert "Deze wijziging kan niet bij een lid met deze status." in text(response)
    assert member.status == MemberStatus.ACTIVE


def test_illegal_action_by_htmx_shows_the_message_in_the_row(coordinator_client, ring, member):
    db.session.commit()
    response = coordinator_client.post(action_url(member, "left"),
                                       headers={**HTMX, "HX-Target": f"member-{member.id}"})
    assert response.status_code == 200
    html = text(response)
    assert "<html" not in html
    message = "Deze wijziging kan niet bij een lid met deze status."
    assert f'<p class="error">{message}</p>' in html
    # Read out through the page's live region, and the focus goes back to the row.
    assert re.search(rf'<div id="messages" hx-swap-oob="innerHTML"><p class="visually-hidden">{message}</p>', html)
    assert re.search(rf'<a href="[^"]*/leden/{member.id}" autofocus>', html)
    assert member.status == MemberStatus.ACTIVE


def test_unknown_action_is_not_found(coordinator_client, ring, member):
    db.session.commit()
    assert coordinator_client.post(action_url(member, "promote")).status_code == 404


def test_action_on_a_member_of_another_ring_is_not_found(coordinator_client, ring):
    outsider = factories.MemberFactory(status=MemberStatus.PENDING)
    db.session.commit()
    response = coordinator_client.post(url(ring, f"/beheer/leden/{outsider.id}/approve"))
    assert response.status_code == 404
    assert outsider.status == MemberStatus.PENDING


def test_ordinary_member_cannot_take_actions(client, login, ring, member):
    pending = factories.MemberFactory(ring=ring, status=MemberStatus.PENDING)
    login(member.user)
    assert client.post(action_url(pending, "approve")).status_code == 404
    assert pending.status == MemberStatus.PENDING


def test_too_long_reason_is_refused(coordinator_client, ring, member):
    db.session.commit()
    response = coordinator_client.post(action_url(member, "deactivate"), data={"reason": "x" * 501},
                                       follow_redirects=True)
    assert "De reden is te lang" in text(response)
    assert member.status == MemberStatus.ACTIVE


# Erasing personal data

def erase_url(member):
    return url(member.ring, f"/beheer/leden/{member.id}/wissen")


def test_erase_form_renders(coordinator_client, member):
    db.session.commit()
    response = coordinator_client.get(erase_url(member))
    assert response.status_code == 200
    assert member.user.name in text(response)


def test_erase_requires_a_reason(coordinator_client, member):
    name = member.user.name
    response = coordinator_client.post(erase_url(member), data={"reason": "", "confirm": "y"})
    assert response.status_code == 200
    assert field_error(response, "reason") == "Geef een reden op."
    assert member.user.name == name


def test_erase_requires_the_confirmation_tick(coordinator_client, member):
    name = member.user.name
    response = coordinator_client.post(erase_url(member), data={"reason": "verzoek van het lid"})
    assert response.status_code == 200
    assert field_error(response, "confirm") == "Vink aan dat u dit begrijpt."
    assert member.user.name == name


def test_erase_with_reason_and_tick(coordinator_client, member):
    user = member.user
    response = coordinator_client.post(erase_url(member), data={"reason": "verzoek van het lid", "confirm": "y"})
    assert response.status_code == 302
    assert user.name == f"Oud-lid {user.id}"
    assert user.erased_at is not None
    assert member.status == MemberStatus.LEFT
    listing = text(coordinator_client.get(response.headers["Location"]))
    assert f"onder de naam Oud-lid {user.id}" in listing


def test_erasing_twice_gives_a_message(coordinator_client, member):
    coordinator_client.post(erase_url(member), data={"reason": "verzoek", "confirm": "y"})
    response = coordinator_client.post(erase_url(member), data={"reason": "nog eens", "confirm": "y"})
    assert response.status_code == 200
    assert "De gegevens van dit lid zijn al gewist." in text(response)


def test_ordinary_member_cannot_erase(client, login, ring, member):
    other = factories.MemberFactory(ring=ring)
    login(member.user)
    response = client.post(erase_url(other), data={"reason": "zomaar", "confirm": "y"})
    assert response.status_code == 404
    assert other.user.erased_at is None


# Profiles

@pytest.fixture
def sharing_member(ring):
    return factories.MemberFactory(
        ring=ring, bio="Ik fiets graag.", birth_year=1950, share_email=True, share_phone=False,
        share_address=False, user__email="deelt@example.org", user__phone="030-7654321",
        user__address="Geheimstraat 9",
    )


def test_profile_shows_members_only_what_was_shared(client, login, member, sharing_member):
    login(member.user)
    response = client.get(url(member.ring, f"/leden/{sharing_member.id}"))
    assert response.status_code == 200
    html = text(response)
    assert "Ik fiets graag." in html
    assert "deelt@example.org" in html
    assert "030-7654321" not in html
    assert "Geheimstraat 9" not in html
    assert "1950" not in html


def test_profile_shows_coordinators_everything(coordinator_client, sharing_member):
    html = text(coordinator_client.get(url(sharing_member.ring, f"/leden/{sharing_member.id}")))
    for detail in ("deelt@example.org", "030-7654321", "Geheimstraat 9", "1950"):
        assert detail in html


def test_coordinator_may_see_a_pending_members_profile(coordinator_client, ring):
    pending = factories.MemberFactory(ring=ring, status=MemberStatus.PENDING, user__name="Zeger Zoekt")
    response = coordinator_client.get(url(ring, f"/leden/{pending.id}"))
    assert response.status_code == 200
    assert "wacht op goedkeuring" in text(response)


def test_profile_of_another_rings_member_is_not_found(client, login, member):
    outsider = factories.MemberFactory()
    login(member.user)
    assert client.get(url(member.ring, f"/leden/{outsider.id}")).status_code == 404


def profile_data(ring, **overrides):
    data = {"bio": "Ik kook graag.", "neighbourhood_id": str(ring.neighbourhoods[1].id), "birth_year": "1960",
            "share_phone": "y"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_profile_edit_saves(client, login, ring, member):
    login(member.user)
    form = client.get(url(ring, "/profiel"))
    assert form.status_code == 200
    response = client.post(url(ring, "/profiel"), data=profile_data(ring))
    assert response.status_code == 302
    assert response.headers["Location"] == url(ring, f"/leden/{member.id}")
    assert (member.bio, member.neighbourhood_id, member.birth_year) == ("Ik kook graag.", ring.neighbourhoods[1].id, 1960)
    assert (member.share_email, member.share_phone, member.share_address) == (False, True, False)
    assert "Uw profiel is opgeslagen." in text(client.get(response.headers["Location"]))


def test_profile_edit_refuses_a_wijk_of_another_ring(client, login, ring, member):
    other = factories.RingFactory(neighbourhoods=["Elders"])
    login(member.user)
    response = client.post(url(ring, "/profiel"), data=profile_data(ring, neighbourhood_id=str(other.neighbourhoods[0].id)))
    assert response.status_code == 200
    assert field_error(response, "neighbourhood_id") == "Kies een wijk uit de lijst van deze kring."
    assert member.neighbourhood_id == ring.neighbourhoods[0].id


def test_profile_edit_refuses_an_impossible_birth_year(client, login, ring, member):
    login(member.user)
    response = client.post(url(ring, "/profiel"), data=profile_data(ring, birth_year="2024"))
    assert response.status_code == 200
    assert "Vul een geboortejaar in tussen" in field_error(response, "birth_year")
    assert member.birth_year is None
