"""Fixtures for the whole suite.

Every test that uses ``app`` runs twice: on a SQLite file and on the PostgreSQL server
that ``scripts/test.sh`` starts (its URL in ``RUILKRING_TEST_POSTGRES_URL``). A missing
server is a failure, not a skip. The schema is built by the Alembic migrations, so they
are tested on both databases too; after each test every table is emptied.
"""

import os
from pathlib import Path

import pytest
from flask import g
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text

from ruilkring import clock, create_app
from ruilkring.extensions import db, limiter
from ruilkring.members.models import MemberRole
from ruilkring.notifications.outbox import outbox_messages
from tests import factories

BACKENDS = ("sqlite", "postgresql")


def database_url(backend: str, tmp_path_factory) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.sqlite'}"
    url = os.environ.get("RUILKRING_TEST_POSTGRES_URL")
    if not url:
        pytest.fail("RUILKRING_TEST_POSTGRES_URL is not set: run the suite with `make test`, "
                    "which starts a PostgreSQL server for it.")
    return url


def make_app(url: str, tmp_path: Path):
    app = create_app({
        "ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": url,
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": "ruilkring.test",
    })
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
    return app


@pytest.fixture(scope="session", params=BACKENDS)
def app(request, tmp_path_factory):
    """The app on one of the two databases, its schema made by the migrations."""
    return make_app(database_url(request.param, tmp_path_factory), tmp_path_factory.mktemp("app"))


@pytest.fixture(autouse=True)
def _app_context_and_cleanup(request):
    """Each test that uses the app runs inside its context and leaves the database empty."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        yield
        db.session.rollback()
        empty_database()
    clock.freeze(None)
    limiter.reset()
    for path in Path(app.config["OUTBOX_DIR"]).glob("*"):
        path.unlink()


def empty_database() -> None:
    tables = [table.name for table in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))


class FreshRequestClient(FlaskClient):
    """Each request starts with an empty ``g``, as it does in production.

    The test keeps one app context open (so factories and requests share the database
    session), and Flask reuses that context for every request it serves; without this,
    ``g`` (the signed-in user, the cached locale, the current ring) would leak from one
    request into the next.
    """

    def open(self, *args, **kwargs):
        for name in list(vars(g._get_current_object())):
            delattr(g, name)
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = FreshRequestClient
    return app.test_client()


@pytest.fixture
def outbox(app):
    """Reads the mails sent so far, newest first."""
    return lambda: outbox_messages(app.config["OUTBOX_DIR"])


@pytest.fixture
def login(client):
    """``login(user)`` signs the test client in as ``user``."""

    def do_login(user, password=factories.PASSWORD):
        response = client.post("/inloggen", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    return do_login


@pytest.fixture
def login_as(client, login):
    """``login_as(user)`` commits what the test set up, signs out whoever is signed in and
    signs in as ``user``."""

    def switch(user):
        db.session.commit()
        client.post("/uitloggen")
        return login(user)

    return switch


@pytest.fixture
def ring(app):
    return factories.RingFactory()


@pytest.fixture
def member(ring):
    return factories.MemberFactory(ring=ring)


@pytest.fixture
def coordinator(ring):
    return factories.MemberFactory(ring=ring, role="coordinator")


@pytest.fixture
def admin(app):
    return factories.UserFactory(is_admin=True)


# Named people of ``ring``, so pages can be searched for their names.


@pytest.fixture
def anna(ring):
    return factories.MemberFactory(ring=ring, user__name="Anna de Vries")


@pytest.fixture
def bert(ring):
    return factories.MemberFactory(ring=ring, user__name="Bert Jansen")


@pytest.fixture
def carla(ring):
    return factories.MemberFactory(ring=ring, user__name="Carla Smit")


@pytest.fixture
def coby(ring):
    """A coordinator of the ring."""
    return factories.MemberFactory(ring=ring, role=MemberRole.COORDINATOR, user__name="Coby Kramer")


@pytest.fixture
def stranger(app):
    """A member of another ring. Her name starts like Anna's, so a search for "Ann" that
    reaches across rings would find her."""
    return factories.MemberFactory(user__name="Anneke Buiten")


@pytest.fixture
def categories(ring):
    """The ring's default categories (a new ring has none until it is created through the app)."""
    from ruilkring.listings.services import categories_create_defaults

    return categories_create_defaults(ring=ring)
