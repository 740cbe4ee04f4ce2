"""The coordinators' pages of a ring: the hub with every tool, the ring's settings, and
changed house rules that members accept again on their start page.

Every test runs on SQLite and PostgreSQL (the ``app`` fixture).
"""

import re
from datetime import timedelta
from html import unescape

import pytest
from flask import url_for
from sqlalchemy import select

from ruilkring import clock
from ruilkring.audit.models import AuditEvent
from ruilkring.extensions import db
from ruilkring.members.models import MemberRole, MemberStatus
from tests import factories
from tests.helpers import field_error, pay, text, url

HOUSE_RULES_CHANGED = "De huisregels zijn veranderd"
TOOLS = [
    ("stats.index", "Dashboard"),
    ("members.admin_list", "Ledenbeheer"),
    ("ledger.overview", "Transacties"),
    ("ledger.book", "Boeken voor leden"),
    ("ledger.bulk", "Groepsboeking"),
    ("ledger.limits_list", "Leden aan een grens"),
    ("disputes.queue", "Geschillen"),
    ("listings.unanswered", "Vragen zonder reactie"),
    ("listings.categories", "Categorieën"),
    ("audit.index", "Logboek"),
    ("rings.settings", "Instellingen"),
]


@pytest.fixture
def coordinator_client(client, login, coby):
    login(coby.user)
    return client


def input_value(html: str, name: str) -> str | None:
    match = re.search(rf'<input [^>]*name="{name}"[^>]*value="([^"]*)"', html)
    return match.group(1) if match else None


def settings_data(ring, **overrides) -> dict:
    """The settings form as it comes filled in, with ``overrides``."""
    data = {
        "name": ring.name, "neighbourhoods": "\n".join(n.name for n in ring.neighbourhoods),
        "currency_name": ring.currency_name, "default_min_balance": "-20:00", "default_max_balance": "40:00",
        "dispute_days": str(ring.dispute_days), "payment_request_days": str(ring.payment_request_days),
        "description": ring.description, "house_rules": ring.house_rules,
    }
    data.update(overrides)
    return data


def post_settings(client, ring, **overrides):
    return client.post(url(ring, "/beheer/instellingen"), data=settings_data(ring, **overrides))


def ring_events(action: str) -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


# The hub


def test_the_hub_lists_every_tool(app, coordinator_client, ring):
    response = coordinator_client.get(url(ring, "/beheer"))
    assert response.status_code == 200
    html = text(response)
    assert f"Beheer van {ring.name}" in html
    for endpoint, title in TOOLS:
        link = url_for(endpoint, ring_slug=ring.slug, _external=False)
        assert f'<a href="{link}">{title}</a>' in html, endpoint
        assert coordinator_client.get(link).status_code == 200, endpoint  # and each tool opens


def test_the_hub_points_to_waiting_sign_ups(coordinator_client, ring):
    assert "wacht" not in text(coordinator_client.get(url(ring, "/beheer")))
    factories.MemberFactory(ring=ring, status=MemberStatus.PENDING)
    factories.MemberFactory(ring=ring, status=MemberStatus.PENDING)
    db.session.commit()
    html = text(coordinator_client.get(url(ring, "/beheer")))
    assert "Er wachten 2 aanmeldingen op uw goedkeuring." in html
    assert f'href="/kring/{ring.slug}/beheer/leden?status=pending"' in html


# Settings


def test_the_settings_form_shows_the_current_settings(coordinator_client, ring):
    html = text(coordinator_client.get(url(ring, "/beheer/instellingen")))
    assert f'value="{ring.name}"' in html
    assert "Noord\nZuid</textarea>" in html
    assert 'value="-20:00"' in html and 'value="40:00"' in html
    assert input_value(html, "dispute_days") == str(ring.dispute_days) == "60"
    assert input_value(html, "payment_request_days") == str(ring.payment_request_days) == "30"
    assert ring.municipality.name in html


def test_settings_change_name_wijken_limits_and_periods(coordinator_client, ring, coby):
    old_name = ring.name
    response = post_settings(coordinator_client, ring, name="Ruilkring Oost", neighbourhoods="Noord\r\nOost\r\n\r\n",
                             default_min_balance="-10:00", default_max_balance="30:30", dispute_days="30",
                             payment_request_days="14")
    assert response.status_code == 302
    assert response.headers["Location"] == url(ring, "/beheer/instellingen")
    page = text(coordinator_client.get(response.headers["Location"]))
    assert "De instellingen zijn opgeslagen." in page
    db.session.expire_all()
    assert ring.name == "Ruilkring Oost"
    assert [n.name for n in ring.neighbourhoods] == ["Noord", "Oost"]
    assert (ring.default_min_balance, ring.default_max_balance) == (-600, 1830)
    assert (ring.dispute_days, ring.payment_request_days) == (30, 14)
    assert ring.house_rules_version == 1
    [event] = ring_events("ring.update")
    assert event.actor_id == coby.user_id
    assert (event.old["name"], event.new["name"]) == (old_name, "Ruilkring Oost")
    assert (event.old["neighbourhoods"], event.new["neighbourhoods"]) == (["Noord", "Zuid"], ["Noord", "Oost"])
    assert (event.old["dispute_days"], event.new["dispute_days"]) == (60, 30)
    assert (event.old["payment_request_days"], event.new["payment_request_days"]) == (30, 14)
    # the new wijk is offered to members
    assert "Oost</option>" in text(coordinator_client.get(url(ring, "/profiel")))


def test_saving_unchanged_settings_logs_nothing(coordinator_client, ring):
    assert post_settings(coordinator_client, ring).status_code == 302
    assert ring_events("ring.update") == []


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"dispute_days": "0"}, "dispute_days", "Kies een aantal dagen tussen 1 en 365."),
    ({"dispute_days": "400"}, "dispute_days", "Kies een aantal dagen tussen 1 en 365."),
    ({"payment_request_days": "0"}, "payment_request_days", "Kies een aantal dagen tussen 1 en 365."),
    ({"payment_request_days": "400"}, "payment_request_days", "Kies een aantal dagen tussen 1 en 365."),
    ({"dispute_days": ""}, "dispute_days", "Vul een aantal dagen in."),
    ({"default_min_balance": "1:00"}, "default_min_balance", "De ondergrens moet 0 of lager zijn."),
    ({"default_max_balance": "-1:00"}, "default_max_balance", None),  # refused; the amount field words it
    ({"neighbourhoods": ""}, "neighbourhoods", "Noem minstens één wijk."),
    ({"neighbourhoods": "  \r\n \r\n"}, "neighbourhoods", "Noem minstens één wijk."),
    ({"name": ""}, "name", "Vul een naam in."),
])
def test_bad_settings_give_messages_and_change_nothing(coordinator_client, ring, overrides, field, message):
    response = post_settings(coordinator_client, ring, **{"name": "Andere naam", **overrides})
    assert response.status_code == 200
    if message is None:
        assert field_error(response, field)
    else:
        assert field_error(response, field) == message
    db.session.expire_all()
    assert ring.name != "Andere naam"
    assert [n.name for n in ring.neighbourhoods] == ["Noord", "Zuid"]
    assert (ring.default_min_balance, ring.default_max_balance) == (-20 * 60, 40 * 60)
    assert (ring.dispute_days, ring.payment_request_days) == (60, 30)
    assert ring_events("ring.update") == []


def test_the_dispute_period_takes_effect(client, login, ring, coby):
    anna, bert = factories.MemberFactory(ring=ring), factories.MemberFactory(ring=ring)
    clock.freeze(clock.now() - timedelta(days=40))
    transfer = pay(anna, bert, 60, "tuin")
    clock.freeze(None)
    login(coby.user)
    post_settings(client, ring, dispute_days="30")
    client.post("/uitloggen")
    login(anna.user)
    response = client.post(url(ring, f"/geschillen/nieuw/{transfer.id}"), data={
        "reason": "not_delivered", "asked": "talk", "explanation": "Nooit gekomen."})
    assert response.status_code == 200
    assert "Een geschil kan tot 30 dagen na de ruil worden gemeld." in unescape(text(response))


# House rules


def test_changed_house_rules_are_accepted_again_by_members(client, login, ring, coby):
    anna = factories.MemberFactory(ring=ring, user__name="Anna de Vries")
    db.session.commit()
    login(anna.user)
    assert HOUSE_RULES_CHANGED not in text(client.get(url(ring, "/start")))
    client.post("/uitloggen")

    login(coby.user)
    assert post_settings(client, ring, house_rules="Eén uur is één uur.\nWees op tijd.").status_code == 302
    db.session.expire_all()
    assert (ring.house_rules, ring.house_rules_version) == ("Eén uur is één uur.\nWees op tijd.", 2)
    [event] = ring_events("ring.update")
    assert (event.old["house_rules_version"], event.new["house_rules_version"]) == (1, 2)
    # who changed them has accepted them
    assert HOUSE_RULES_CHANGED not in text(client.get(url(ring, "/start")))
    client.post("/uitloggen")

    login(anna.user)
    start = text(client.get(url(ring, "/start")))
    assert HOUSE_RULES_CHANGED in start
    assert f'action="/kring/{ring.slug}/huisregels/accepteren"' in start
    assert "Wees op tijd." in text(client.get(url(ring, "/")))
    response = client.post(url(ring, "/huisregels/accepteren"))
    assert response.status_code == 302 and response.headers["Location"] == url(ring, "/start")
    start = text(client.get(response.headers["Location"]))
    assert "U heeft de nieuwe huisregels geaccepteerd." in start
    assert HOUSE_RULES_CHANGED not in start
    db.session.expire_all()
    assert anna.house_rules_accepted_version == 2


def test_outsiders_cannot_accept_house_rules(client, login, ring):
    stranger = factories.MemberFactory()
    login(stranger.user)
    assert client.post(url(ring, "/huisregels/accepteren")).status_code == 404


# Who may enter


@pytest.mark.parametrize("path", ["/beheer", "/beheer/instellingen"])
def test_members_get_404_on_coordinator_pages(client, login, ring, member, path):
    login(member.user)
    assert client.get(url(ring, path)).status_code == 404


def test_a_member_cannot_post_settings(client, login, ring, member):
    login(member.user)
    response = post_settings(client, ring, name="Overgenomen", house_rules="Alles mag.")
    assert response.status_code == 404
    db.session.expire_all()
    assert (ring.name, ring.house_rules_version) != ("Overgenomen", 2)
    assert ring_events("ring.update") == []


def test_a_coordinator_of_another_ring_gets_404(client, login, ring):
    other = factories.MemberFactory(role=MemberRole.COORDINATOR)
    login(other.user)
    assert client.get(url(ring, "/beheer/instellingen")).status_code == 404
    assert post_settings(client, ring, name="Overgenomen").status_code == 404
