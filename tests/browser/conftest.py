"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, against the app
served on a free local port.

The app runs on SQLite only, with CSRF protection on (as in production, unlike the rest of
the suite), in a background thread. The database is emptied after every test. These tests
do not use the suite's ``app`` fixture (that one runs every test on both databases).
Build test data with ``create``, which commits, so the server thread sees it.
"""

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from ruilkring import clock
from ruilkring.extensions import db, limiter
from tests.conftest import empty_database, make_app

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch Debian's Chromium (Playwright's own browser download does not work here).
    A missing browser fails the tests; it never skips them."""
    path = os.environ.get("RUILKRING_TEST_CHROMIUM") or "/usr/bin/chromium"
    if not (Path(path).is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"Chromium not found at {path!r}: install Debian's chromium package "
                    "(scripts/test.sh does) or set RUILKRING_TEST_CHROMIUM.")
    return {**browser_type_launch_args, "executable_path": path, "args": CHROMIUM_ARGS}


class LiveServer:
    """The app served by werkzeug in a background thread."""

    def __init__(self, app):
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.host = f"127.0.0.1:{self._server.server_port}"
        self.url = f"http://{self.host}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._server.shutdown()
        self._thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("browser")
    app = make_app(f"sqlite:///{tmp_path / 'browser.sqlite'}", tmp_path)
    server = LiveServer(app)
    # CSRF on, as in production; url_for must build links for the host the browser uses;
    # uploaded pictures go to the test's own folder.
    app.config.update(WTF_CSRF_ENABLED=True, SERVER_NAME=server.host,
                      UPLOAD_DIR=str(tmp_path / "uploads"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def base_url(live_server):
    """pytest-playwright's pages resolve relative URLs against this: page.goto("/inloggen")."""
    return live_server.url


@pytest.fixture
def live_url(live_server):
    """The live server's root URL, e.g. ``http://127.0.0.1:41234``."""
    return live_server.url


@pytest.fixture(autouse=True)
def _clean_database(live_server):
    """Each browser test starts and ends with an empty database and fresh limits."""
    yield
    app = live_server.app
    with app.app_context():
        db.session.rollback()
        empty_database()
        limiter.reset()
    clock.freeze(None)
    for path in Path(app.config["OUTBOX_DIR"]).glob("*"):
        path.unlink()


@pytest.fixture
def create(live_server):
    """``create(build)`` runs ``build()`` inside the app, commits, and returns its result.

    Return plain values (ids, e-mail addresses, names): the session is closed afterwards,
    so model objects would be detached.
    """

    def run(build):
        with live_server.app.app_context():
            result = build()
            db.session.commit()
            return result

    return run
