"""Each endpoint of /api/v1: what it answers, and that it writes through the services."""

import io
import zipfile
from datetime import date, timedelta

from sqlalchemy import select

from ruilkring import clock
from ruilkring.audit.models import AuditEvent
from ruilkring.extensions import db
from ruilkring.ledger import services as ledger_services
from ruilkring.ledger.models import PaymentRequest, PaymentRequestStatus, Transfer
from ruilkring.listings.models import HelpKind, Listing, ListingKind, ListingPlace, ListingStatus
from ruilkring.listings.services import categories_create_defaults, listing_create
from ruilkring.members.models import MemberStatus
from tests import factories
from tests.api.test_auth import assert_problem
from tests.helpers import balance, count, pay, reload, tick


def post_listing(owner, category, title="Fietsen repareren", **extra) -> Listing:
    values = {"kind": ListingKind.OFFER, "description": "", "help_kind": HelpKind.PRACTICAL,
              "place": ListingPlace.IN_NEIGHBOURHOOD} | extra
    listing = listing_create(owner=owner, title=title, category_id=category.id, created_by=owner.user, **values)
    db.session.commit()
    return listing


# Me and members


def test_me_tells_member_ring_and_role(api, coby, ring):
    body = api(coby)("GET", "/me").get_json()
    assert body["member_id"] == coby.id and body["name"] == "Coby Kramer"
    assert body["role"] == "coordinator" and body["is_coordinator"] is True
    assert body["ring"] == {"id": ring.id, "slug": ring.slug, "name": ring.name}
    assert body["token"]["name"] == "test"


def test_members_see_the_directory_with_shared_contact_details_only(api, anna, bert, carla):
    bert.share_email = True
    carla.status = MemberStatus.PENDING
    body = api(anna)("GET", "/members").get_json()
    by_name = {m["name"]: m for m in body["items"]}
    assert set(by_name) == {"Anna de Vries", "Bert Jansen"}  # pending Carla is not in the directory
    assert by_name["Bert Jansen"]["email"] == bert.user.email
    assert by_name["Bert Jansen"]["phone"] is None  # not shared
    assert by_name["Bert Jansen"]["balance_minutes"] is None and by_name["Bert Jansen"]["status"] is None


def test_coordinators_see_every_member_with_status_balance_and_limits(api, anna, bert, carla, coby, stranger):
    carla.status = MemberStatus.PENDING
    pay(anna, bert, 90)
    body = api(coby)("GET", "/members").get_json()
    by_name = {m["name"]: m for m in body["items"]}
    assert set(by_name) == {"Anna de Vries", "Bert Jansen", "Carla Smit", "Coby Kramer"}  # not the stranger
    assert by_name["Carla Smit"]["status"] == "pending"
    assert by_name["Anna de Vries"]["balance_minutes"] == -90
    assert by_name["Anna de Vries"]["min_balance_minutes"] == -20 * 60
    assert by_name["Bert Jansen"]["phone"] == bert.user.phone  # coordinators see contact details
    assert by_name["Bert Jansen"]["last_trade"] == clock.today().isoformat()


# Listings


def test_search_uses_the_parameters_of_the_listings_page(api, anna, bert, categories):
    post_listing(anna, categories[0], "Fietsen repareren")
    post_listing(bert, categories[1], "Hulp bij vervoer", kind=ListingKind.REQUEST)
    call = api(anna)

    def titles(**params):
        return [item["title"] for item in call("GET", "/listings", query_string=params).get_json()["items"]]

    assert titles(q="fiets") == ["Fietsen repareren"]
    assert titles(kind="request") == ["Hulp bij vervoer"]
    assert titles(category=categories[0].id) == ["Fietsen repareren"]
    assert sorted(titles()) == ["Fietsen repareren", "Hulp bij vervoer"]
    page = call("GET", "/listings", query_string={"per_page": 1, "page": 2}).get_json()
    assert page["total"] == 2 and page["page"] == 2 and len(page["items"]) == 1
    assert_problem(call("GET", "/listings", query_string={"kind": "gift"}), 422, "validation_failed")


def test_member_posts_a_listing(api, anna, categories):
    response = api(anna)("POST", "/listings", json={
        "kind": "request", "title": "Wie helpt met de tuin?", "category_id": categories[2].id,
        "time_estimate_minutes": 90, "place": "at_my_place"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    listing = db.session.get(Listing, body["id"])
    assert listing.owner_id == anna.id and listing.kind == ListingKind.REQUEST and listing.time_estimate == 90
    assert body["owner"]["name"] == "Anna de Vries" and body["category"]["id"] == categories[2].id


def test_a_refused_listing_names_the_field(api, anna, categories):
    foreign = categories_create_defaults(ring=factories.RingFactory())[0]
    response = api(anna)("POST", "/listings", json={"kind": "offer", "title": "Fiets", "category_id": foreign.id})
    body = assert_problem(response, 422, "invalid")
    assert list(body["errors"]) == ["category_id"]
    assert count(Listing) == 0


def test_get_one_listing_hidden_ones_only_for_owner_and_coordinators(api, anna, bert, coby, categories):
    listing = post_listing(anna, categories[0])
    assert api(bert)("GET", f"/listings/{listing.id}").get_json()["title"] == "Fietsen repareren"
    listing.status = ListingStatus.PAUSED
    db.session.commit()
    assert_problem(api(bert)("GET", f"/listings/{listing.id}"), 404, "not_found")
    assert api(anna)("GET", f"/listings/{listing.id}").get_json()["status"] == "paused"
    assert api(coby)("GET", f"/listings/{listing.id}").status_code == 200


def test_owner_patches_fields_and_status(api, anna, categories):
    listing = post_listing(anna, categories[0])
    call = api(anna)
    response = call("PATCH", f"/listings/{listing.id}", json={"title": "Fietsen en brommers", "status": "paused"})
    assert response.status_code == 200, response.get_json()
    listing = reload(listing)
    assert listing.title == "Fietsen en brommers" and listing.status == ListingStatus.PAUSED
    assert listing.category_id == categories[0].id  # untouched fields stay
    body = call("PATCH", f"/listings/{listing.id}", json={"status": "active"}).get_json()
    assert body["status"] == "active"


def test_patch_by_someone_else_is_refused(api, anna, bert, categories):
    listing = post_listing(anna, categories[0])
    assert_problem(api(bert)("PATCH", f"/listings/{listing.id}", json={"title": "Van Bert"}), 404, "not_found")
    assert reload(listing).title == "Fietsen repareren"


def test_coordinator_may_patch_and_it_is_audited(api, anna, coby, categories):
    listing = post_listing(anna, categories[0])
    response = api(coby)("PATCH", f"/listings/{listing.id}", json={"description": "Ook banden plakken."})
    assert response.status_code == 200
    assert reload(listing).description == "Ook banden plakken."
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "listing.update_on_behalf"))


def test_patch_refused_by_the_service_changes_nothing(api, anna, categories):
    listing = post_listing(anna, categories[0])
    past = (clock.today() - timedelta(days=1)).isoformat()
    response = api(anna)("PATCH", f"/listings/{listing.id}", json={"title": "Nieuw", "valid_until": past})
    body = assert_problem(response, 422, "invalid")
    assert list(body["errors"]) == ["valid_until"]
    assert reload(listing).title == "Fietsen repareren"
    response = api(anna)("PATCH", f"/listings/{listing.id}", json={"title": None})
    assert list(assert_problem(response, 422, "invalid")["errors"]) == ["title"]


# Account and transfers


def test_account_shows_balance_and_limits_in_minutes(api, anna, bert):
    pay(anna, bert, 150)
    body = api(anna)("GET", "/accounts/me").get_json()
    assert body == {"balance_minutes": -150, "min_balance_minutes": -1200, "max_balance_minutes": 2400,
                    "can_pay_minutes": 1050, "can_receive_minutes": 2550, "status": "active"}


def test_transfers_are_own_paged_and_filtered(api, anna, bert, carla):
    clock.freeze(clock.now().replace(year=2026, month=11, day=10))
    for minutes in (30, 60, 90):
        pay(anna, bert, minutes, description=f"klus {minutes}")
        clock.freeze(clock.now() + timedelta(days=1))
    pay(bert, carla, 45)  # not Anna's
    call = api(anna)
    first = call("GET", "/transfers", query_string={"limit": 2}).get_json()
    assert [line["amount_minutes"] for line in first["items"]] == [-90, -60]
    assert first["items"][0]["balance_after_minutes"] == -180
    assert first["items"][0]["counterpart"] == {"member_id": bert.id, "name": "Bert Jansen"}
    second = call("GET", "/transfers", query_string={"limit": 2, "cursor": first["next_cursor"]}).get_json()
    assert [line["amount_minutes"] for line in second["items"]] == [-30] and second["next_cursor"] is None
    one_day = call("GET", "/transfers", query_string={"date_from": "2026-11-11", "date_to": "2026-11-11"})
    assert [line["description"] for line in one_day.get_json()["items"]] == ["klus 60"]


def test_paying_through_the_api(api, anna, bert, outbox):
    response = api(anna)("POST", "/transfers", json={"payee_id": bert.id, "amount_minutes": 75, "description": "tuin"},
                         headers={"Idempotency-Key": "pay-1"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["payer_id"] == anna.id and body["payee_id"] == bert.id and body["amount_minutes"] == 75
    assert balance(anna) == -75 and balance(bert) == 75
    assert outbox()  # Bert is told, as with the web form


def test_payment_for_a_listing(api, anna, bert, categories):
    listing = post_listing(bert, categories[0])
    body = api(anna)("POST", "/transfers", json={"payee_id": bert.id, "amount_minutes": 60,
                                                 "description": "fiets", "listing_id": listing.id},
                     headers={"Idempotency-Key": "pay-listing"}).get_json()
    assert body["listing_id"] == listing.id == db.session.get(Transfer, body["id"]).listing_id


def test_idempotency_key_is_required(api, anna, bert):
    response = api(anna)("POST", "/transfers", json={"payee_id": bert.id, "amount_minutes": 75, "description": "tuin"})
    assert_problem(response, 400, "idempotency_key_missing")
    assert count(Transfer) == 0


def test_a_replay_returns_the_first_result_and_pays_once(api, anna, bert):
    call = api(anna)
    payment = {"payee_id": bert.id, "amount_minutes": 75, "description": "tuin"}
    first = call("POST", "/transfers", json=payment, headers={"Idempotency-Key": "same"})
    tick()
    again = call("POST", "/transfers", json=payment, headers={"Idempotency-Key": "same"})
    assert (again.status_code, again.get_json()) == (first.status_code, first.get_json()) == (201, first.get_json())
    assert count(Transfer) == 1 and balance(anna) == -75


def test_the_same_key_with_another_body_is_409(api, anna, bert):
    call = api(anna)
    call("POST", "/transfers", json={"payee_id": bert.id, "amount_minutes": 75, "description": "tuin"},
         headers={"Idempotency-Key": "same"})
    response = call("POST", "/transfers", json={"payee_id": bert.id, "amount_minutes": 80, "description": "tuin"},
                    headers={"Idempotency-Key": "same"})
    assert_problem(response, 409, "idempotency_conflict")
    assert count(Transfer) == 1 and balance(anna) == -75


def test_keys_belong_to_the_caller(api, anna, bert):
    payment = {"amount_minutes": 30, "description": "tuin"}
    assert api(anna)("POST", "/transfers", json={**payment, "payee_id": bert.id},
                     headers={"Idempotency-Key": "k"}).status_code == 201
    assert api(bert)("POST", "/transfers", json={**payment, "payee_id": anna.id},
                     headers={"Idempotency-Key": "k"}).status_code == 201
    assert count(Transfer) == 2


def test_a_payment_past_the_limit_says_how_much_is_possible(api, anna, bert):
    pay(anna, bert, 1000)  # Anna is at -1000; her lower limit is -1200
    response = api(anna)("POST", "/transfers", json={"payee_id": bert.id, "amount_minutes": 300, "description": "x"},
                         headers={"Idempotency-Key": "too-much"})
    body = assert_problem(response, 422, "limit_exceeded")
    assert body["possible_minutes"] == 200
    assert list(body["errors"]) == ["amount_minutes"]
    assert balance(anna) == -1000


# Payment requests


def test_payment_request_create_accept(api, anna, bert):
    response = api(bert)("POST", "/payment-requests",
                         json={"payer_id": anna.id, "amount_minutes": 60, "description": "boodschappen"})
    assert response.status_code == 201, response.get_json()
    request_id = response.get_json()["id"]
    listed = api(anna)("GET", "/payment-requests").get_json()["items"]
    assert [(r["id"], r["status"]) for r in listed] == [(request_id, "pending")]
    accepted = api(anna)("POST", f"/payment-requests/{request_id}/accept")
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["amount_minutes"] == 60 and balance(anna) == -60
    assert reload(db.session.get(PaymentRequest, request_id)).status == PaymentRequestStatus.ACCEPTED
    # Accepting twice gives the same transfer.
    assert api(anna)("POST", f"/payment-requests/{request_id}/accept").get_json() == accepted.get_json()


def test_a_payment_request_retried_with_its_key_is_sent_once(api, anna, bert, outbox):
    ask = {"payer_id": anna.id, "amount_minutes": 60, "description": "boodschappen"}
    first = api(bert)("POST", "/payment-requests", json=ask, headers={"Idempotency-Key": "vraag-1"})
    again = api(bert)("POST", "/payment-requests", json=ask, headers={"Idempotency-Key": "vraag-1"})
    assert first.status_code == again.status_code == 201 and again.get_json() == first.get_json()
    assert count(PaymentRequest) == 1 and len(outbox()) == 1
    other = api(bert)("POST", "/payment-requests", json={**ask, "amount_minutes": 90},
                      headers={"Idempotency-Key": "vraag-1"})
    assert_problem(other, 409, "idempotency_conflict")
    # Keys are the caller's own; without one, each request is new.
    assert api(anna)("POST", "/payment-requests", json={**ask, "payer_id": bert.id},
                     headers={"Idempotency-Key": "vraag-1"}).status_code == 201
    assert api(bert)("POST", "/payment-requests", json=ask).status_code == 201
    assert count(PaymentRequest) == 3


def test_payment_request_decline_and_then_it_is_closed(api, anna, bert):
    payment_request = ledger_services.payment_request_create(payee=bert, payer=anna, amount=60,
                                                             description="boodschappen")
    db.session.commit()
    call = api(anna)
    assert_problem(call("POST", f"/payment-requests/{payment_request.id}/decline", json={}), 422, "validation_failed")
    body = call("POST", f"/payment-requests/{payment_request.id}/decline", json={"reason": "Klopt niet"}).get_json()
    assert body["status"] == "declined" and body["decline_reason"] == "Klopt niet"
    assert_problem(call("POST", f"/payment-requests/{payment_request.id}/accept"), 409, "request_closed")
    assert balance(anna) == 0


def test_the_requester_withdraws_a_pending_request_and_only_they_can(api, anna, bert, carla):
    payment_request = ledger_services.payment_request_create(payee=bert, payer=anna, amount=60,
                                                             description="boodschappen")
    db.session.commit()
    path = f"/payment-requests/{payment_request.id}/cancel"
    assert_problem(api(anna)("POST", path), 422, "invalid")
    assert_problem(api(carla)("POST", path), 404, "not_found")
    body = api(bert)("POST", path).get_json()
    assert body["status"] == "cancelled" and body["decided_at"] is not None
    assert_problem(api(bert)("POST", path), 409, "request_closed")
    assert_problem(api(anna)("POST", f"/payment-requests/{payment_request.id}/accept"), 409, "request_closed")
    assert balance(anna) == 0


def test_only_the_payer_accepts_and_others_do_not_see_it(api, anna, bert, carla):
    payment_request = ledger_services.payment_request_create(payee=bert, payer=anna, amount=60,
                                                             description="boodschappen")
    db.session.commit()
    assert_problem(api(bert)("POST", f"/payment-requests/{payment_request.id}/accept"), 422, "invalid")
    assert_problem(api(carla)("POST", f"/payment-requests/{payment_request.id}/accept"), 404, "not_found")
    assert balance(anna) == 0


# Coordinators


def test_coordinator_downloads_the_ring_export(api, coby, anna, bert):
    pay(anna, bert, 30)
    response = api(coby)("GET", "/ring/export")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == \
        f"attachment; filename=ruilkring-{coby.ring.slug}-{clock.today().isoformat()}.zip"
    assert int(response.headers["Content-Length"]) == len(response.data)
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert any(name.endswith(".json") for name in archive.namelist())
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "ring.export"))


def test_dates_are_iso(api, anna, bert):
    pay(anna, bert, 30)
    line = api(anna)("GET", "/transfers").get_json()["items"][0]
    assert date.fromisoformat(line["occurred_on"]) == clock.today()
