"""The OpenAPI document: valid 3.1, in step with the routes, and the human page made from it."""

import re

from openapi_spec_validator import OpenAPIV31SpecValidator

from ruilkring.api.problems import CODES
from ruilkring.api.views import DOC_ENDPOINTS, PREFIX
from tests.helpers import text

METHODS = {"GET", "POST", "PATCH", "PUT", "DELETE"}


def document(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_the_document_is_valid_openapi_3_1(client):
    spec = document(client)
    assert spec["openapi"].startswith("3.1")
    OpenAPIV31SpecValidator(spec).validate()
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}


def test_every_api_route_is_in_the_document_and_nothing_else(app, client):
    spec = document(client)
    documented = {(method.upper(), path) for path, operations in spec["paths"].items() for method in operations}
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PREFIX) and rule.endpoint not in DOC_ENDPOINTS:
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            routes |= {(method, path) for method in rule.methods & METHODS}
    assert routes == documented


def test_problems_are_documented_as_problem_json(client):
    spec = document(client)
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status == "default" or int(status) >= 400:
                    assert list(response["content"]) == ["application/problem+json"], (method, path, status)
    post = spec["paths"]["/api/v1/transfers"]["post"]
    assert {"name": "Idempotency-Key", "in": "header", "required": True}.items() <= {
        **next(p for p in post["parameters"] if p["name"] == "Idempotency-Key")}.items()
    assert "409" in post["responses"] and "400" in post["responses"]


def test_the_human_page_lists_every_endpoint_and_error_code(client):
    spec = document(client)
    page = client.get("/api/v1/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = text(page)
    for path in spec["paths"]:
        assert f"<code>{path}</code>" in html
    for code in CODES:
        assert f'id="{code}"' in html
    assert 'href="/api/v1/openapi.json"' in html
