"""Schemathesis against the OpenAPI document: generated requests (valid and invalid) to
every operation of a seeded app, as a member and as a coordinator. No response may be a
server error, and every response must match the document (status, media type, body).

Schema-valid input may still be refused by the ring's rules (an unknown category, a
limit): a 422 problem, so the check that valid input is accepted is left out; the check
that invalid input is refused runs.

Reproducible: hypothesis runs derandomized, so the same requests are made every time.
It runs on both databases, like every test with the ``app`` fixture (``CASES`` says how
many requests).
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from ruilkring.database import run_ledger_transaction
from ruilkring.extensions import db
from ruilkring.ledger import services as ledger_services
from ruilkring.listings.models import HelpKind, ListingKind, ListingPlace
from ruilkring.listings.services import categories_create_defaults, listing_create
from ruilkring.members.models import MemberRole
from tests import factories
from tests.api.conftest import bearer, make_token

CASES = 15  # at most, per operation and mode; each case is sent as a member and as a coordinator


class Seed:
    """A ring with a coordinator and members, a listing, a payment and a pending payment
    request, and a token for the coordinator and for a member."""

    def __init__(self):
        ring = factories.RingFactory()
        member = factories.MemberFactory(ring=ring)
        neighbour = factories.MemberFactory(ring=ring, share_email=True)
        coordinator = factories.MemberFactory(ring=ring, role=MemberRole.COORDINATOR)
        category = categories_create_defaults(ring=ring)[0]
        self.listing = listing_create(
            owner=member, kind=ListingKind.OFFER, title="Fietsen repareren", description="Banden plakken",
            category_id=category.id, help_kind=HelpKind.PRACTICAL, place=ListingPlace.ONLINE,
            created_by=member.user)
        self.request = ledger_services.payment_request_create(
            payee=neighbour, payer=member, amount=30, description="boodschappen")
        db.session.commit()
        run_ledger_transaction(lambda: ledger_services.payment_create(
            payer=neighbour, payee=member, amount=45, description="tuin", idempotency_key="seed"))
        self.tokens = {"member": make_token(member), "coordinator": make_token(coordinator)}
        # Ids the generated cases may point at, so not every id is an unknown one.
        self.ids = {"listing_id": self.listing.id, "request_id": self.request.id, "category_id": category.id,
                    "payee_id": neighbour.id, "payer_id": neighbour.id}


@pytest.fixture
def seed(app, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "100000 per minute")
    return Seed()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_document(app, seed, mode):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    # The token is ours to send: generated cases leave the Authorization header alone.
    schema.config.generation.update(allow_x00=False, with_security_parameters=False)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 15

    if mode == GenerationMode.NEGATIVE:  # only operations with input can get invalid input
        operations = [op for op in operations if op.body or op.query or op.path_parameters or op.headers]
    for operation in operations:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=CASES, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def requests_conform(case):
            if mode == GenerationMode.POSITIVE:  # every other id is one that exists
                for values in (case.path_parameters, case.body):
                    for name, known in seed.ids.items():
                        if isinstance(values, dict) and isinstance(values.get(name), int) and values[name] % 2:
                            values[name] = known
            for token in seed.tokens.values():
                case.call_and_validate(headers=bearer(token), excluded_checks=[positive_data_acceptance])

        requests_conform()
