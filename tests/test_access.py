"""The access-control matrix: every route of the app, for every kind of visitor.

``EXPECTED`` says, per endpoint, what each role gets when it asks for ring A's objects:
the page (``OK``: 2xx, or a redirect that is not to the login page), the login page
(``LOGIN``) or a 404 (``NF``). Every method a route accepts (GET, POST with empty data) must
give the same answer. A route that the table does not list makes
``test_every_route_is_in_the_table`` fail, so no page can be added without deciding who
may see it: add one line, usually with one of the row patterns below (and, for a new
URL argument, a value in ``World.url_values``).

The rules come from DESIGN section 2: deny by default; members of ring B get 404 for
every page of ring A, even with guessed ids; coordinator pages give 404 to members;
``/beheer/...`` is for platform admins only; gemeente viewers see no person and no page
inside a ring.
"""

import io
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from ruilkring.api.services import api_token_create
from ruilkring.auth import services as auth_services
from ruilkring.database import run_ledger_transaction
from ruilkring.disputes import services as dispute_services
from ruilkring.disputes.models import DisputeReason, DisputeRequest
from ruilkring.extensions import db, limiter
from ruilkring.ledger import services as ledger_services
from ruilkring.listings import pictures
from ruilkring.listings import services as listing_services
from ruilkring.listings.models import HelpKind, ListingKind, ListingPlace
from ruilkring.members.models import MemberRole, MemberStatus
from ruilkring.messages import services as message_services
from ruilkring.stats.models import Tie
from tests import factories
from tests.conftest import empty_database

OK = "allowed"
LOGIN = "login-redirect"
NF = "404"
TOKEN = "401 problem: the JSON API needs a bearer token"  # the session is no credential there

ROLES = (
    "anonymous",
    "member_a",  # owns ring A's listing, paid in its transfer, opened its dispute, asked to pay
    "other_member_a",  # an active member of ring A with no part in those
    "coordinator_a",
    "member_b",
    "coordinator_b",
    "pending_a",  # signed up for ring A, not yet approved
    "viewer",  # gemeente viewer of ring A's gemeente
    "admin",  # platform admin
)

# Row patterns, in the order of ROLES:
#                         anon   memA othA coA  memB coB  pendA viewer admin
PUBLIC =                 (OK,    OK,  OK,  OK,  OK,  OK,  OK,   OK,    OK)
SIGNED_IN =              (LOGIN, OK,  OK,  OK,  OK,  OK,  OK,   OK,    OK)
RING_A_MEMBERS =         (LOGIN, OK,  OK,  OK,  NF,  NF,  NF,   NF,    OK)
# One's own things in ring A (profile, balance, paying): an admin who is no member has none.
OWN_MEMBERSHIP =         (LOGIN, OK,  OK,  OK,  NF,  NF,  NF,   NF,    NF)
# Ring A's listing or dispute: its owner or parties (member_a), and coordinators.
OWNER_OR_COORDINATORS =  (LOGIN, OK,  NF,  OK,  NF,  NF,  NF,   NF,    OK)
# Only the parties themselves (answering a payment request, opening a dispute).
PARTIES =                (LOGIN, OK,  NF,  NF,  NF,  NF,  NF,   NF,    NF)
RING_A_COORDINATORS =    (LOGIN, NF,  NF,  OK,  NF,  NF,  NF,   NF,    OK)
PLATFORM_ADMINS =        (LOGIN, NF,  NF,  NF,  NF,  NF,  NF,   NF,    OK)
GEMEENTE_VIEWERS =       (LOGIN, NF,  NF,  NF,  NF,  NF,  NF,   OK,    NF)
# The JSON API: only a bearer token counts (tests/api/ check tokens of every kind).
API_TOKEN_ONLY =         (TOKEN,) * 9

EXPECTED = {
    # Outside any ring.
    "main.home": PUBLIC,
    "main.set_language": PUBLIC,
    "main.notifications": SIGNED_IN,
    "main.outbox": PUBLIC,  # development and testing only: 404 in production, tested below
    "main.health": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": PUBLIC,
    "auth.password_forgot": PUBLIC,
    "auth.password_reset": PUBLIC,  # the token in the link is the credential
    "auth.password_change": SIGNED_IN,
    "auth.account": SIGNED_IN,
    "api_tokens.index": SIGNED_IN,
    "api_tokens.revoke": PARTIES,  # one's own token only
    # The JSON API and its documentation.
    "api.docs": PUBLIC,
    "api.openapi": PUBLIC,
    "api.me": API_TOKEN_ONLY,
    "api.members": API_TOKEN_ONLY,
    "api.listings": API_TOKEN_ONLY,
    "api.listings_create": API_TOKEN_ONLY,
    "api.listing_detail": API_TOKEN_ONLY,
    "api.listing_update": API_TOKEN_ONLY,
    "api.account_me": API_TOKEN_ONLY,
    "api.transfers": API_TOKEN_ONLY,
    "api.transfers_create": API_TOKEN_ONLY,
    "api.payment_requests": API_TOKEN_ONLY,
    "api.payment_requests_create": API_TOKEN_ONLY,
    "api.payment_request_accept": API_TOKEN_ONLY,
    "api.payment_request_decline": API_TOKEN_ONLY,
    "api.payment_request_cancel": API_TOKEN_ONLY,
    "api.ring_export": API_TOKEN_ONLY,
    # Ring A: public page, sign-up, and renewing a listing from the expiry mail's link.
    "rings.public_page": PUBLIC,
    "members.signup": PUBLIC,
    "listings.renew_by_token": PUBLIC,  # the signed token is the permission
    # Ring A: for its members.
    "members.home": RING_A_MEMBERS,
    "members.directory": RING_A_MEMBERS,
    "members.profile": RING_A_MEMBERS,
    "members.profile_edit": OWN_MEMBERSHIP,
    "rings.accept_house_rules": OWN_MEMBERSHIP,
    "ledger.pay": OWN_MEMBERSHIP,
    "ledger.member_options": OWN_MEMBERSHIP,
    "ledger.requests": OWN_MEMBERSHIP,
    "ledger.statement": OWN_MEMBERSHIP,
    "ledger.statement_csv": OWN_MEMBERSHIP,
    "ledger.request_answer": PARTIES,
    "listings.index": RING_A_MEMBERS,
    "listings.detail": RING_A_MEMBERS,
    "listings.picture": RING_A_MEMBERS,
    "listings.create": OWN_MEMBERSHIP,
    "listings.mine": OWN_MEMBERSHIP,
    "listings.edit": OWNER_OR_COORDINATORS,
    "listings.picture_remove": OWNER_OR_COORDINATORS,
    "listings.change_status": OWNER_OR_COORDINATORS,
    "disputes.mine": OWN_MEMBERSHIP,
    "disputes.open_case": PARTIES,
    "disputes.case": OWNER_OR_COORDINATORS,
    "disputes.act": OWNER_OR_COORDINATORS,
    "audit.mine": OWN_MEMBERSHIP,
    "portability.own_data": OWN_MEMBERSHIP,  # the AVG download of one's own data
    "messages.index": OWN_MEMBERSHIP,
    "stats.survey": OWN_MEMBERSHIP,  # the yearly survey: members answer for themselves
    "messages.react": OWN_MEMBERSHIP,
    "messages.direct": OWN_MEMBERSHIP,
    # A conversation is private to its two members: coordinators and admins get 404 too.
    "messages.conversation": PARTIES,
    "messages.send": PARTIES,
    # Ring A: for its coordinators.
    "members.admin_list": RING_A_COORDINATORS,
    "members.admin_action": RING_A_COORDINATORS,
    "members.admin_erase": RING_A_COORDINATORS,
    "members.admin_password_link": RING_A_COORDINATORS,
    "rings.coordinator_home": RING_A_COORDINATORS,
    "rings.settings": RING_A_COORDINATORS,
    "ledger.member_statement": RING_A_COORDINATORS,
    "ledger.member_statement_csv": RING_A_COORDINATORS,
    "ledger.book": RING_A_COORDINATORS,
    "ledger.bulk": RING_A_COORDINATORS,
    "ledger.limits_list": RING_A_COORDINATORS,
    "ledger.limits_edit": RING_A_COORDINATORS,
    "ledger.overview": RING_A_COORDINATORS,
    "ledger.transfer_detail": RING_A_COORDINATORS,
    "listings.hide": RING_A_COORDINATORS,
    "listings.unhide": RING_A_COORDINATORS,
    "listings.categories": RING_A_COORDINATORS,
    "listings.category_update": RING_A_COORDINATORS,
    "listings.unanswered": RING_A_COORDINATORS,
    "disputes.resolve": RING_A_COORDINATORS,
    "disputes.queue": RING_A_COORDINATORS,
    "audit.index": RING_A_COORDINATORS,
    "audit.export": RING_A_COORDINATORS,
    "portability.ring_export": RING_A_COORDINATORS,
    "stats.survey_admin": RING_A_COORDINATORS,
    # Platform admin.
    "admin.index": PLATFORM_ADMINS,
    "admin.ring_new": PLATFORM_ADMINS,
    "admin.ring_edit": PLATFORM_ADMINS,
    "admin.coordinator_appoint": PLATFORM_ADMINS,
    "admin.municipality_viewers": PLATFORM_ADMINS,
    "municipality.choose": PLATFORM_ADMINS,
    # Ring A's coordinators: dashboard, network map, and the preview of the gemeente's page.
    "stats.index": RING_A_COORDINATORS,
    "stats.table_csv": RING_A_COORDINATORS,
    "stats.network": RING_A_COORDINATORS,
    "stats.municipality_preview": RING_A_COORDINATORS,
    # "Kende je deze persoon al?": only the two members of the tie answer.
    "stats.contact_answer": PARTIES,
    # The gemeente's figures: a viewer sees their own gemeente; an admin opens any by id.
    # (A route with several URL rules may give a row per rule.)
    "municipality.index": {"/gemeente/": GEMEENTE_VIEWERS,
                           "/gemeente/<int:municipality_id>/": PLATFORM_ADMINS},
    "municipality.report": {"/gemeente/rapport": GEMEENTE_VIEWERS,
                            "/gemeente/<int:municipality_id>/rapport": PLATFORM_ADMINS},
    "municipality.report_csv": {"/gemeente/rapport.csv": GEMEENTE_VIEWERS,
                                "/gemeente/<int:municipality_id>/rapport.csv": PLATFORM_ADMINS},
}

METHODS = ("GET", "POST", "PATCH")  # PATCH: the JSON API
LOGIN_PATH = "/inloggen"
# URL arguments that name a row of a ring: ring B's rows are used to guess ids.
OBJECT_ID_ARGUMENTS = {"member_id", "transfer_id", "request_id", "listing_id", "picture_id",
                       "category_id", "dispute_id", "conversation_id", "tie_id"}


def _png() -> FileStorage:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 40, 40)).save(buffer, "PNG")
    buffer.seek(0)
    return FileStorage(stream=buffer, filename="fiets.png", content_type="image/png")


class RingObjects:
    """A ring with a coordinator, and the rows its URLs point at: ``member`` owns a
    listing with a picture, paid ``neighbour`` (the transfer), was asked by ``neighbour``
    to pay (the payment request) and opened a dispute about the transfer; ``neighbour``
    reacted to the listing (the conversation)."""

    def __init__(self, slug: str):
        member = factories.MemberFactory
        self.ring = factories.RingFactory(slug=slug)
        self.coordinator = member(ring=self.ring, role=MemberRole.COORDINATOR)
        self.member = member(ring=self.ring)
        self.neighbour = member(ring=self.ring)
        self.category = listing_services.categories_create_defaults(ring=self.ring)[0]
        self.listing = listing_services.listing_create(
            owner=self.member, kind=ListingKind.OFFER, title="Fietsen repareren", description="",
            category_id=self.category.id, help_kind=HelpKind.PRACTICAL,
            place=ListingPlace.IN_NEIGHBOURHOOD, created_by=self.member.user)
        self.picture = pictures.picture_add(listing=self.listing, upload=_png(),
                                            added_by=self.member.user)
        self.renew_token = listing_services.listing_renew_token_create(listing=self.listing)
        self.transfer = run_ledger_transaction(lambda: ledger_services.payment_create(
            payer=self.member, payee=self.neighbour, amount=30, description="tuin",
            idempotency_key=f"{slug}-tuin"))
        self.request = ledger_services.payment_request_create(
            payee=self.neighbour, payer=self.member, amount=60, description="boodschappen")
        self.dispute = dispute_services.dispute_open(
            transfer=self.transfer, opened_by=self.member, reason=DisputeReason.NOT_DELIVERED,
            asked=DisputeRequest.TALK, explanation="Er is niets gedaan.")
        self.conversation = message_services.conversation_start(
            listing=self.listing, starter=self.neighbour, body="Kunt u mijn fiets maken?")
        # The trade made member and neighbour a tie ("Kende je deze persoon al?").
        self.tie = db.session.scalar(select(Tie).where(Tie.ring_id == self.ring.id))
        self.api_token, _ = api_token_create(member=self.member, name="app", created_by=self.member.user)


class World:
    """Rings A and B in two gemeenten, and one person for each role (see ``ROLES``)."""

    def __init__(self):
        self.a = RingObjects("kring-a")
        self.b = RingObjects("kring-b")
        self.ring_a = self.a.ring
        member = factories.MemberFactory
        self.users = {
            "anonymous": None,
            "member_a": self.a.member.user,
            "other_member_a": member(ring=self.ring_a).user,
            "coordinator_a": self.a.coordinator.user,
            "member_b": self.b.member.user,
            "coordinator_b": self.b.coordinator.user,
            "pending_a": member(ring=self.ring_a, status=MemberStatus.PENDING).user,
            "viewer": factories.UserFactory(municipality=self.ring_a.municipality),
            "admin": factories.UserFactory(is_admin=True),
        }
        assert set(self.users) == set(ROLES)
        self.password_token = auth_services.password_token_create(user=self.a.neighbour.user)
        db.session.commit()

    def url_values(self, endpoint: str, *, rows_of: str = "a") -> dict:
        """URL argument name -> value, for a page of ring A about ring A's rows (or, to
        guess ids, about ring B's rows: ``rows_of="b"``)."""
        rows = self.a if rows_of == "a" else self.b
        values = {
            "ring_slug": self.ring_a.slug,
            "member_id": rows.neighbour.id,
            "transfer_id": rows.transfer.id,
            "request_id": rows.request.id,
            "listing_id": rows.listing.id,
            "picture_id": rows.picture.id,
            "category_id": rows.category.id,
            "dispute_id": rows.dispute.id,
            "conversation_id": rows.conversation.id,
            "tie_id": rows.tie.id,
            "token_id": rows.api_token.id,
            "ring_id": self.ring_a.id,
            "municipality_id": self.ring_a.municipality_id,
            "code": "en",
            "purpose": "reset",
            "token": self.password_token,
        }
        # Where one argument name means different things, per endpoint.
        values.update({
            "members.admin_action": {"action": "deactivate"},
            "ledger.request_answer": {"action": "weigeren"},
            "listings.change_status": {"action": "pauzeren"},
            "listings.renew_by_token": {"token": rows.renew_token},
            "disputes.act": {"action": "reageren"},
            "stats.table_csv": {"name": "members"},
        }.get(endpoint, {}))
        return values


@pytest.fixture
def world(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    return World()


class FreshContextClient(FlaskClient):
    """A test client that runs every request in its own app context, as a server does.

    Test requests otherwise share the test's app context, and with it ``g``, where
    Flask-Login caches the user of the first request: a second user would be ignored.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


def client_as(app: Flask, user) -> FlaskClient:
    """A client signed in as ``user`` (None: anonymous), the way Flask-Login keeps it in
    the session. (Cheaper than the login form, whose slow password hash tests/auth checks.)"""
    client = FreshContextClient(app, app.response_class, use_cookies=True)
    if user is not None:
        with client.session_transaction() as session:
            session["_user_id"] = str(user.id)
            session["_fresh"] = True
    return client


def outcome(response) -> str:
    """Classify a response as ``OK``, ``LOGIN`` or ``NF``; anything else is returned as is."""
    if response.status_code == 404:
        return NF
    if response.status_code == 401 and response.mimetype == "application/problem+json":
        return TOKEN
    if 300 <= response.status_code < 400:
        target = urlsplit(response.headers["Location"]).path
        return LOGIN if target == LOGIN_PATH else OK
    if 200 <= response.status_code < 300:
        return OK
    return f"status {response.status_code}"


def rules_of(app: Flask, endpoint: str):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint == endpoint]


def build_path(app: Flask, rule, values: dict) -> str:
    missing = rule.arguments - values.keys()
    assert not missing, f"add a value for URL argument(s) {sorted(missing)} to World.url_values"
    adapter = app.url_map.bind(app.config["SERVER_NAME"])
    return adapter.build(rule.endpoint, {name: values[name] for name in rule.arguments})


def test_every_route_is_in_the_table(app):
    """A new route fails here until EXPECTED says who may see it."""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - {"static"}
    missing = sorted(endpoints - EXPECTED.keys())
    assert not missing, f"add these routes to EXPECTED in tests/test_access.py: {missing}"
    gone = sorted(EXPECTED.keys() - endpoints)
    assert not gone, f"EXPECTED lists routes that no longer exist: {gone}"
    for endpoint, expected in EXPECTED.items():
        rules = {rule.rule for rule in rules_of(app, endpoint)}
        if isinstance(expected, dict):
            assert set(expected) == rules, f"{endpoint}: give a row for each of {sorted(rules)}"
        for row in expected.values() if isinstance(expected, dict) else [expected]:
            assert len(row) == len(ROLES), endpoint
            assert set(row) <= {OK, LOGIN, NF, TOKEN}, endpoint


def expected_row(rule) -> dict:
    """Role -> expected outcome for one URL rule."""
    expected = EXPECTED[rule.endpoint]
    row = expected[rule.rule] if isinstance(expected, dict) else expected
    return dict(zip(ROLES, row, strict=True))


def request_outcome(client, method: str, path: str) -> str:
    """The outcome of one request; an exception in the app counts as a wrong outcome."""
    try:
        return outcome(client.open(path, method=method, data={}))
    except Exception as error:
        db.session.rollback()
        return f"exception {error!r}"


@pytest.mark.parametrize("endpoint", sorted(EXPECTED))
def test_access_matrix(app, world, endpoint):
    """Every role, with every method the route accepts, gets what EXPECTED says.

    Refused requests change nothing, so the roles share one world, refused ones first;
    after an allowed POST (which may have changed it) the next role gets a fresh world.
    All wrong cells of the row are reported together.
    """
    rules = rules_of(app, endpoint)
    assert rules, f"{endpoint} is not a route"
    rows = {rule.rule: expected_row(rule) for rule in rules}
    wrong = []
    changed = False
    for role in sorted(ROLES, key=lambda role: any(row[role] == OK for row in rows.values())):
        if changed:
            db.session.rollback()
            empty_database()
            world = World()
            changed = False
        limiter.reset()
        client = client_as(app, world.users[role])
        for rule in rules:
            path = build_path(app, rule, world.url_values(endpoint))
            methods = [method for method in METHODS if method in rule.methods]
            assert methods, f"{endpoint} accepts none of {METHODS}"
            for method in methods:
                got = request_outcome(client, method, path)
                expected = rows[rule.rule][role]
                if got != expected:
                    wrong.append(f"{role} {method} {path}: expected {expected}, got {got}")
                changed = changed or (method == "POST" and got not in (NF, LOGIN))
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", [role for role in ROLES if role != "anonymous"])
def test_guessed_ids_of_another_ring_are_404(app, world, role):
    """Every ring A page that names a row (member, listing, transfer, dispute ...) answers 404
    when the id belongs to ring B, whoever asks: a member or coordinator of either ring,
    even a platform admin (the URL is wrong: that row is not in ring A)."""
    client = client_as(app, world.users[role])
    rules = [rule for rule in app.url_map.iter_rules()
             if "ring_slug" in rule.arguments and rule.arguments & OBJECT_ID_ARGUMENTS]
    assert {rule.endpoint for rule in rules} >= {"members.profile", "ledger.transfer_detail",
                                                 "listings.edit", "disputes.case"}
    for rule in rules:
        values = world.url_values(rule.endpoint, rows_of="b")
        path = build_path(app, rule, values)
        for method in (m for m in METHODS if m in rule.methods):
            response = client.open(path, method=method, data={})
            assert response.status_code == 404, f"{role} {method} {path}"


def test_member_of_ring_a_cannot_open_profile_of_ring_b_member(app, world):
    client = client_as(app, world.users["member_a"])
    response = client.get(f"/kring/{world.ring_a.slug}/leden/{world.b.neighbour.id}")
    assert response.status_code == 404
    assert world.b.neighbour.user.name not in response.get_data(as_text=True)
    # ... and the same page for a member of ring A is there, so the 404 is the guard.
    response = client.get(f"/kring/{world.ring_a.slug}/leden/{world.a.neighbour.id}")
    assert response.status_code == 200


def test_unknown_ring_is_404_for_everyone(app, world):
    for role in ROLES:
        client = client_as(app, world.users[role])
        assert client.get("/kring/bestaat-niet/start").status_code == 404, role
        assert client.get("/kring/bestaat-niet/").status_code == 404, role


def test_outbox_is_gone_in_production(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "ENV", "production")
    for role in ROLES:
        client = client_as(app, world.users[role])
        assert client.get("/dev/outbox").status_code == 404, role
