"""Errors of the JSON API as ``application/problem+json`` (RFC 9457).

Every problem has ``type``, ``title``, ``status`` and ``detail``, plus a machine-readable
``code`` (a ``DomainError``'s code, or one of the codes below) and, for invalid input,
``errors``: the messages per field. The human API page lists the codes.
"""

from http import HTTPStatus

from flask import Response, current_app, json
from flask_babel import lazy_gettext as _l

from ruilkring.errors import DomainError
from ruilkring.ledger.services import LimitExceeded

MEDIA_TYPE = "application/problem+json"

# Codes of problems that are not a DomainError, with their meaning (for the docs page).
CODES = {
    "unauthorized": _l("Geen, een onbekende of een ingetrokken API-sleutel."),
    "forbidden": _l("Het lidmaatschap van deze sleutel geeft (nu) geen toegang."),
    "not_found": _l("Bestaat niet, of u heeft er geen toegang toe."),
    "method_not_allowed": _l("Deze methode kan niet op dit adres."),
    "bad_request": _l("Het verzoek is niet begrepen."),
    "malformed_json": _l("De inhoud is geen geldige JSON."),
    "unsupported_media_type": _l("Stuur de inhoud als application/json."),
    "validation_failed": _l("Een of meer velden kloppen niet; zie errors."),
    "idempotency_key_missing": _l("De header Idempotency-Key ontbreekt."),
    "idempotency_conflict": _l("Deze Idempotency-Key is al gebruikt voor een ander verzoek."),
    "invalid": _l("De regels van de kring staan dit niet toe; zie detail."),
    "limit_exceeded": _l("Een saldogrens zou worden overschreden; possible_minutes zegt hoeveel wel kan."),
    "request_closed": _l("Dit betaalverzoek is al afgehandeld."),
    "request_expired": _l("Dit betaalverzoek is verlopen."),
    "too_many_requests": _l("Te veel verzoeken; probeer het later opnieuw."),
    "too_large": _l("Wat u verstuurde is te groot."),
    "server_error": _l("Er ging bij ons iets mis; er is niets opgeslagen."),
}

STATUS_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type",
    429: "too_many_requests", 500: "server_error",
}

# DomainError codes that mean "this conflicts with the state of the resource".
CONFLICT_CODES = {"idempotency_conflict", "request_closed", "request_expired"}


class ApiProblem(Exception):
    """Raised anywhere under /api/v1; answered as a problem by ``problem_response``."""

    def __init__(self, status: int, code: str, detail: str = "", *, errors: dict | None = None,
                 headers: dict | None = None, **extra):
        super().__init__(detail or code)
        self.status, self.code, self.detail = status, code, str(detail)
        self.errors, self.headers, self.extra = errors, headers or {}, extra

    def response(self) -> Response:
        return problem_response(self.status, self.code, self.detail, errors=self.errors,
                                headers=self.headers, **self.extra)


def problem_response(status: int, code: str | None = None, detail: str = "", *, errors: dict | None = None,
                     headers: dict | None = None, **extra) -> Response:
    """A problem+json response. ``type`` points at the code's entry on the API page."""
    code = code or STATUS_CODES.get(status, "error")
    body = {"type": f"/api/v1/#{code}", "title": HTTPStatus(status).phrase, "status": status,
            "detail": str(detail), "code": code}
    if errors:
        body["errors"] = errors
    body.update(extra)
    return current_app.response_class(json.dumps(body), status=status, mimetype=MEDIA_TYPE,
                                      headers=headers)


def domain_problem(error: DomainError, fields: dict[str, str] | None = None) -> ApiProblem:
    """A refused service call as a problem: 409 for conflicts, else 422. ``fields`` maps
    the service's field names to the API's (``payee`` -> ``payee_id``)."""
    status = 409 if error.code in CONFLICT_CODES else 422
    errors = None
    if error.field:
        field = (fields or {}).get(error.field, error.field)
        errors = {field: [str(error.message)]}
    extra = {"possible_minutes": error.possible} if isinstance(error, LimitExceeded) else {}
    return ApiProblem(status, error.code, str(error.message), errors=errors, **extra)


def validation_problem(errors: list[dict]) -> ApiProblem:
    """Pydantic's errors as a 422 problem with the messages per field."""
    by_field: dict[str, list[str]] = {}
    for error in errors:
        field = ".".join(str(part) for part in error.get("loc", ())) or "body"
        by_field.setdefault(field, []).append(error.get("msg", ""))
    return ApiProblem(422, "validation_failed", _l("Een of meer velden kloppen niet."), errors=by_field)
