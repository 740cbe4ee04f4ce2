"""Fixtures of the JSON API tests: tokens, and a client that sends one."""

import pytest

from ruilkring.api.services import api_token_create
from ruilkring.extensions import db


def make_token(member) -> str:
    """A committed API token for ``member``; returns the token itself."""
    _, token = api_token_create(member=member, name="test", created_by=member.user)
    db.session.commit()
    return token


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(client):
    """``api(member)`` gives a function ``call(method, path, **kwargs)`` that sends
    requests to ``/api/v1`` with a fresh token of ``member``."""

    def for_member(member):
        headers = bearer(make_token(member))

        def call(method: str, path: str, **kwargs):
            return client.open(f"/api/v1{path}", method=method,
                               headers={**headers, **kwargs.pop("headers", {})}, **kwargs)

        return call

    return for_member
