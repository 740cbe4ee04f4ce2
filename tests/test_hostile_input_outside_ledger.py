"""Input nobody should send, outside the ledger: odd filters in query strings, values of only
spaces, text too long for its column, dates at the ends of the calendar and JSON bodies that
are no object. Each gets a message (or is ignored, for a filter) and changes nothing; none is
a server error. The ledger's own forms are in ``tests/test_hostile_input.py``."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from ruilkring import clock
from ruilkring.audit.services import audit_record
from ruilkring.extensions import db
from ruilkring.listings import services as listing_services
from ruilkring.listings.models import Category, Listing, ListingStatus
from ruilkring.rings.models import Ring
from tests.api.conftest import bearer, make_token
from tests.helpers import client_as, count, field_error, reload, text, url

INVALID_CHOICE = "Ongeldige keuze."  # WTForms' own Dutch message for a value that is not on the list


def offer(member, category, title="Fietsen repareren") -> Listing:
    listing = listing_services.listing_create(
        owner=member, kind="offer", title=title, description="", category_id=category.id,
        help_kind="practical", place="online", created_by=member.user)
    db.session.commit()
    return listing


# Filters in the query string


@pytest.mark.parametrize("kind", ["   ", "onbekend", "99999999999999999999"])
def test_an_unknown_kind_in_the_search_is_told_and_not_searched_for(app, ring, anna, categories, kind):
    offer(anna, categories[0])
    response = client_as(app, anna.user).get(url(ring, f"/aanbod-en-vraag?q=fiets&kind={kind}"))
    assert response.status_code == 200
    assert field_error(response, "kind") == INVALID_CHOICE
    assert "Fietsen repareren" in text(response)
    # Swapped in by htmx, the results say it themselves: the form is not drawn again.
    fragment = text(client_as(app, anna.user).get(url(ring, f"/aanbod-en-vraag?q=fiets&kind={kind}"),
                                                  headers={"HX-Request": "true", "HX-Target": "results"}))
    assert "<html" not in fragment and f"Aanbod of vraag: {INVALID_CHOICE}" in fragment


@pytest.mark.parametrize("status", ["   ", "onbekend"])
def test_an_unknown_status_in_the_member_list_is_told_and_not_filtered_on(app, ring, anna, coby, status):
    response = client_as(app, coby.user).get(url(ring, f"/beheer/leden?status={status}"))
    assert response.status_code == 200
    assert field_error(response, "status") == INVALID_CHOICE
    assert "Anna de Vries" in text(response)
    fragment = text(client_as(app, coby.user).get(url(ring, f"/beheer/leden?status={status}"),
                                                  headers={"HX-Request": "true", "HX-Target": "member-table"}))
    assert "<html" not in fragment and f"Status: {INVALID_CHOICE}" in fragment


@pytest.mark.parametrize("path", ["/beheer/logboek", "/beheer/logboek.csv"])
def test_the_last_day_of_the_calendar_ends_the_audit_period(app, ring, anna, coby, path):
    audit_record(actor=coby.user, action="member.deactivate", subject=anna, reason="op verzoek")
    db.session.commit()
    response = client_as(app, coby.user).get(url(ring, f"{path}?date_from=0001-01-01&date_to=9999-12-31"))
    assert response.status_code == 200
    assert "op verzoek" in text(response)


def test_a_member_s_own_log_takes_the_last_day_of_the_calendar_too(app, ring, anna, coby):
    audit_record(actor=coby.user, action="member.deactivate", subject=anna, reason="op verzoek")
    db.session.commit()
    response = client_as(app, anna.user).get(url(ring, "/logboek?date_to=9999-12-31"))
    assert response.status_code == 200 and "op verzoek" in text(response)


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31", "3000-01-01"])
def test_a_dashboard_day_far_from_now_shows_today_s_period(app, ring, coby, day):
    clock.freeze(datetime(2026, 5, 11, 10, tzinfo=UTC))
    client = client_as(app, coby.user)
    for periode in ("maand", "kwartaal", "jaar"):
        response = client.get(url(ring, f"/beheer/dashboard?periode={periode}&datum={day}"))
        assert response.status_code == 200
        assert f"De datum {day} ligt te ver weg; u ziet de periode van vandaag." in text(response)
        csv = client.get(url(ring, f"/beheer/dashboard/members.csv?periode={periode}&datum={day}"))
        assert csv.status_code == 200 and "attachment" in csv.headers["Content-Disposition"]


def test_a_period_of_one_s_own_at_the_ends_of_the_calendar_shows_the_quarter(app, ring, coby):
    clock.freeze(datetime(2026, 5, 11, 10, tzinfo=UTC))
    response = client_as(app, coby.user).get(url(ring, "/beheer/dashboard?periode=eigen&van=0001-01-01&tot=9999-12-31"))
    assert response.status_code == 200
    assert "Kies bij Zelf kiezen een geldige begin- en einddatum. U ziet nu het kwartaal." in text(response)
    assert "1 april 2026 – 30 juni 2026" in text(response)


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2026-02-30"])
def test_the_network_map_ignores_a_day_at_the_ends_of_the_calendar(app, ring, coby, day):
    clock.freeze(datetime(2026, 5, 11, 10, tzinfo=UTC))
    response = client_as(app, coby.user).get(url(ring, f"/beheer/netwerk?tot={day}"))
    assert response.status_code == 200
    assert "Tot en met 30 juni 2026." in text(response)  # the end of the quarter, as without a day


# Ring settings and wijken


def settings(ring, **overrides) -> dict:
    return {"name": ring.name, "neighbourhoods": "Noord\nZuid", "currency_name": "uur",
            "default_min_balance": "-20:00", "default_max_balance": "40:00", "dispute_days": "60",
            "payment_request_days": "30", "description": "", "house_rules": ring.house_rules, **overrides}


def ring_unchanged(ring) -> None:
    ring = reload(ring)
    assert ring.name.startswith("Ruilkring ") and ring.currency_name == "uur"
    assert [n.name for n in ring.neighbourhoods] == ["Noord", "Zuid"]


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"name": "   "}, "name", "Vul een naam in."),
    ({"currency_name": " \t "}, "currency_name", "Vul een naam in, bijvoorbeeld 'uur'."),
    ({"neighbourhoods": "Noord\n" + "W" * 10_000}, "neighbourhoods", "Een wijknaam is te lang (hoogstens 120 tekens)."),
])
def test_ring_settings_of_spaces_or_too_long_are_refused(app, ring, coby, admin, overrides, field, message):
    for client, path in ((client_as(app, coby.user), url(ring, "/beheer/instellingen")),
                         (client_as(app, admin), f"/beheer/kringen/{ring.id}")):
        data = settings(ring, **overrides)
        if "kringen" in path:
            data["municipality"] = ring.municipality.name
        response = client.post(path, data=data)
        assert response.status_code == 200
        assert field_error(response, field) == message
        ring_unchanged(ring)


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"name": "  "}, "name", "Vul een naam in."),
    ({"municipality": "   "}, "municipality", "Vul de gemeente in."),
    ({"neighbourhoods": "x" * 121}, "neighbourhoods", "Een wijknaam is te lang (hoogstens 120 tekens)."),
])
def test_a_new_ring_of_spaces_or_too_long_is_refused(app, admin, overrides, field, message):
    data = {"name": "Ruilkring Zeist", "municipality": "Zeist", "neighbourhoods": "Centrum", "currency_name": "uur",
            "default_min_balance": "-20:00", "default_max_balance": "40:00", **overrides}
    response = client_as(app, admin).post("/beheer/kringen/nieuw", data=data)
    assert response.status_code == 200
    assert field_error(response, field) == message
    assert count(Ring) == 0


# Categories and hiding listings: messages that say what is wrong


def test_a_category_name_that_is_too_long_is_told_as_such(app, ring, coby, categories):
    db.session.commit()  # the refusal rolls the session back
    client = client_as(app, coby.user)
    category = categories[0]
    name = category.name
    response = client.post(url(ring, f"/beheer/categorieen/{category.id}"),
                           data={f"c{category.id}-name": "x" * 10_000, f"c{category.id}-active": "y"},
                           follow_redirects=True)
    assert response.status_code == 200
    assert "De naam is te lang (hoogstens 60 tekens)." in text(response)
    assert reload(category).name == name
    before = count(Category)
    response = client.post(url(ring, "/beheer/categorieen"), data={"new-name": "x" * 61, "new-active": "y"})
    assert response.status_code == 200
    assert field_error(response, "new-name") == "De naam is te lang (hoogstens 60 tekens)."
    assert count(Category) == before


@pytest.mark.parametrize(("reason", "message"), [
    ("x" * 10_000, "De reden is te lang (hoogstens 500 tekens)."),
    ("   ", "Geef een reden op; de eigenaar krijgt die te zien."),
])
def test_hiding_a_listing_with_a_reason_too_long_or_missing_says_which(app, ring, anna, coby, categories,
                                                                       reason, message):
    listing = offer(anna, categories[0])
    response = client_as(app, coby.user).post(url(ring, f"/aanbod-en-vraag/{listing.id}/verbergen"),
                                              data={"reason": reason}, follow_redirects=True)
    assert response.status_code == 200 and message in text(response)
    listing = reload(listing)
    assert listing.status == ListingStatus.ACTIVE and listing.hidden_reason == ""


# The JSON API: a body must be an object


@pytest.mark.parametrize("body", ["[]", "null", "[1]", '"titel"', "5"])
def test_an_api_body_that_is_no_object_is_refused(app, client, anna, categories, body):
    listing = offer(anna, categories[0])
    headers = bearer(make_token(anna))
    for method, path in (("PATCH", f"/api/v1/listings/{listing.id}"), ("POST", "/api/v1/listings")):
        response = client.open(path, method=method, headers=headers, data=body, content_type="application/json")
        assert response.status_code == 422
        problem = response.get_json()
        assert problem["code"] == "validation_failed" and problem["errors"] == {"body": ["Stuur een JSON-object."]}
    assert reload(listing).title == "Fietsen repareren"
    assert db.session.scalars(select(Listing.id)).all() == [listing.id]
