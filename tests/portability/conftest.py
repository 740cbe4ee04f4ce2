"""Fixtures of the import tests."""

import pytest

from ruilkring.extensions import db
from ruilkring.listings.services import categories_create_defaults


@pytest.fixture
def target(ring, coby):
    """The ring to import into, with its default categories and a coordinator."""
    categories_create_defaults(ring=ring)
    db.session.commit()
    return ring
