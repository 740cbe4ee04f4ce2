"""The JSON API under ``/api/v1``.

Every endpoint but the documentation needs ``Authorization: Bearer <token>``: a personal
token acts as one membership (ring and role), with the access rules of the web pages:
rows of other rings are 404, coordinator endpoints are 404 for other members. Request
and response bodies are pydantic models (``schemas.py``); spectree validates the input
and generates the OpenAPI 3.1 document from the routes (``openapi_document``). Errors are
problem+json (``problems.py``). CSRF does not apply: no cookies are used.
"""

import copy
import hashlib
import logging
import tempfile
import time

from flask import Blueprint, current_app, g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from spectree import Response as Responses
from spectree import SecurityScheme, SecuritySchemeData, SpecTree
from werkzeug.exceptions import HTTPException
from werkzeug.utils import send_file

from ruilkring import clock
from ruilkring.api import schemas as s
from ruilkring.api.problems import (
    API_FIELDS,
    CODES,
    MEDIA_TYPE,
    STATUS_CODES,
    ApiProblem,
    domain_problem,
    problem_response,
    validation_problem,
)
from ruilkring.api.services import api_token_authenticate
from ruilkring.database import run_ledger_transaction
from ruilkring.errors import DomainError
from ruilkring.extensions import csrf, db, limiter
from ruilkring.ledger import selectors as ledger_selectors
from ruilkring.ledger import services as ledger_services
from ruilkring.ledger.models import PaymentRequest, Transfer
from ruilkring.listings import selectors as listing_selectors
from ruilkring.listings import services as listing_services
from ruilkring.listings.models import Listing, ListingStatus
from ruilkring.members.models import Member
from ruilkring.members.selectors import (
    member_admin_list,
    member_directory,
    ring_member,
    visible_contact,
)
from ruilkring.portability.export import ring_export_write

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
RATE_LIMIT = "300 per minute"  # per token; RUILKRING_API_RATE_LIMIT overrides it
ID = "<int(min=1):{}>"  # the app's int converter caps it at what an id column holds

bp = Blueprint("api", __name__, url_prefix=PREFIX)
csrf.exempt(bp)

# Endpoints without a token: the documentation itself.
DOC_ENDPOINTS = {"api.docs", "api.openapi"}


def _before(req, resp, error, instance, model_adapter):
    """spectree's hook after input validation: invalid input becomes a problem."""
    if error is None:
        return
    if request.endpoint == "api.transfers_create" and not request.headers.get("Idempotency-Key"):
        raise ApiProblem(400, "idempotency_key_missing",
                         _l("Stuur een Idempotency-Key header mee, uniek voor deze betaling."))
    raise validation_problem(error.errors())  # with the context the messages need


def _after(req, resp, error, instance, model_adapter):
    """A response that does not match its own schema is our bug: fail loudly."""
    if error is not None:
        raise RuntimeError(f"API response does not match its schema: {error}")


api = SpecTree(
    "flask", mode="strict", title="ruilkring API", version="1",
    description="De JSON API van ruilkring. Zie /api/v1/ voor uitleg.",
    before=_before, after=_after, validation_error_status=422, validation_error_model=s.Problem,
    security_schemes=[SecurityScheme(name="bearer", data=SecuritySchemeData(type="http", scheme="bearer"))],
    security={"bearer": []},
    # Plain model names in the document (they are unique in schemas.py).
    naming_strategy=lambda model: model.__name__, nested_naming_strategy=lambda _parent, child: child,
)

PROBLEMS = {"HTTP_401": s.Problem, "HTTP_404": s.Problem}


def responses(**models) -> Responses:
    """The documented responses of an endpoint, with the usual problems."""
    return Responses(**{**PROBLEMS, **models})


# Authentication and request checks


def _rate_limit() -> str:
    return current_app.config.get("API_RATE_LIMIT", RATE_LIMIT)


def _rate_key() -> str:
    """Limits count per token (per address for requests without one); the counters'
    store sees a hash, not the token."""
    header = request.headers.get("Authorization")
    return hashlib.sha256(header.encode()).hexdigest() if header else request.remote_addr or ""


limiter.limit(_rate_limit, key_func=_rate_key)(bp)


@bp.before_request
def authenticate():
    if request.endpoint in DOC_ENDPOINTS:
        return
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    token = api_token_authenticate(secret.strip()) if scheme.lower() == "bearer" else None
    if token is None or not token.member.user.is_active:
        db.session.rollback()
        raise ApiProblem(401, "unauthorized", _l("Stuur een geldige API-sleutel mee: Authorization: Bearer <sleutel>."),
                         headers={"WWW-Authenticate": 'Bearer realm="ruilkring"'})
    if not token.member.has_access:
        db.session.rollback()
        raise ApiProblem(403, "forbidden", _l("Uw lidmaatschap van deze kring geeft op dit moment geen toegang."))
    db.session.commit()  # last_used_at
    g.api_token, g.member, g.ring = token, token.member, token.member.ring
    _check_body()


def _check_body() -> None:
    """A body must be JSON, well-formed, and an object: never an HTML error page."""
    if request.method not in ("POST", "PATCH", "PUT") or not request.get_data(cache=True):
        return
    if not request.is_json:
        raise ApiProblem(415, "unsupported_media_type", _l("Stuur de inhoud als application/json."))
    body = request.get_json(silent=True)
    if body is None and request.get_data(cache=True).strip() != b"null":
        raise ApiProblem(400, "malformed_json", _l("De inhoud is geen geldige JSON."))
    if not isinstance(body, dict):  # spectree would take an empty list for an empty object
        raise validation_problem([{"type": "dict_type", "loc": ()}])


@bp.errorhandler(ApiProblem)
def api_problem(error: ApiProblem):
    return error.response()


@bp.errorhandler(DomainError)
def api_domain_error(error: DomainError):
    db.session.rollback()
    return domain_problem(error).response()


@bp.errorhandler(HTTPException)
def api_http_error(error: HTTPException):
    code = error.code or 500
    return problem_response(code, detail=CODES.get(STATUS_CODES.get(code, ""), ""))


# The app answers these status codes with its own texts (for the web pages): the API's
# handlers by code come first.
@bp.errorhandler(429)
def api_too_many_requests(error: HTTPException):
    limit = limiter.current_limit
    if limit is None:
        return problem_response(429, detail=CODES["too_many_requests"])
    seconds = max(1, int(limit.reset_at - time.time()))  # as Flask-Limiter computes it
    detail = ngettext("Te veel verzoeken met deze sleutel; probeer het over %(num)d seconde opnieuw.",
                      "Te veel verzoeken met deze sleutel; probeer het over %(num)d seconden opnieuw.", seconds)
    return problem_response(429, detail=detail, headers={"Retry-After": str(seconds)})


@bp.errorhandler(413)
def api_too_large(error: HTTPException):
    return problem_response(413, detail=CODES["too_large"])


@bp.errorhandler(Exception)
def api_server_error(error: Exception):
    db.session.rollback()
    log.exception("API request failed")
    if current_app.testing:
        raise error
    return problem_response(500, detail=CODES["server_error"])


def _coordinator_only() -> None:
    if not g.member.is_coordinator:
        raise _not_found()


def _not_found():
    return ApiProblem(404, "not_found", CODES["not_found"])


# Me and members


@bp.get("/me")
@api.validate(resp=responses(HTTP_200=s.MeOut), tags=["me"])
def me():
    """Who the token acts as: the member, their ring and role."""
    member = g.member
    return s.MeOut(
        member_id=member.id, name=member.name, email=member.user.email, role=member.role.value,
        status=member.status.value, is_coordinator=member.is_coordinator,
        ring=s.RingOut(id=g.ring.id, slug=g.ring.slug, name=g.ring.name),
        token=s.TokenOut(id=g.api_token.id, name=g.api_token.name, created_at=g.api_token.created_at),
    )


@bp.get("/members")
@api.validate(resp=responses(HTTP_200=s.MemberList), tags=["members"])
def members():
    """The ring's members as the caller may see them: for members the directory (active
    and leaving members, with the contact details each shares); for coordinators every
    member with status, balance, limits and last trade."""
    coordinator = g.member.is_coordinator
    if coordinator:
        rows = [(row.member, row) for row in member_admin_list(ring=g.ring)]
    else:
        rows = [(member, None) for member in member_directory(ring=g.ring)]
    items = []
    for member, row in rows:
        contact = visible_contact(member=member, viewer_is_coordinator=coordinator)
        items.append(s.MemberOut(
            id=member.id, name=member.name, role=member.role.value,
            neighbourhood=member.neighbourhood.name if member.neighbourhood else None,
            member_since=(member.approved_at or member.created_at).date(),
            email=contact.get("email"), phone=contact.get("phone"), address=contact.get("address"),
            status=member.status.value if row else None,
            balance_minutes=row.balance if row else None,
            min_balance_minutes=row.min_balance if row else None,
            max_balance_minutes=row.max_balance if row else None,
            last_trade=row.last_trade if row else None,
        ))
    return s.MemberList(items=items)


# Listings


def _listing_out(listing: Listing) -> s.ListingOut:
    owner = listing.owner
    return s.ListingOut(
        id=listing.id, kind=listing.kind.value, title=listing.title, description=listing.description,
        category=s.CategoryOut(id=listing.category.id, name=listing.category.name),
        help_kind=listing.help_kind.value, place=listing.place.value,
        time_estimate_minutes=listing.time_estimate, status=listing.status.value,
        valid_until=listing.valid_until, created_at=listing.created_at, updated_at=listing.updated_at,
        owner=s.OwnerOut(id=owner.id, name=owner.name,
                         neighbourhood=owner.neighbourhood.name if owner.neighbourhood else None),
    )


def _listing_or_404(listing_id: int, *, for_change: bool = False) -> Listing:
    """A listing of the token's ring the caller may see (see ``listing_for``)."""
    listing = listing_selectors.listing_for(ring=g.ring, listing_id=listing_id, viewer=g.member,
                                            coordinator=g.member.is_coordinator, for_change=for_change)
    if listing is None:
        raise _not_found()
    return listing


SERVICE_FIELDS = {api_name: name for name, api_name in API_FIELDS.items()}


@bp.get("/listings")
@api.validate(query=s.ListingQuery, resp=responses(HTTP_200=s.ListingPage), tags=["listings"])
def listings():
    """Search the ring's offers and requests, with the parameters of the listings page."""
    query: s.ListingQuery = request.context.query
    page = listing_selectors.listing_search_page(
        ring=g.ring, q=query.q, kind=query.kind, category_id=query.category, neighbourhood_id=query.wijk,
        new_this_week=query.new, sort=query.sort, viewer=g.member, page=query.page, per_page=query.per_page,
    )
    return s.ListingPage(items=[_listing_out(listing) for listing in page.items], page=query.page,
                         per_page=query.per_page, total=page.total or 0)


@bp.post("/listings")
@api.validate(json=s.ListingCreate, resp=responses(HTTP_201=s.ListingOut), tags=["listings"])
def listings_create():
    """Post an offer or request as the token's member."""
    body: s.ListingCreate = request.context.json
    listing = listing_services.listing_create(
        owner=g.member, kind=body.kind, title=body.title, description=body.description,
        category_id=body.category_id, help_kind=body.help_kind, place=body.place,
        time_estimate=body.time_estimate_minutes, valid_until=body.valid_until, created_by=g.member.user,
    )
    db.session.commit()
    return _listing_out(listing), 201


@bp.get(f"/listings/{ID.format('listing_id')}")
@api.validate(resp=responses(HTTP_200=s.ListingOut), tags=["listings"])
def listing_detail(listing_id: int):
    """One listing."""
    return _listing_out(_listing_or_404(listing_id))


@bp.patch(f"/listings/{ID.format('listing_id')}")
@api.validate(json=s.ListingPatch, resp=responses(HTTP_200=s.ListingOut), tags=["listings"])
def listing_update(listing_id: int):
    """Change a listing (its owner or a coordinator): the fields given; `status` pauses,
    resumes or closes it."""
    listing = _listing_or_404(listing_id, for_change=True)
    body: s.ListingPatch = request.context.json
    given = body.model_fields_set
    user = g.member.user
    if given - {"status"}:
        values = {"title": listing.title, "description": listing.description,
                  "category_id": listing.category_id, "help_kind": listing.help_kind,
                  "place": listing.place, "time_estimate": listing.time_estimate,
                  "valid_until": listing.valid_until}
        values.update({SERVICE_FIELDS.get(name, name): getattr(body, name)
                       for name in given - {"status"}})
        values["description"] = values["description"] or ""
        required = [name for name in ("title", "category_id", "help_kind", "place", "valid_until")
                    if values[name] is None]
        if required:
            raise DomainError(_l("Dit veld mag niet leeg zijn."), field=required[0])
        listing_services.listing_update(listing=listing, updated_by=user, **values)
    if body.status is not None and body.status != listing.status:
        listing_services.listing_set_status(listing=listing, status=ListingStatus(body.status), changed_by=user)
    db.session.commit()
    return _listing_out(listing)


# Account and transfers


@bp.get("/accounts/me")
@api.validate(resp=responses(HTTP_200=s.AccountOut), tags=["ledger"])
def account_me():
    """The caller's balance and the limits in force, in minutes."""
    account = ledger_services.account_open(member=g.member)
    db.session.commit()  # only writes when an old member had no account yet
    limits = ledger_services.limits_in_force(account)
    return s.AccountOut(
        balance_minutes=account.balance, min_balance_minutes=limits.min_balance,
        max_balance_minutes=limits.max_balance,
        can_pay_minutes=None if limits.min_balance is None else max(0, account.balance - limits.min_balance),
        can_receive_minutes=None if limits.max_balance is None else max(0, limits.max_balance - account.balance),
        status=account.status.value,
    )


@bp.get("/transfers")
@api.validate(query=s.TransferQuery, resp=responses(HTTP_200=s.TransferPage), tags=["ledger"])
def transfers():
    """The caller's own transfers, newest first, with running balance; paged by cursor,
    filtered by date (`date_from`, `date_to`, inclusive)."""
    query: s.TransferQuery = request.context.query
    account = ledger_services.account_open(member=g.member)
    db.session.commit()
    lines = ledger_selectors.account_statement(
        account=account, before_version=query.cursor, date_from=query.date_from, date_to=query.date_to,
        limit=query.limit + 1)
    more = len(lines) > query.limit
    lines = lines[:query.limit]
    return s.TransferPage(
        items=[s.StatementLineOut(
            transfer_id=line.transfer.id, occurred_on=line.transfer.occurred_on,
            created_at=line.transfer.created_at, kind=line.transfer.kind.value,
            amount_minutes=line.entry.amount, balance_after_minutes=line.entry.balance_after,
            counterpart=s.CounterpartOut(member_id=line.counterpart.member_id,
                                         name=ledger_selectors.account_name(line.counterpart)),
            description=line.transfer.description, listing_id=line.transfer.listing_id,
        ) for line in lines],
        next_cursor=lines[-1].entry.account_version if more else None,
    )


def _transfer_out(transfer: Transfer) -> s.TransferOut:
    return s.TransferOut(
        id=transfer.id, payer_id=transfer.payer.member_id, payee_id=transfer.payee.member_id,
        amount_minutes=transfer.amount, description=transfer.description, kind=transfer.kind.value,
        listing_id=transfer.listing_id, occurred_on=transfer.occurred_on, created_at=transfer.created_at,
    )


def _ring_member(member_id: int, field: str) -> Member:
    """A member of the token's ring who takes part, or a 422 problem on ``field``."""
    member = ring_member(ring=g.ring, member_id=member_id)
    if member is None:
        message = _l("Kies een lid van uw eigen kring.")
        raise ApiProblem(422, "invalid", message, errors={field: [str(message)]})
    return member


def _ring_listing(listing_id: int | None) -> Listing | None:
    if listing_id is None:
        return None
    listing = db.session.get(Listing, listing_id)
    if listing is None or listing.ring_id != g.ring.id:
        message = _l("Deze advertentie hoort niet bij uw kring.")
        raise ApiProblem(422, "invalid", message, errors={"listing_id": [str(message)]})
    return listing


@bp.post("/transfers")
@api.validate(json=s.TransferCreate, headers=s.IdempotencyHeaders,
              resp=responses(HTTP_201=s.TransferOut, HTTP_400=s.Problem, HTTP_409=s.Problem), tags=["ledger"])
def transfers_create():
    """Pay another member of the ring. The `Idempotency-Key` header is required: a
    retry with the same key and body returns the first result; the same key with another
    body is refused (409). A payment past a limit is refused with `limit_exceeded` and
    `possible_minutes`."""
    body: s.TransferCreate = request.context.json
    key = request.context.headers.idempotency_key
    payee = _ring_member(body.payee_id, "payee_id")
    listing = _ring_listing(body.listing_id)
    payer = g.member
    transfer = run_ledger_transaction(lambda: ledger_services.payment_create(
        payer=payer, payee=payee, amount=body.amount_minutes, description=body.description,
        # Keys are the caller's own: two members may use the same one.
        idempotency_key=f"api:{payer.id}:{key}", listing=listing,
    ))
    return _transfer_out(transfer), 201


# Payment requests


def _request_out(payment_request: PaymentRequest) -> s.PaymentRequestOut:
    return s.PaymentRequestOut(
        id=payment_request.id, payer_id=payment_request.payer_id, payee_id=payment_request.payee_id,
        amount_minutes=payment_request.amount, description=payment_request.description,
        listing_id=payment_request.listing_id, status=payment_request.status.value,
        decline_reason=payment_request.decline_reason, transfer_id=payment_request.transfer_id,
        created_at=payment_request.created_at, expires_at=payment_request.expires_at,
        decided_at=payment_request.decided_at,
    )


def _own_request(request_id: int) -> PaymentRequest:
    payment_request = db.session.get(PaymentRequest, request_id)
    if (payment_request is None or payment_request.ring_id != g.ring.id
            or g.member.id not in (payment_request.payer_id, payment_request.payee_id)):
        raise _not_found()
    return payment_request


@bp.get("/payment-requests")
@api.validate(resp=responses(HTTP_200=s.PaymentRequestList), tags=["payment requests"])
def payment_requests():
    """The caller's payment requests: pending ones (to pay and sent), then recent handled ones."""
    incoming, outgoing = ledger_selectors.pending_requests_for(member=g.member)
    recent = ledger_selectors.recent_requests(member=g.member)
    return s.PaymentRequestList(items=[_request_out(r) for r in [*incoming, *outgoing, *recent]])


@bp.post("/payment-requests")
@api.validate(json=s.PaymentRequestCreate, headers=s.RequestIdempotencyHeaders,
              resp=responses(HTTP_201=s.PaymentRequestOut, HTTP_409=s.Problem),
              tags=["payment requests"])
def payment_requests_create():
    """Ask another member to pay the caller. With an `Idempotency-Key` header, a retry with
    the same key and body returns the first request (201, the same body) without notifying
    again, as a payment's retry does."""
    body: s.PaymentRequestCreate = request.context.json
    key = request.context.headers.idempotency_key
    payer = _ring_member(body.payer_id, "payer_id")
    listing = _ring_listing(body.listing_id)
    payee = g.member
    payment_request = run_ledger_transaction(lambda: ledger_services.payment_request_create(
        payee=payee, payer=payer, amount=body.amount_minutes, description=body.description,
        listing=listing, idempotency_key=f"api:{payee.id}:{key}" if key else None))  # keys are the caller's own
    return _request_out(payment_request), 201


@bp.post(f"/payment-requests/{ID.format('request_id')}/accept")
@api.validate(resp=responses(HTTP_200=s.TransferOut, HTTP_409=s.Problem), tags=["payment requests"])
def payment_request_accept(request_id: int):
    """The payer accepts: the request becomes a transfer (accepting twice gives the same one)."""
    payment_request = _own_request(request_id)
    member = g.member
    transfer = run_ledger_transaction(lambda: ledger_services.payment_request_accept(
        request=payment_request, accepted_by=member))
    return _transfer_out(transfer)


@bp.post(f"/payment-requests/{ID.format('request_id')}/decline")
@api.validate(json=s.DeclineIn, resp=responses(HTTP_200=s.PaymentRequestOut, HTTP_409=s.Problem),
              tags=["payment requests"])
def payment_request_decline(request_id: int):
    """The payer declines, with a reason the requester sees."""
    payment_request = _own_request(request_id)
    body: s.DeclineIn = request.context.json
    ledger_services.payment_request_decline(request=payment_request, declined_by=g.member, reason=body.reason)
    db.session.commit()
    return _request_out(payment_request)


@bp.post(f"/payment-requests/{ID.format('request_id')}/cancel")
@api.validate(resp=responses(HTTP_200=s.PaymentRequestOut, HTTP_409=s.Problem), tags=["payment requests"])
def payment_request_cancel(request_id: int):
    """The requester withdraws a pending request."""
    payment_request = _own_request(request_id)
    ledger_services.payment_request_cancel(request=payment_request, cancelled_by=g.member)
    db.session.commit()
    return _request_out(payment_request)


# Coordinators


@bp.get("/ring/export")
@api.validate(resp=responses(HTTP_200=None), tags=["coordinators"])
def ring_export():
    """The whole ring as a ZIP of CSV files and one JSON file, with a README (coordinators)."""
    _coordinator_only()
    # Written to a temporary file, not memory, as the web download does.
    target = tempfile.TemporaryFile()  # noqa: SIM115 - the response closes it when sent
    ring_export_write(ring=g.ring, target=target, exported_by=g.member.user)
    db.session.commit()  # the audit event
    size = target.tell()
    target.seek(0)
    # Werkzeug's send_file, not Flask's: spectree reads the body of a flask.Response
    # (which a file response refuses); a plain Werkzeug response passes through to Flask.
    response = send_file(target, request.environ, mimetype="application/zip", as_attachment=True,
                         download_name=f"ruilkring-{g.ring.slug}-{clock.today().isoformat()}.zip")
    response.content_length = size
    return response


# The document and the human page


def openapi_document() -> dict:
    """The OpenAPI 3.1 document: spectree's, with problems as application/problem+json,
    a default problem response on every operation and the ZIP of the export."""
    document = copy.deepcopy(api.spec)
    problem = {"$ref": "#/components/schemas/Problem"}
    for operations in document["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if status.isdigit() and int(status) >= 400:
                    response["content"] = {MEDIA_TYPE: {"schema": problem}}
            operation["responses"]["default"] = {
                "description": "Any other problem", "content": {MEDIA_TYPE: {"schema": problem}}}
    document["paths"][f"{PREFIX}/ring/export"]["get"]["responses"]["200"]["content"] = {
        "application/zip": {"schema": {"type": "string", "contentMediaType": "application/zip"}}}
    return document


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of this API."""
    return current_app.json.response(openapi_document())


@bp.get("/")
def docs():
    """The human page: every endpoint and every problem code, from the same document."""
    document = openapi_document()
    operations = [
        (method.upper(), path, operation)
        for path, methods in document["paths"].items() for method, operation in methods.items()
    ]
    return render_template("api/docs.html", operations=operations, codes=CODES,
                           rate_limit=_rate_limit())
