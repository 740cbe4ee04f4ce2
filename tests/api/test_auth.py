"""Tokens as the credential of /api/v1, and errors as problem+json everywhere under it."""

import hashlib
from datetime import UTC, datetime

import pytest
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ValidationError, field_validator
from sqlalchemy import select

from ruilkring import clock
from ruilkring.api.models import ApiToken
from ruilkring.api.problems import validation_message
from ruilkring.api.services import api_token_revoke
from ruilkring.extensions import db
from ruilkring.listings.models import HelpKind, ListingKind, ListingPlace
from ruilkring.listings.services import categories_create_defaults, listing_create
from ruilkring.members.models import MemberStatus
from tests.api.conftest import bearer, make_token
from tests.helpers import reload

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status and body["code"] == code
    assert body["title"] and body["type"] == f"/api/v1/#{code}"
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def the_token() -> ApiToken:
    db.session.expire_all()
    return db.session.scalars(select(ApiToken)).one()


def test_only_a_hash_of_the_token_is_stored(member):
    token = make_token(member)
    row = the_token()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (row.token_hash, row.hint, row.name)
    assert token.startswith(row.hint)


def test_a_valid_token_gives_access_without_cookies(client, member):
    token = make_token(member)
    response = client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json()["member_id"] == member.id
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer rk_nonsense", "Basic dXNlcjpwYXNz", "rk_x"])
def test_missing_or_unknown_token_is_401(client, member, header):
    make_token(member)
    response = client.get("/api/v1/me", headers={"Authorization": header} if header else {})
    assert_problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_problems_speak_the_token_owners_language_else_the_requests(client, member):
    token = make_token(member)
    response = client.get("/api/v1/me", headers={"Accept-Language": "en"})
    assert "Authorization: Bearer" in assert_problem(response, 401, "unauthorized")["detail"]
    assert "geldige" not in response.get_json()["detail"]
    assert "geldige" in client.get("/api/v1/me").get_json()["detail"]  # Dutch by default
    member.user.locale = "en"
    db.session.commit()
    response = client.get("/api/v1/listings/999999", headers=bearer(token))
    dutch = client.get("/api/v1/listings/999999", headers={**bearer(token), "Accept-Language": "nl"})
    assert response.get_json()["detail"] == dutch.get_json()["detail"]  # the owner's choice wins
    member.user.locale = "nl"
    db.session.commit()
    assert client.get("/api/v1/listings/999999", headers=bearer(token)).get_json()["detail"] != \
        response.get_json()["detail"]


def test_a_revoked_token_is_401(client, member):
    token = make_token(member)
    api_token_revoke(token=the_token(), revoked_by=member.user)
    assert_problem(client.get("/api/v1/me", headers=bearer(token)), 401, "unauthorized")


def test_a_member_who_no_longer_takes_part_is_refused(client, member):
    token = make_token(member)
    member.status = MemberStatus.INACTIVE
    assert_problem(client.get("/api/v1/me", headers=bearer(token)), 403, "forbidden")


def test_use_is_noted_on_the_token(client, member):
    moment = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    clock.freeze(moment)
    token = make_token(member)
    assert the_token().last_used_at is None
    client.get("/api/v1/me", headers=bearer(token))
    assert the_token().last_used_at == moment


def test_the_session_is_no_credential(client, login, member):
    login(member.user)
    assert_problem(client.get("/api/v1/me"), 401, "unauthorized")


def test_unknown_url_and_wrong_method_are_problems(client, member):
    headers = bearer(make_token(member))
    assert_problem(client.get("/api/v1/nothing-here", headers=headers), 404, "not_found")
    assert_problem(client.delete("/api/v1/me", headers=headers), 405, "method_not_allowed")
    assert_problem(client.get("/api/v1/listings/0", headers=headers), 404, "not_found")


def test_malformed_json_and_other_media_types_are_problems(client, member, categories):
    headers = bearer(make_token(member))
    response = client.post("/api/v1/listings", data="{not json", headers=headers,
                           content_type="application/json")
    assert_problem(response, 400, "malformed_json")
    response = client.post("/api/v1/listings", data={"title": "x"}, headers=headers)
    assert_problem(response, 415, "unsupported_media_type")


def test_a_nul_character_in_json_is_a_problem_not_a_server_error(client, member, categories):
    response = client.post("/api/v1/listings", data='{"kind": "offer", "title": "a\\u0000b"}',
                           headers=bearer(make_token(member)), content_type="application/json")
    assert_problem(response, 400, "bad_request")
    # An escaped backslash before "u0000" is text, not a NUL.
    response = client.post("/api/v1/listings", data='{"kind": "offer", "title": "a\\\\u0000b"}',
                           headers=bearer(make_token(member)), content_type="application/json")
    assert response.status_code == 422


def test_invalid_fields_are_listed_per_field(client, member, categories):
    headers = bearer(make_token(member))
    response = client.post("/api/v1/listings", json={"kind": "gift", "title": "", "description": "x" * 5001,
                                                     "time_estimate_minutes": 0, "valid_until": "2026-13-01"},
                           headers=headers)
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"] == {
        "kind": ["Kies een van: offer, request."],
        "title": ["Dit veld mag niet leeg zijn."],
        "description": ["Gebruik hooguit 5000 tekens."],
        "category_id": ["Dit veld is verplicht."],
        "time_estimate_minutes": ["Vul een getal van minstens 1 in."],
        "valid_until": ["Vul een datum in als JJJJ-MM-DD."],
    }


def test_validation_messages_are_ours_not_pydantics(client, member):
    headers = bearer(make_token(member))
    response = client.post("/api/v1/transfers", json={}, headers={**headers, "Idempotency-Key": "k1"})
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"] == {field: ["Dit veld is verplicht."]
                              for field in ("payee_id", "amount_minutes", "description")}
    response = client.post("/api/v1/transfers", headers={**headers, "Idempotency-Key": "k1"},
                           json={"payee_id": "abc", "amount_minutes": 10**9, "description": 5, "tip": 1})
    assert assert_problem(response, 422, "validation_failed")["errors"] == {
        "payee_id": ["Vul een heel getal in."],
        "amount_minutes": ["Vul een getal van hooguit 60000 in."],
        "description": ["Vul tekst in."],
        "tip": ["Dit veld bestaat niet; laat het weg."],
    }
    response = client.post("/api/v1/transfers", json=[1], headers={**headers, "Idempotency-Key": "k1"})
    assert assert_problem(response, 422, "validation_failed")["errors"] == {"body": ["Stuur een JSON-object."]}
    errors = assert_problem(client.get("/api/v1/listings?page=abc&new=misschien", headers=headers),
                            422, "validation_failed")["errors"]
    assert errors == {"page": ["Vul een heel getal in."], "new": ["Vul true of false in."]}
    errors = assert_problem(client.get("/api/v1/listings?foo=1", headers=headers), 422, "validation_failed")["errors"]
    assert errors == {"foo": ["Dit veld bestaat niet; laat het weg."]}
    errors = assert_problem(client.get("/api/v1/transfers?date_from=gisteren&limit=0", headers=headers),
                            422, "validation_failed")["errors"]
    assert errors == {"date_from": ["Vul een datum in als JJJJ-MM-DD."], "limit": ["Vul een getal van minstens 1 in."]}


def test_validation_messages_of_unknown_and_custom_errors(app):
    class Checked(BaseModel):
        name: str
        when: float

        @field_validator("name")
        @classmethod
        def not_bob(cls, value):
            raise ValueError(_l("Niet Bob.") if value == "bob" else "not allowed")

    def messages(**values):
        try:
            Checked(**values)
        except ValidationError as error:
            return [validation_message(item) for item in error.errors()]

    assert messages(name="bob", when="nu") == ["Niet Bob.", "Deze waarde klopt niet."]  # float_parsing: unknown
    assert messages(name="ann", when=1) == ["Deze waarde klopt niet."]  # not one of ours: not shown


def test_coordinator_endpoints_are_404_for_members(client, member):
    assert_problem(client.get("/api/v1/ring/export", headers=bearer(make_token(member))), 404, "not_found")


def test_rows_of_another_ring_are_404(client, member, stranger, categories):
    other_category = categories_create_defaults(ring=stranger.ring)[0]
    listing = listing_create(owner=stranger, kind=ListingKind.OFFER, title="Fiets maken", description="",
                             category_id=other_category.id, help_kind=HelpKind.PRACTICAL,
                             place=ListingPlace.ONLINE, created_by=stranger.user)
    headers = bearer(make_token(member))
    assert_problem(client.get(f"/api/v1/listings/{listing.id}", headers=headers), 404, "not_found")
    response = client.patch(f"/api/v1/listings/{listing.id}", json={"title": "Van mij"}, headers=headers)
    assert_problem(response, 404, "not_found")
    assert reload(listing).title == "Fiets maken"
    # and paying a member of another ring is refused on the field
    response = client.post("/api/v1/transfers", json={"payee_id": stranger.id, "amount_minutes": 30,
                                                      "description": "klus"},
                           headers={**headers, "Idempotency-Key": "k1"})
    body = assert_problem(response, 422, "invalid")
    assert "payee_id" in body["errors"]


def test_the_rate_limit_answers_with_a_problem(app, client, member, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "2 per minute")
    headers = bearer(make_token(member))
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    response = client.get("/api/v1/me", headers=headers)
    body = assert_problem(response, 429, "too_many_requests")
    seconds = int(response.headers["Retry-After"])
    assert 1 <= seconds <= 60
    assert body["detail"].startswith("Te veel verzoeken met deze sleutel; probeer het over ")
    assert "kwartier" not in body["detail"]


def test_a_too_large_body_answers_with_the_apis_own_problem(app, client, member, categories, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    response = client.post("/api/v1/listings", headers=bearer(make_token(member)),
                           json={"kind": "offer", "title": "Fiets", "description": "x" * 2000,
                                 "category_id": categories[0].id})
    assert assert_problem(response, 413, "too_large")["detail"] == "Het verzoek is te groot."



def test_csrf_does_not_apply_to_the_api_but_to_the_token_page(app, client, login, member, categories,
                                                              monkeypatch):
    token = make_token(member)
    login(member.user)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    response = client.post("/api/v1/listings", headers=bearer(token),
                           json={"kind": "offer", "title": "Fiets", "category_id": categories[0].id})
    assert response.status_code == 201
    client.post("/account/api-sleutels", data={"member_id": member.id, "name": "zonder csrf"})
    assert db.session.scalar(select(ApiToken).where(ApiToken.name == "zonder csrf")) is None
