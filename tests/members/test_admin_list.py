"""The coordinator's member list: balance, limits, last trade and last login per member;
the filters wijk, never traded and at a limit; the password-link action.

Every test runs on SQLite and PostgreSQL (the ``app`` fixture).
"""

import re
import uuid
from datetime import UTC, datetime
from html import unescape

import pytest
from sqlalchemy import select

from ruilkring import clock
from ruilkring.audit.models import AuditEvent
from ruilkring.database import run_ledger_transaction
from ruilkring.extensions import db
from ruilkring.ledger import services as ledger
from ruilkring.members import services as member_services
from ruilkring.members.models import MemberRole, MemberStatus
from tests import factories
from tests.helpers import htmx_target, mail_link, pay, text, url

TRADE_DAY = datetime(2026, 3, 12, 14, 0, tzinfo=UTC)
LOGIN_DAY = datetime(2026, 4, 3, 8, 30, tzinfo=UTC)
TODAY = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
NEW_PASSWORD = "een gloednieuw wachtwoord"
FRAGMENT = htmx_target("member-table")


@pytest.fixture
def ring(app):
    """A ring with tight default limits (-2:00 to 3:00), so limits are easy to reach."""
    return factories.RingFactory(default_min_balance=-120, default_max_balance=180)


@pytest.fixture
def people(ring):
    """Anna (Noord) paid Bert (Zuid) 2:00 on 12 March: Anna is at her lower limit. Carla
    (Zuid) never traded and never logged in; Dirk (Noord) has personal limits."""
    noord, zuid = ring.neighbourhoods
    anna = factories.MemberFactory(ring=ring, user__name="Anna de Vries", neighbourhood=noord)
    bert = factories.MemberFactory(ring=ring, user__name="Bert Jansen", neighbourhood=zuid)
    carla = factories.MemberFactory(ring=ring, user__name="Carla Smit", neighbourhood=zuid)
    dirk = factories.MemberFactory(ring=ring, user__name="Dirk Dekker", neighbourhood=noord)
    clock.freeze(TRADE_DAY)
    pay(anna, bert, 120, "schilderwerk")
    pay(dirk, bert, 30, "koffie")
    ledger.limits_set(account=ledger.account_open(member=dirk), min_balance=-600, max_balance=1200,
                      changed_by=factories.UserFactory(is_admin=True), reason="Grote klus gepland")
    db.session.commit()
    clock.freeze(TODAY)
    return {"anna": anna, "bert": bert, "carla": carla, "dirk": dirk}


@pytest.fixture
def coordinator_client(client, login, coby, people):
    clock.freeze(LOGIN_DAY)
    login(people["anna"].user)  # Anna's last login
    client.post("/uitloggen")
    clock.freeze(TODAY)
    login(coby.user)
    return client


def admin_rows(response) -> dict[str, dict]:
    """Each member row of the list by name: wijk, status, balance, limits, last trade, last login."""
    rows = {}
    for row in re.findall(r'<tr id="member-\d+">(.*?)</tr>', text(response), re.S):
        cells = [" ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split())
                 for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        name = re.search(r'<a href="[^"]*">(.*?)</a>', row).group(1)
        rows[unescape(name)] = dict(zip(("name", "wijk", "status", "balance", "limits", "last_trade",
                                         "last_login"), cells, strict=False))
    return rows


def admin_list(client, ring, headers=None, **params):
    return client.get(url(ring, "/beheer/leden"), query_string=params, headers=headers or {})


# What the list shows


def test_the_list_shows_balance_limits_last_trade_and_last_login(coordinator_client, ring, people):
    rows = admin_rows(admin_list(coordinator_client, ring))
    anna, bert, carla, dirk = (rows[n] for n in ("Anna de Vries", "Bert Jansen", "Carla Smit", "Dirk Dekker"))
    assert (anna["wijk"], anna["status"], anna["balance"], anna["limits"]) == ("Noord", "actief", "-2:00",
                                                                               "-2:00 / 3:00")
    assert (bert["wijk"], bert["balance"], bert["limits"]) == ("Zuid", "2:30", "-2:00 / 3:00")
    assert (carla["balance"], carla["last_trade"], carla["last_login"]) == ("0:00", "nooit", "nooit")
    assert dirk["limits"] == "-10:00 / 20:00"  # personal limits win over the ring's
    assert anna["last_trade"] == bert["last_trade"] == dirk["last_trade"] == "12 mrt 2026"
    assert anna["last_login"] == "3 apr 2026"
    assert bert["last_login"] == "nooit"
    assert rows["Coby Kramer"]["last_login"] == "1 mei 2026"
    html = text(admin_list(coordinator_client, ring))
    assert f'href="/kring/{ring.slug}/leden/{people["anna"].id}/saldo">-2:00</a>' in html
    assert f'href="/kring/{ring.slug}/beheer/leden/{people["anna"].id}/limieten">' in html


def test_only_trades_count_as_a_trade(coordinator_client, ring, people, coby):
    carla, bert = people["carla"], people["bert"]
    run_ledger_transaction(lambda: ledger.transfer_correct(
        payer=ledger.account_open(member=bert), payee=ledger.account_open(member=carla), amount=15,
        corrected_by=coby.user, reason="verrekening", idempotency_key=uuid.uuid4().hex))
    rows = admin_rows(admin_list(coordinator_client, ring))
    assert (rows["Carla Smit"]["balance"], rows["Carla Smit"]["last_trade"]) == ("0:15", "nooit")
    assert "Carla Smit" in admin_rows(admin_list(coordinator_client, ring, never_traded="y"))
    pay(carla, bert, 15, "soep")
    assert admin_rows(admin_list(coordinator_client, ring))["Carla Smit"]["last_trade"] == "1 mei 2026"
    assert "Carla Smit" not in admin_rows(admin_list(coordinator_client, ring, never_traded="y"))


# Filters


def test_filter_by_wijk(coordinator_client, ring, people):
    noord, zuid = ring.neighbourhoods
    assert set(admin_rows(admin_list(coordinator_client, ring, wijk=noord.id))) >= {"Anna de Vries", "Dirk Dekker"}
    assert not {"Bert Jansen", "Carla Smit"} & set(admin_rows(admin_list(coordinator_client, ring, wijk=noord.id)))
    assert set(admin_rows(admin_list(coordinator_client, ring, wijk=zuid.id))) == {"Bert Jansen", "Carla Smit"}
    html = text(admin_list(coordinator_client, ring))
    assert f'<option value="{zuid.id}">Zuid</option>' in html


def test_filter_by_a_wijk_of_another_ring_finds_nobody(coordinator_client, ring, people):
    elsewhere = factories.MemberFactory(user__name="Olga Elders")
    db.session.commit()
    response = admin_list(coordinator_client, ring, wijk=elsewhere.neighbourhood_id)
    assert admin_rows(response) == {} and "Geen leden gevonden." in text(response)
    # nonsense is ignored rather than an error
    response = admin_list(coordinator_client, ring, wijk="abc")
    assert response.status_code == 200 and "Anna de Vries" in admin_rows(response)


def test_filter_never_traded(coordinator_client, ring, people):
    names = set(admin_rows(admin_list(coordinator_client, ring, never_traded="y")))
    assert names == {"Carla Smit", "Coby Kramer"}


def test_filter_at_limit(coordinator_client, ring, people):
    # Anna is at her lower limit (-2:00); Bert is at 2:30 of 3:00: not yet
    assert set(admin_rows(admin_list(coordinator_client, ring, at_limit="y"))) == {"Anna de Vries"}
    pay(people["carla"], people["bert"], 30, "boodschappen")
    assert set(admin_rows(admin_list(coordinator_client, ring, at_limit="y"))) == {"Anna de Vries", "Bert Jansen"}


def test_filters_combine_and_htmx_gets_only_the_table(coordinator_client, ring, people):
    noord, _zuid = ring.neighbourhoods
    response = admin_list(coordinator_client, ring, headers=FRAGMENT, wijk=noord.id, at_limit="y")
    html = text(response)
    assert "<html" not in html and html.lstrip().startswith('<div class="table-scroll" tabindex="0"><table')
    assert set(admin_rows(response)) == {"Anna de Vries"}
    # Carla never traded but lives in Zuid; Coby (Noord) never traded either
    response = admin_list(coordinator_client, ring, wijk=noord.id, never_traded="y")
    assert set(admin_rows(response)) == {"Coby Kramer"}


# The password link


def test_password_link_mails_a_working_link_and_is_audited(coordinator_client, ring, people, coby, outbox, login):
    carla = people["carla"]
    html = text(admin_list(coordinator_client, ring))
    action = f"/kring/{ring.slug}/beheer/leden/{carla.id}/wachtwoord-link"
    assert f'action="{action}"' in html

    response = coordinator_client.post(action, headers={"Referer": url(ring, "/beheer/leden")})
    assert response.status_code == 302
    page = text(coordinator_client.get(response.headers["Location"]))
    assert "Carla Smit krijgt een e-mail met een link om een nieuw wachtwoord te kiezen." in page

    [mail] = [m for m in outbox() if m["To"] == carla.user.email]
    assert mail["Subject"] == "Nieuw wachtwoord instellen"
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "member.send_password_link")).all()
    assert (event.actor_id, event.subject_member_id, event.ring_id) == (coby.user_id, carla.id, ring.id)
    log = text(coordinator_client.get(url(ring, "/beheer/logboek")))
    assert "wachtwoordlink gestuurd" in log and "Carla Smit" in log

    coordinator_client.post("/uitloggen")
    link = mail_link(mail, "/wachtwoord-instellen/")
    form = coordinator_client.get(link)
    assert form.status_code == 200 and carla.user.email in text(form)
    done = coordinator_client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/inloggen"
    login(carla.user, password=NEW_PASSWORD)
    # the link works once
    coordinator_client.post("/uitloggen")
    assert coordinator_client.get(link).status_code == 400


def test_password_link_for_an_erased_member_gives_a_message(coordinator_client, ring, people, coby, outbox):
    carla = people["carla"]
    member_services.member_erase(member=carla, erased_by=coby.user, reason="Verzoek van het lid")
    db.session.commit()
    html = text(admin_list(coordinator_client, ring))
    carla_row = re.search(rf'<tr id="member-{carla.id}">(.*?)</tr>', html, re.S).group(1)
    assert f"Oud-lid {carla.user_id}" in carla_row and "Wachtwoordlink sturen" not in carla_row
    response = coordinator_client.post(url(ring, f"/beheer/leden/{carla.id}/wachtwoord-link"))
    page = text(coordinator_client.get(response.headers["Location"]))
    assert "De gegevens van dit lid zijn gewist." in page
    assert [m for m in outbox() if m["Subject"] == "Nieuw wachtwoord instellen"] == []
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "member.send_password_link")).all() == []


def test_members_and_other_rings_cannot_send_password_links(client, login, ring, people, outbox):
    anna, carla = people["anna"], people["carla"]
    login(anna.user)
    assert client.post(url(ring, f"/beheer/leden/{carla.id}/wachtwoord-link")).status_code == 404
    assert admin_list(client, ring).status_code == 404
    client.post("/uitloggen")
    other = factories.MemberFactory(role=MemberRole.COORDINATOR)
    db.session.commit()
    login(other.user)
    assert client.post(url(ring, f"/beheer/leden/{carla.id}/wachtwoord-link")).status_code == 404
    # nor through their own ring's address
    assert client.post(url(other.ring, f"/beheer/leden/{carla.id}/wachtwoord-link")).status_code == 404
    assert [m for m in outbox() if m["Subject"] == "Nieuw wachtwoord instellen"] == []
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "member.send_password_link")).all() == []


def test_pending_members_are_listed_first(coordinator_client, ring, people):
    factories.MemberFactory(ring=ring, user__name="Zeger Zoekt", status=MemberStatus.PENDING)
    db.session.commit()
    names = list(admin_rows(admin_list(coordinator_client, ring)))
    assert names[0] == "Zeger Zoekt"
    assert names[1:] == sorted(names[1:], key=str.lower)
