"""The audit log pages: every coordinator action a page can trigger shows up in the
ring's log with who, what, old and new values and why; search, period filter, the htmx
table, the CSV export; members read only what is about themselves; nothing edits or
deletes the log.

Every test runs on SQLite and PostgreSQL (the ``app`` fixture). The actions are done
through the pages, as a coordinator would.
"""

import csv
import io
import json
import re
import uuid
from datetime import UTC, datetime
from html import unescape

import pytest
from sqlalchemy import func, select

from ruilkring import clock
from ruilkring.audit.models import AuditEvent
from ruilkring.disputes import services as dispute_services
from ruilkring.extensions import db
from ruilkring.ledger.models import Transfer
from ruilkring.listings import services as listing_services
from ruilkring.listings.models import HelpKind, ListingKind, ListingPlace
from ruilkring.members.models import MemberRole, MemberStatus
from tests import factories
from tests.helpers import htmx_target, pay, text, url

BEFORE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the approval
NOW = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)  # everything else
FRAGMENT = htmx_target("audit-table")


# People: anna, bert, carla and the coordinator coby come from tests/conftest.py.


@pytest.fixture
def piet(ring):
    return factories.MemberFactory(ring=ring, user__name="Piet Nieuw", status=MemberStatus.PENDING)


# Helpers


def cells(row_html: str) -> list[str]:
    return [" ".join(unescape(re.sub(r"<[^>]+>", "", cell)).split())
            for cell in re.findall(r"<td>(.*?)</td>", row_html, re.S)]


def log_rows(response) -> list[dict]:
    """The rows of the audit table as dicts: when, by, what, about, values, reason."""
    html = text(response)
    if "<tbody>" not in html:
        return []
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    keys = ("when", "by", "what", "about", "values", "reason")
    return [dict(zip(keys, cells(row), strict=True)) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def row_for(rows: list[dict], what: str) -> dict:
    [row] = [row for row in rows if row["what"] == what]
    return row


def values(old, new) -> str:
    """The old → new cell as the log shows it."""
    dump = lambda data: json.dumps(data, ensure_ascii=False, sort_keys=True)
    if old is None:
        return dump(new)
    if new is None:
        return dump(old)
    return f"{dump(old)} → {dump(new)}"


def ok(response):
    assert response.status_code == 302, text(response)
    return response


@pytest.fixture
def actions(client, login_as, ring, anna, bert, carla, piet, coby):
    """Coby does every kind of coordinator action through the pages; the ids involved."""
    clock.freeze(BEFORE)
    login_as(coby.user)
    ok(client.post(url(ring, f"/beheer/leden/{piet.id}/approve")))

    clock.freeze(NOW)
    ok(client.post(url(ring, f"/beheer/leden/{anna.id}/limieten"),
                   data={"min_balance": "-10:00", "max_balance": "30:00", "reason": "Afspraak na gesprek"}))
    ok(client.post(url(ring, "/beheer/boeken"), data={
        "payer": anna.id, "payee": bert.id, "amount": "1:30", "description": "Ruilbriefje tuin",
        "note": "Briefje van 12 maart", "idempotency_key": uuid.uuid4().hex}))
    booked = db.session.scalars(select(Transfer).where(Transfer.description == "Ruilbriefje tuin")).one()

    double = pay(bert, anna, 45, "dubbele boeking")
    ok(client.post(url(ring, f"/beheer/transacties/{double.id}"), data={
        "action": "reverse", "reverse-reason": "Dubbel ingevoerd", "reverse-idempotency_key": uuid.uuid4().hex}))
    reversal = db.session.scalars(select(Transfer).where(Transfer.reverses_id == double.id)).one()

    categories = listing_services.categories_create_defaults(ring=ring)
    listing = listing_services.listing_create(
        owner=bert, kind=ListingKind.OFFER, title="Goedkope sigaretten", description="", category_id=categories[0].id,
        help_kind=HelpKind.PRACTICAL, place=ListingPlace.IN_NEIGHBOURHOOD, created_by=bert.user)
    db.session.commit()
    ok(client.post(url(ring, f"/aanbod-en-vraag/{listing.id}/verbergen"),
                   data={"reason": "Past niet bij de huisregels"}))

    carla_user_id = carla.user_id
    ok(client.post(url(ring, f"/beheer/leden/{carla.id}/wissen"),
                   data={"reason": "Verzoek van het lid", "confirm": "y"}))

    babysit = pay(bert, anna, 60, "oppassen")
    dispute = dispute_services.dispute_open(transfer=babysit, opened_by=bert, reason="wrong_amount",
                                            asked="talk", explanation="Het was korter.")
    db.session.commit()
    ok(client.post(url(ring, f"/geschillen/{dispute.id}/afhandelen"), data={
        "outcome": "no_action", "note": "Afspraak was een uur", "idempotency_key": uuid.uuid4().hex}))
    return {"booked": booked.id, "double": double.id, "reversal": reversal.id, "listing": listing.id,
            "carla_user": carla_user_id, "dispute": dispute.id}


# The coordinators' log


def test_every_coordinator_action_is_in_the_log_with_who_what_values_and_reason(
        client, ring, anna, bert, actions):
    response = client.get(url(ring, "/beheer/logboek"))
    assert response.status_code == 200 and "<html" in text(response)
    rows = log_rows(response)
    assert [row["what"] for row in rows] == [
        "geschil afgehandeld", "persoonsgegevens gewist", "advertentie verborgen", "transactie teruggedraaid",
        "geboekt namens lid", "grenzen gewijzigd", "lid toegelaten",
    ]  # newest first
    assert {row["by"] for row in rows} == {"Coby Kramer"}
    expected = {
        "lid toegelaten": ("Piet Nieuw", values({"status": "pending"}, {"status": "active"}), ""),
        "grenzen gewijzigd": ("Anna de Vries", values({"min": None, "max": None}, {"min": -600, "max": 1800}),
                              "Afspraak na gesprek"),
        "geboekt namens lid": ("Anna de Vries", values(None, {"transfer": actions["booked"], "payee": bert.id,
                                                             "amount": 90}), "Briefje van 12 maart"),
        "transactie teruggedraaid": ("", values({"transfer": actions["double"]},
                                                {"reversal": actions["reversal"], "override_limits": False}),
                                     "Dubbel ingevoerd"),
        "advertentie verborgen": ("Bert Jansen", values({"listing": actions["listing"], "status": "active"},
                                                        {"status": "hidden"}), "Past niet bij de huisregels"),
        "persoonsgegevens gewist": (f"Oud-lid {actions['carla_user']}",
                                    values({"status": "active"}, {"status": "left"}), "Verzoek van het lid"),
        "geschil afgehandeld": ("", values(None, {"dispute": actions["dispute"], "outcome": "no_action",
                                                  "amount": None, "transfer": None}), "Afspraak was een uur"),
    }
    for what, (about, changed, reason) in expected.items():
        row = row_for(rows, what)
        assert (row["about"], row["values"], row["reason"]) == (about, changed, reason), what
    assert row_for(rows, "lid toegelaten")["when"].startswith("02-03-2026, ")
    # the erased member's name is gone from the log too
    assert "Carla Smit" not in text(response)


def test_search_by_name(client, ring, actions):
    anna_rows = log_rows(client.get(url(ring, "/beheer/logboek"), query_string={"q": "anna DE"}))
    assert sorted(row["what"] for row in anna_rows) == ["geboekt namens lid", "grenzen gewijzigd"]
    assert [row["what"] for row in log_rows(client.get(url(ring, "/beheer/logboek"),
                                                       query_string={"q": "piet"}))] == ["lid toegelaten"]
    assert len(log_rows(client.get(url(ring, "/beheer/logboek"), query_string={"q": "kramer"}))) == 7
    nobody = client.get(url(ring, "/beheer/logboek"), query_string={"q": "niemand"})
    assert log_rows(nobody) == [] and "Geen handelingen gevonden." in text(nobody)


def test_search_by_action(client, ring, actions):
    page = client.get(url(ring, "/beheer/logboek"))
    assert '<option value="listing.hide">advertentie verborgen</option>' in text(page)
    rows = log_rows(client.get(url(ring, "/beheer/logboek"), query_string={"action": "listing.hide"}))
    assert [(row["what"], row["about"]) for row in rows] == [("advertentie verborgen", "Bert Jansen")]
    both = log_rows(client.get(url(ring, "/beheer/logboek"),
                               query_string={"action": "account.set_limits", "q": "bert"}))
    assert both == []


def test_period_filter(client, ring, actions):
    def whats(**period):
        return [row["what"] for row in log_rows(client.get(url(ring, "/beheer/logboek"), query_string=period))]

    assert whats(date_to="2026-03-31") == ["lid toegelaten"]
    assert "lid toegelaten" not in whats(date_from="2026-06-01")
    assert len(whats(date_from="2026-06-10", date_to="2026-06-10")) == 6
    assert len(whats(date_from="10-6-2026", date_to="10-06-2026")) == 6  # typed the Dutch way
    assert whats(date_from="2026-04-01", date_to="2026-05-31") == []
    # an unreadable date is ignored rather than an error
    response = client.get(url(ring, "/beheer/logboek"), query_string={"date_from": "gisteren"})
    assert response.status_code == 200 and len(log_rows(response)) == 7


def test_htmx_request_gets_only_the_table(client, ring, actions):
    response = client.get(url(ring, "/beheer/logboek"), query_string={"q": "piet"}, headers=FRAGMENT)
    html = text(response)
    assert response.status_code == 200
    assert "<html" not in html and html.lstrip().startswith('<div class="table-scroll" tabindex="0"><table')
    assert [row["what"] for row in log_rows(response)] == ["lid toegelaten"]
    assert {"HX-Request", "HX-Target"} <= set(response.vary)
    # A filter it cannot use is said in the table, since the form is not drawn again.
    response = client.get(url(ring, "/beheer/logboek"), query_string={"q": "piet", "date_from": "gisteren"},
                          headers=FRAGMENT)
    assert 'role="alert"' in text(response) and "Niet elk filter kon worden gebruikt" in text(response)
    assert [row["what"] for row in log_rows(response)] == ["lid toegelaten"]
    # boosted navigation is an htmx request too, but wants the whole page
    boosted = client.get(url(ring, "/beheer/logboek"), headers={"HX-Request": "true", "HX-Boosted": "true",
                                                                "HX-Target": "main"})
    assert "<html" in text(boosted)


def test_csv_export_follows_the_filters(client, ring, actions):
    response = client.get(url(ring, "/beheer/logboek.csv"), query_string={"action": "account.set_limits"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="logboek-{ring.slug}.csv"'
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    header, *rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    assert header == ["tijdstip", "door", "handeling", "over lid", "oud", "nieuw", "reden"]
    assert rows == [[NOW.isoformat(), "Coby Kramer", "grenzen gewijzigd", "Anna de Vries",
                     '{"max": null, "min": null}', '{"max": 1800, "min": -600}', "Afspraak na gesprek"]]
    everything = client.get(url(ring, "/beheer/logboek.csv")).get_data(as_text=True)
    assert len(list(csv.reader(io.StringIO(everything.lstrip("\ufeff")), delimiter=";"))) == 1 + 7


def test_another_rings_log_never_shows_these_events(client, login_as, actions):
    other = factories.MemberFactory(role=MemberRole.COORDINATOR)
    login_as(other.user)
    response = client.get(url(other.ring, "/beheer/logboek"))
    assert response.status_code == 200 and log_rows(response) == []
    assert "Coby Kramer" not in client.get(url(other.ring, "/beheer/logboek.csv")).get_data(as_text=True)


# Members


def test_a_member_sees_only_events_about_themselves(client, login_as, ring, anna, bert, actions):
    login_as(anna.user)
    response = client.get(url(ring, "/logboek"))
    assert response.status_code == 200
    assert "Wat er over mij is vastgelegd" in text(response)
    assert sorted(row["what"] for row in log_rows(response)) == ["geboekt namens lid", "grenzen gewijzigd"]
    assert {row["about"] for row in log_rows(response)} == {"Anna de Vries"}
    # not even the kinds of action that happened to others are given away by the filter
    for other in ("advertentie verborgen", "persoonsgegevens gewist", "lid toegelaten"):
        assert other not in text(response)
    filtered = client.get(url(ring, "/logboek"), query_string={"action": "listing.hide"})
    assert log_rows(filtered) == []
    assert "/beheer/logboek.csv" not in text(response)

    login_as(bert.user)
    rows = log_rows(client.get(url(ring, "/logboek")))
    assert [(row["what"], row["reason"]) for row in rows] == [("advertentie verborgen", "Past niet bij de huisregels")]


@pytest.mark.parametrize("path", ["/beheer/logboek", "/beheer/logboek.csv"])
def test_members_get_404_on_the_coordinator_log(client, login, ring, anna, path):
    login(anna.user)
    assert client.get(url(ring, path)).status_code == 404


def test_outsiders_cannot_read_a_members_log(client, login, ring, anna, actions):
    client.post("/uitloggen")
    assert client.get(url(ring, "/logboek")).status_code == 302  # to the login page
    stranger = factories.MemberFactory(user__name="Olga Elders")
    login(stranger.user)
    assert client.get(url(ring, "/logboek")).status_code == 404
    assert client.get(url(ring, "/beheer/logboek")).status_code == 404


# Append-only


def test_no_route_edits_or_deletes_the_log(app, client, ring, actions):
    audit_rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("audit.")]
    assert {rule.endpoint for rule in audit_rules} == {"audit.index", "audit.export", "audit.mine"}
    for rule in audit_rules:
        assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule
    assert not [rule for rule in app.url_map.iter_rules()
                if "logboek" in rule.rule and rule.methods - {"GET", "HEAD", "OPTIONS"}]
    before = db.session.scalar(select(func.count(AuditEvent.id)))
    for path in ("/beheer/logboek", "/beheer/logboek.csv", "/logboek"):
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            assert client.open(url(ring, path), method=method).status_code == 405, (method, path)
    assert db.session.scalar(select(func.count(AuditEvent.id))) == before == 7
