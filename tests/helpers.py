"""Small helpers that many test modules share: ring URLs, reading pages and redirects,
htmx headers, set-up payments and quick database reads.

Plain functions only; the shared fixtures (``login_as``, the named members) are in
``tests/conftest.py``. What one module alone needs stays in that module.
"""

import re
import uuid
from datetime import timedelta
from html import unescape
from urllib.parse import urlsplit

from sqlalchemy import func, select

from ruilkring import clock
from ruilkring.database import run_ledger_transaction
from ruilkring.extensions import db
from ruilkring.ledger import services as ledger_services
from ruilkring.ledger.models import Account, Transfer

HTMX = {"HX-Request": "true"}


def htmx_target(target: str) -> dict:
    """The headers of an htmx request that swaps the element with id ``target``."""
    return {**HTMX, "HX-Target": target}


def url(ring, path: str) -> str:
    """A page of ``ring``: ``path`` starts with a slash, as in ``url(ring, "/saldo")``."""
    return f"/kring/{ring.slug}{path}"


def text(response) -> str:
    """The body of a response as text."""
    return response.get_data(as_text=True)


def redirect_path(response) -> str:
    """Where a redirect leads, as a path; the response must be a redirect."""
    assert response.status_code == 302, text(response)
    return urlsplit(response.headers["Location"]).path


def field_error(page, field_id: str) -> str | None:
    """The error text ``render_field`` draws next to the field ``field_id`` (unescaped,
    stripped), or None when there is none. ``page`` is a response or its HTML."""
    html = page if isinstance(page, str) else text(page)
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">(.*?)</p>', html, re.S)
    return unescape(match.group(1).strip()) if match else None


def hidden_value(html: str, name: str) -> str | None:
    """The value of the (first) input called ``name``: '' when it has none, None when
    there is no such input."""
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', html)
    if not match:
        return None
    value = re.search(r'value="([^"]*)"', match[0])
    return unescape(value[1]) if value else ""


def mail_link(mail, start: str = "/") -> str:
    """The path of the first link in ``mail`` whose path begins with ``start``."""
    return re.search(rf"https?://[^/\s]+({re.escape(start)}\S+)", mail.get_content()).group(1)


def pay(payer, payee, amount: int, description: str = "klus", key: str | None = None) -> Transfer:
    """Book a payment through the ledger service, committed (set-up, not the thing under test)."""
    return run_ledger_transaction(lambda: ledger_services.payment_create(
        payer=payer, payee=payee, amount=amount, description=description,
        idempotency_key=key or uuid.uuid4().hex))


def balance(member) -> int:
    """The member's balance in minutes, as the database has it now."""
    return db.session.scalar(select(Account.balance).where(Account.member_id == member.id))


def count(model, *where) -> int:
    """How many rows of ``model`` match ``where``."""
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def reload(obj):
    """``obj`` read again from the database, after whatever requests changed it."""
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def tick(minutes: int = 1) -> None:
    """Move the frozen clock on, so each step of a test has its own moment."""
    clock.freeze(clock.now() + timedelta(minutes=minutes))


def client_as(app, user):
    """A new client signed in as ``user`` (or the user with that id) the way Flask-Login
    keeps it in the session, beside the test's own ``client``."""
    from tests.conftest import FreshRequestClient

    client = FreshRequestClient(app, app.response_class, use_cookies=True)
    with client.session_transaction() as session:
        session["_user_id"] = str(getattr(user, "id", user))
        session["_fresh"] = True
    return client
