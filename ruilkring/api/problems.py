"""Errors of the JSON API as ``application/problem+json`` (RFC 9457).

Every problem has ``type``, ``title``, ``status`` and ``detail``, plus a machine-readable
``code`` (a ``DomainError``'s code, or one of the codes below) and, for invalid input,
``errors``: the messages per field. The human API page lists the codes.
"""

import re
from http import HTTPStatus

from flask import Response, current_app, json
from flask_babel import LazyString
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
    "too_many_requests": _l("Te veel verzoeken; de header Retry-After zegt na hoeveel seconden het weer kan."),
    "too_large": _l("Het verzoek is te groot."),
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


#: The services' field names that the API calls otherwise.
API_FIELDS = {"payee": "payee_id", "payer": "payer_id", "amount": "amount_minutes",
              "time_estimate": "time_estimate_minutes"}


def domain_problem(error: DomainError) -> ApiProblem:
    """A refused service call as a problem: 409 for conflicts, else 422, with the field
    under the API's name (``payee`` -> ``payee_id``)."""
    status = 409 if error.code in CONFLICT_CODES else 422
    errors = None
    if error.field:
        errors = {API_FIELDS.get(error.field, error.field): [str(error.message)]}
    extra = {"possible_minutes": error.possible} if isinstance(error, LimitExceeded) else {}
    return ApiProblem(status, error.code, str(error.message), errors=errors, **extra)


# Messages per pydantic error type (https://docs.pydantic.dev/latest/errors/validation_errors/),
# formatted with the error's context (``max_length``, ``ge``, ``expected``, ...).
_INTEGER = _l("Vul een heel getal in.")
_BOOLEAN = _l("Vul true of false in.")
_DATE = _l("Vul een datum in als JJJJ-MM-DD.")
_CHOICE = _l("Kies een van: %(expected)s.")
_JSON = _l("Dit is geen geldige JSON.")
_OBJECT = _l("Stuur een JSON-object.")
VALIDATION_MESSAGES = {
    "missing": _l("Dit veld is verplicht."),
    "extra_forbidden": _l("Dit veld bestaat niet; laat het weg."),
    "int_type": _INTEGER, "int_parsing": _INTEGER, "int_from_float": _INTEGER,
    "int_parsing_size": _l("Dit getal is te groot."),
    "bool_type": _BOOLEAN, "bool_parsing": _BOOLEAN,
    "string_type": _l("Vul tekst in."),
    "string_empty": _l("Dit veld mag niet leeg zijn."),  # string_too_short with min_length 1
    "string_too_short": _l("Vul minstens %(min_length)s tekens in."),
    "string_too_long": _l("Gebruik hooguit %(max_length)s tekens."),
    "string_pattern_mismatch": _l("Deze tekst bevat tekens die hier niet mogen."),
    "too_short": _l("Geef er minstens %(min_length)s."),
    "too_long": _l("Geef er hooguit %(max_length)s."),
    "greater_than": _l("Vul een getal groter dan %(gt)s in."),
    "greater_than_equal": _l("Vul een getal van minstens %(ge)s in."),
    "less_than": _l("Vul een getal kleiner dan %(lt)s in."),
    "less_than_equal": _l("Vul een getal van hooguit %(le)s in."),
    "literal_error": _CHOICE, "enum": _CHOICE,
    "date_type": _DATE, "date_parsing": _DATE, "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _DATE,
    "json_invalid": _JSON, "json_type": _JSON,
    "model_type": _OBJECT, "model_attributes_type": _OBJECT, "dict_type": _OBJECT,
}
UNKNOWN_VALIDATION = _l("Deze waarde klopt niet.")


def validation_message(error: dict) -> str:
    """One pydantic error (``ValidationError.errors()`` item, with context) as a message
    in the request's language. A custom validator's own (lazy) message is kept."""
    kind, ctx = error["type"], dict(error.get("ctx") or {})
    if kind in ("value_error", "assertion_error"):
        reason = ctx.get("error")
        message = reason.args[0] if reason is not None and reason.args else None
        return str(message) if isinstance(message, LazyString) else str(UNKNOWN_VALIDATION)
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        kind = "string_empty"
    if "expected" in ctx:  # pydantic's English "'a', 'b' or 'c'": list the values themselves
        ctx["expected"] = ", ".join(re.findall(r"'([^']*)'", ctx["expected"])) or ctx["expected"]
    return str(VALIDATION_MESSAGES.get(kind, UNKNOWN_VALIDATION)) % ctx


def validation_problem(errors: list[dict]) -> ApiProblem:
    """Pydantic's errors (with context) as a 422 problem with the messages per field."""
    by_field: dict[str, list[str]] = {}
    for error in errors:
        field = ".".join(str(part) for part in error.get("loc", ())) or "body"
        by_field.setdefault(field, []).append(validation_message(error))
    return ApiProblem(422, "validation_failed", _l("Een of meer velden kloppen niet."), errors=by_field)
