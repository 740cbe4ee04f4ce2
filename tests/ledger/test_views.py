"""The ledger pages: paying, member suggestions, payment requests, statements and the
coordinator's bookings, limits, overview, reversals and corrections.

Every test runs on SQLite and PostgreSQL (the ``app`` fixture). Amounts go in as people
type them and come back as ``h:mm``; what is booked is checked in the database.
"""

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from html.parser import HTMLParser

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from ruilkring import clock
from ruilkring.database import run_ledger_transaction
from ruilkring.extensions import db
from ruilkring.ledger import services
from ruilkring.ledger.models import (
    Account,
    AccountKind,
    LimitChange,
    PaymentRequest,
    PaymentRequestStatus,
    Transfer,
    TransferKind,
)
from ruilkring.members.models import MemberRole, MemberStatus
from ruilkring.notifications.models import Notification
from tests import factories
from tests.helpers import (
    HTMX,
    balance,
    count,
    field_error,
    hidden_value,
    pay,
    redirect_path,
    text,
    url,
)

# People: anna, bert, carla, the coordinator coby and the stranger of another ring come
# from tests/conftest.py, so pages can be searched for their names.


# Helpers


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


class _Parser(HTMLParser):
    """Collects forms (with the values they would submit) and table rows (cell texts)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms, self.rows = [], []
        self._form = self._row = self._cell = self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = {"attrs": attrs, "fields": []}
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None and attrs.get("name"):
            if attrs.get("type") not in ("checkbox", "radio") or "checked" in attrs:
                self._form["fields"].append((attrs["name"], attrs.get("value", "")))
        elif tag == "select" and self._form is not None:
            self._select = attrs.get("name")
        elif tag == "option" and self._select and "selected" in attrs:
            self._form["fields"].append((self._select, attrs.get("value", "")))
        elif tag == "tr":
            self._row = {"attrs": attrs, "cells": []}
            self.rows.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            self._row["cells"].append(self._cell)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag in ("td", "th"):
            self._cell = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _parse(html: str) -> _Parser:
    parser = _Parser()
    parser.feed(html)
    return parser


def parse_forms(html: str) -> list[dict]:
    return _parse(html).forms


def form_with(html: str, field_name: str) -> MultiDict:
    """What the (only) form that has a field called ``field_name`` would submit."""
    [form] = [f for f in parse_forms(html) if any(name == field_name for name, _ in f["fields"])]
    return MultiDict(form["fields"])


def table_rows(html: str) -> list[list[str]]:
    """Each data row (no header cells) as its cells' texts, whitespace collapsed."""
    rows = []
    for row in _parse(html).rows:
        cells = [" ".join("".join(cell).split()) for cell in row["cells"]]
        if cells:
            rows.append(cells)
    return rows


def statement_lines(html: str) -> list[list[str]]:
    """The statement's lines: date, counterpart, description, amount, balance after. The
    description is its own text only, without tags, notes or links drawn after it."""
    lines = []
    for row in _parse(html).rows:
        cells = row["cells"]
        texts = [" ".join("".join(cell).split()) for cell in cells]
        if len(cells) == 5 and texts[0] != "Datum":
            texts[2] = next(" ".join(chunk.split()) for chunk in cells[2] if chunk.strip())
            lines.append(texts)
    return lines


# Paying


def pay_data(payee, amount="1:30", description="Fiets gemaakt", key="pay-key-1", confirmed=""):
    return {"payee": payee.id if hasattr(payee, "id") else payee, "amount": amount,
            "description": description, "idempotency_key": key, "confirmed": confirmed}


def test_pay_form_has_a_fresh_hidden_key_each_time(client, login, ring, anna, bert):
    login(anna.user)
    first = client.get(url(ring, "/betalen"))
    second = client.get(url(ring, "/betalen"))
    assert first.status_code == second.status_code == 200
    keys = [hidden_value(text(r), "idempotency_key") for r in (first, second)]
    assert all(key and re.fullmatch(r"[0-9a-f]{32}", key) for key in keys)
    assert keys[0] != keys[1]
    html = text(first)
    assert "Bert Jansen" in html
    assert f'<option value="{anna.id}"' not in html  # one cannot pay oneself


def test_a_confirmed_payment_sent_without_its_key_books_nothing(client, login, ring, anna, bert):
    """The server never makes up a key for a submitted form: each resubmit would pay again."""
    login(anna.user)
    for key in ("", "   "):
        response = client.post(url(ring, "/betalen"), data=pay_data(bert, key=key, confirmed="1"))
        assert response.status_code == 200
        assert "Het formulier is niet compleet" in text(response)
    assert count(Transfer) == 0
    key = hidden_value(text(response), "idempotency_key")  # the form shown again can be sent
    assert re.fullmatch(r"[0-9a-f]{32}", key)
    client.post(url(ring, "/betalen"), data=pay_data(bert, key=key, confirmed="1"))
    client.post(url(ring, "/betalen"), data=pay_data(bert, key=key, confirmed="1"))
    assert count(Transfer) == 1 and balance(bert) == 90


def test_pay_post_asks_for_confirmation_and_books_nothing(client, login, ring, anna, bert):
    login(anna.user)
    response = client.post(url(ring, "/betalen"), data=pay_data(bert))
    html = text(response)
    assert response.status_code == 200
    assert "Klopt dit?" in html and "Bert Jansen" in html and "1:30 uur" in html
    fields = form_with(html, "confirmed")
    assert fields["confirmed"] == "1" and fields["idempotency_key"] == "pay-key-1"
    assert count(Transfer) == 0
    assert balance(anna) == balance(bert) == 0


def test_confirmed_payment_books_once_and_shows_the_statement(client, login, ring, anna, bert, outbox):
    login(anna.user)
    response = client.post(url(ring, "/betalen"), data=pay_data(bert, confirmed="1"))
    assert redirect_path(response) == url(ring, "/saldo")
    assert (balance(anna), balance(bert)) == (-90, 90)
    transfer = db.session.scalar(select(Transfer))
    assert transfer.kind == TransferKind.TRADE and transfer.description == "Fiets gemaakt"
    assert transfer.idempotency_key == "pay-key-1"
    page = text(client.get(response.headers["Location"]))
    assert "U heeft 1:30 uur betaald aan Bert Jansen." in page
    assert statement_lines(page)[0][1:] == ["Bert Jansen", "Fiets gemaakt", "-1:30", "-1:30"]
    assert [mail["To"] for mail in outbox()] == [bert.user.email]


def test_double_click_on_confirm_books_once(client, login, ring, anna, bert, outbox):
    login(anna.user)
    confirm_page = text(client.post(url(ring, "/betalen"), data=pay_data(bert)))
    fields = form_with(confirm_page, "confirmed")
    first = client.post(url(ring, "/betalen"), data=fields)
    second = client.post(url(ring, "/betalen"), data=fields)
    assert redirect_path(first) == redirect_path(second) == url(ring, "/saldo")
    assert count(Transfer) == 1
    assert (balance(anna), balance(bert)) == (-90, 90)
    assert len(outbox()) == 1


def assert_refused(response, field: str, message: str, key: str = "pay-key-1") -> None:
    """The pay form is shown again with ``message`` next to ``field`` and nothing booked."""
    html = text(response)
    assert response.status_code == 200
    assert "Klopt dit?" not in html
    assert message in field_error(html, field), html
    assert hidden_value(html, "idempotency_key") == key  # same key: a retry cannot book twice
    assert count(Transfer) == 0


def test_pay_to_an_unknown_member_id_is_refused(client, login, ring, anna, bert):
    login(anna.user)
    response = client.post(url(ring, "/betalen"), data=pay_data(999999, confirmed="1"))
    assert_refused(response, "payee", "Kies een lid van uw eigen kring.")


def test_pay_to_a_member_of_another_ring_is_refused(client, login, ring, anna, stranger):
    login(anna.user)
    response = client.post(url(ring, "/betalen"), data=pay_data(stranger, confirmed="1"))
    assert_refused(response, "payee", "Kies een lid van uw eigen kring.")
    assert balance(stranger) == 0


def test_pay_zero_is_refused(client, login, ring, anna, bert):
    login(anna.user)
    response = client.post(url(ring, "/betalen"), data=pay_data(bert, amount="0", confirmed="1"))
    assert_refused(response, "amount", "Vul een bedrag in dat groter is dan nul.")


def test_pay_a_negative_amount_is_refused(client, login, ring, anna, bert):
    login(anna.user)
    response = client.post(url(ring, "/betalen"), data=pay_data(bert, amount="-5", confirmed="1"))
    assert_refused(response, "amount", "Vul een bedrag in dat groter is dan nul.")
    assert balance(bert) == 0


def test_pay_an_unreadable_amount_is_refused(client, login, ring, anna, bert):
    login(anna.user)
    response = client.post(url(ring, "/betalen"), data=pay_data(bert, amount="abc", confirmed="1"))
    assert_refused(response, "amount", "Schrijf bijvoorbeeld 1:30, 1,5 of 90m.")
    # The page's title says so, and a summary at the top (focused) links to the field.
    html = text(response)
    assert "<title>Niet goed ingevuld: Betalen – ruilkring</title>" in html
    summary = re.search(r'<div class="alert alert--error error-summary"[^>]*>.*?</div>', html, re.S).group(0)
    assert "autofocus" in summary and 'tabindex="-1"' in summary
    assert re.findall(r'<a href="#(\w+)">', summary) == ["amount"]


def test_pay_more_than_the_limit_allows_says_how_much_is_possible(client, login, ring, anna, bert):
    ring.default_min_balance = -120
    db.session.commit()
    pay(anna, bert, 100)
    login(anna.user)
    response = client.post(url(ring, "/betalen"), data=pay_data(bert, amount="0:30", confirmed="1"))
    html = text(response)
    assert response.status_code == 200
    assert "hoogstens 0:20" in field_error(html, "amount")
    assert count(Transfer) == 1
    assert (balance(anna), balance(bert)) == (-100, 100)


def test_pay_to_oneself_is_refused(client, login, ring, anna, bert):
    login(anna.user)
    response = client.post(url(ring, "/betalen"), data=pay_data(anna, confirmed="1"))
    assert_refused(response, "payee", "U kunt niet aan uzelf betalen.")


def test_pay_without_description_is_refused(client, login, ring, anna, bert):
    login(anna.user)
    response = client.post(url(ring, "/betalen"), data=pay_data(bert, description="", confirmed="1"))
    assert_refused(response, "description", "Schrijf erbij waarvoor u betaalt.")


@pytest.mark.parametrize("typed", ["1:30", "1,5", "90m", "90"])
def test_amount_notations_all_book_ninety_minutes(client, login, ring, anna, bert, typed):
    login(anna.user)
    confirm_page = text(client.post(url(ring, "/betalen"), data=pay_data(bert, amount=typed)))
    assert "Klopt dit?" in confirm_page
    assert "1:30 uur" in confirm_page
    response = client.post(url(ring, "/betalen"), data=form_with(confirm_page, "confirmed"))
    assert redirect_path(response) == url(ring, "/saldo")
    assert db.session.scalar(select(Transfer.amount)) == 90
    assert balance(bert) == 90


# Member suggestions (htmx)


def test_member_suggestions_are_options_of_matching_members_of_the_ring(client, login, ring, anna, stranger):
    annemiek = factories.MemberFactory(ring=ring, user__name="Annemiek Bos")
    johanna = factories.MemberFactory(ring=ring, user__name="Johanna Kok")
    factories.MemberFactory(ring=ring, user__name="Bert Jansen")
    factories.MemberFactory(ring=ring, user__name="Hanna Weg", status=MemberStatus.INACTIVE)
    login(anna.user)
    response = client.get(url(ring, "/betalen/leden?q=ANN"), headers={**HTMX, "HX-Target": "payee"})
    html = text(response)
    assert response.status_code == 200
    assert "<html" not in html
    lines = [line.strip() for line in html.splitlines() if line.strip()]
    assert all(line.startswith("<option") and line.endswith("</option>") for line in lines), html
    ids = [int(v) for v in re.findall(r'<option value="(\d+)"', html)]
    assert sorted(ids) == sorted([annemiek.id, johanna.id])
    assert "Anna de Vries" not in html  # never oneself
    assert "Anneke Buiten" not in html  # never another ring's member
    assert "Hanna Weg" not in html  # nor someone who does not take part


def test_member_suggestions_say_when_nobody_matches(client, login, ring, anna, stranger):
    login(anna.user)
    html = text(client.get(url(ring, "/betalen/leden?q=Anneke"), headers=HTMX))
    assert re.findall(r'<option value="(\d*)"', html) == [""]
    assert "Niemand gevonden met deze naam" in html


def test_an_empty_search_gives_the_whole_list_back(client, login, ring, anna):
    for _ in range(55):
        factories.MemberFactory(ring=ring)
    login(anna.user)
    html = text(client.get(url(ring, "/betalen/leden?q="), headers={**HTMX, "HX-Target": "payee"}))
    assert len(re.findall(r'<option value="\d+"', html)) == 55  # everyone but Anna
    html = text(client.get(url(ring, "/betalen/leden?q=a"), headers={**HTMX, "HX-Target": "payee"}))
    assert len(re.findall(r'<option value="\d+"', html)) <= 50


def test_the_search_on_the_pay_page_is_a_form_of_its_own_that_narrows_the_list(client, login, ring, anna, bert):
    factories.MemberFactory(ring=ring, user__name="Johanna Kok")
    login(anna.user)
    html = text(client.get(url(ring, "/betalen?advertentie=7")))
    # Enter in the search box sends the search, never the payment.
    forms = re.findall(r"<form [^>]*>.*?</form>", html, re.S)
    [search], [payment] = [f for f in forms if 'name="q"' in f], [f for f in forms if 'name="payee"' in f]
    assert 'method="get"' in search and 'name="q"' in search and 'name="advertentie" value="7"' in search
    assert 'method="post"' in payment

    html = text(client.get(url(ring, "/betalen?q=bert")))

    # Without JavaScript the page itself narrows the list; one name found is chosen.
    assert re.findall(r'<option( selected)? value="(\d*)"', html) == [("", ""), (" selected", str(bert.id))]
    assert 'value="bert"' in html
    # A form sent from that page chooses from everyone: htmx may have narrowed the list by
    # another name since, and a refused form keeps the member chosen.
    carla = factories.MemberFactory(ring=ring, user__name="Carla Smit")
    html = text(client.post(url(ring, "/betalen?q=bert"), data=pay_data(carla, amount="abc")))
    assert field_error(html, "amount") and re.search(rf'<option selected value="{carla.id}">Carla Smit</option>', html)
    html = text(client.get(url(ring, "/betalen?q=niemand")))
    assert re.findall(r'<option(?: selected)? value="(\d*)"', html) == [""] and "Niemand gevonden met deze naam" in html


# Payment requests


def request_data(payer, amount="1:00", description="Oppassen", key="request-key-1"):
    return {"payer": payer.id if hasattr(payer, "id") else payer, "amount": amount, "description": description,
            "idempotency_key": key}


def make_request(payee, payer, amount=60, description="Oppassen") -> PaymentRequest:
    request = services.payment_request_create(payee=payee, payer=payer, amount=amount, description=description)
    db.session.commit()
    return request


def test_request_is_created_and_shown_to_the_payer(client, login, login_as, ring, anna, bert, outbox):
    login(bert.user)  # Bert helped Anna and asks her to pay
    response = client.post(url(ring, "/betaalverzoeken"), data=request_data(anna))
    assert redirect_path(response) == url(ring, "/betaalverzoeken")
    request = db.session.scalar(select(PaymentRequest))
    assert (request.payer_id, request.payee_id, request.amount) == (anna.id, bert.id, 60)
    assert request.status == PaymentRequestStatus.PENDING
    own_page = text(client.get(url(ring, "/betaalverzoeken")))
    assert "U vraagt Anna de Vries 1:00 uur voor: Oppassen" in own_page
    assert "Er wacht 1 betaalverzoek op u" not in text(client.get(url(ring, "/start")))
    assert [mail["To"] for mail in outbox()] == [anna.user.email]
    # The same form sent again (a double click, a resubmit): still one request, one mail.
    response = client.post(url(ring, "/betaalverzoeken"), data=request_data(anna))
    assert redirect_path(response) == url(ring, "/betaalverzoeken")
    assert count(PaymentRequest) == 1 and len(outbox()) == 1
    response = client.post(url(ring, "/betaalverzoeken"), data=request_data(anna, amount="2:00"))
    assert "al eerder verstuurd met andere gegevens" in text(response) and count(PaymentRequest) == 1

    login_as(anna.user)
    requests_page = text(client.get(url(ring, "/betaalverzoeken")))
    assert "Bert Jansen" in requests_page and "vraagt 1:00 uur voor: Oppassen" in requests_page
    assert f"/betaalverzoeken/{request.id}/accepteren" in requests_page
    start_page = text(client.get(url(ring, "/start")))
    assert "Er wacht 1 betaalverzoek op u." in start_page
    assert count(Transfer) == 0


def test_request_to_a_member_of_another_ring_is_refused(client, login, ring, bert, stranger):
    login(bert.user)
    response = client.post(url(ring, "/betaalverzoeken"), data=request_data(stranger))
    assert response.status_code == 200
    assert "Kies een lid van uw eigen kring." in field_error(text(response), "payer")
    assert count(PaymentRequest) == 0


def test_request_for_zero_is_refused(client, login, ring, anna, bert):
    login(bert.user)
    response = client.post(url(ring, "/betaalverzoeken"), data=request_data(anna, amount="0:00"))
    assert response.status_code == 200
    assert "Vul een bedrag in dat groter is dan nul." in field_error(text(response), "amount")
    assert count(PaymentRequest) == 0


def test_request_without_description_is_refused(client, login, ring, anna, bert):
    login(bert.user)
    response = client.post(url(ring, "/betaalverzoeken"), data=request_data(anna, description=""))
    assert response.status_code == 200
    assert "Schrijf erbij waarvoor u betaald wilt worden." in field_error(text(response), "description")
    assert count(PaymentRequest) == 0


def test_accepting_a_request_books_the_transfer(client, login, ring, anna, bert):
    request = make_request(payee=bert, payer=anna)
    login(anna.user)
    response = client.post(url(ring, f"/betaalverzoeken/{request.id}/accepteren"))
    assert redirect_path(response) == url(ring, "/betaalverzoeken")
    assert (balance(anna), balance(bert)) == (-60, 60)
    assert request.status == PaymentRequestStatus.ACCEPTED
    transfer = db.session.get(Transfer, request.transfer_id)
    assert transfer.amount == 60 and transfer.description == "Oppassen"
    page = text(client.get(url(ring, "/betaalverzoeken")))
    assert "Betaald: 1:00 uur aan Bert Jansen." in page
    assert "Niemand vraagt u op dit moment om te betalen." in page
    # A second click finds the request handled and books nothing more.
    client.post(url(ring, f"/betaalverzoeken/{request.id}/accepteren"))
    assert count(Transfer) == 1 and balance(bert) == 60


def test_declining_a_request_needs_a_reason(client, login, ring, anna, bert):
    request = make_request(payee=bert, payer=anna)
    login(anna.user)
    page = text(client.post(url(ring, f"/betaalverzoeken/{request.id}/weigeren"), data={"reason": ""},
                            follow_redirects=True))
    assert "Schrijf kort waarom u weigert." in page
    assert request.status == PaymentRequestStatus.PENDING
    page = text(client.post(url(ring, f"/betaalverzoeken/{request.id}/weigeren"), data={"reason": "x" * 501},
                            follow_redirects=True))
    assert "Schrijf kort waarom u weigert." not in page and "500" in page  # too long, and it says so
    assert request.status == PaymentRequestStatus.PENDING

    page = text(client.post(url(ring, f"/betaalverzoeken/{request.id}/weigeren"),
                            data={"reason": "Niet gedaan"}, follow_redirects=True))
    assert "U heeft het betaalverzoek geweigerd." in page
    assert request.status == PaymentRequestStatus.DECLINED and request.decline_reason == "Niet gedaan"
    [row] = [r for r in table_rows(page) if "Oppassen" in r[2]]
    assert "Niet gedaan" in row[2] and row[4] == "geweigerd"
    assert count(Transfer) == 0


def test_requester_cancels_a_request_and_the_payer_cannot(client, login, login_as, ring, anna, bert):
    request = make_request(payee=bert, payer=anna)
    login(anna.user)
    page = text(client.post(url(ring, f"/betaalverzoeken/{request.id}/intrekken"), follow_redirects=True))
    assert "Alleen wie het verzoek stuurde kan het intrekken." in page
    assert request.status == PaymentRequestStatus.PENDING

    login_as(bert.user)
    page = text(client.post(url(ring, f"/betaalverzoeken/{request.id}/intrekken"), follow_redirects=True))
    assert "U heeft het betaalverzoek ingetrokken." in page
    assert request.status == PaymentRequestStatus.CANCELLED
    assert [r[4] for r in table_rows(page) if "Oppassen" in r[2]] == ["ingetrokken"]
    assert count(Transfer) == 0


def test_expired_request_says_so_and_books_nothing(client, login, ring, anna, bert):
    request = make_request(payee=bert, payer=anna)
    clock.freeze(clock.now() + timedelta(days=ring.payment_request_days, minutes=1))
    login(anna.user)
    page = text(client.post(url(ring, f"/betaalverzoeken/{request.id}/accepteren"), follow_redirects=True))
    assert "Dit betaalverzoek is verlopen." in page
    assert count(Transfer) == 0
    assert (balance(anna), balance(bert)) == (0, 0)
    assert request.transfer_id is None and request.status == PaymentRequestStatus.EXPIRED


@pytest.mark.parametrize("action", ["accepteren", "weigeren", "intrekken"])
def test_someone_else_s_request_is_not_found(client, login, login_as, ring, anna, bert, carla, stranger, action):
    request = make_request(payee=bert, payer=anna)
    login(carla.user)
    response = client.post(url(ring, f"/betaalverzoeken/{request.id}/{action}"), data={"reason": "nee"})
    assert response.status_code == 404
    login_as(stranger.user)
    response = client.post(url(ring, f"/betaalverzoeken/{request.id}/{action}"), data={"reason": "nee"})
    assert response.status_code == 404
    assert request.status == PaymentRequestStatus.PENDING
    assert count(Transfer) == 0


# Statements


def test_statement_shows_balance_and_running_balance_newest_first(client, login, ring, anna, bert, carla):
    pay(anna, bert, 60, "tuin")
    pay(bert, anna, 30, "boodschappen")
    pay(anna, carla, 15, "koffie")
    login(anna.user)
    html = text(client.get(url(ring, "/saldo")))
    assert "Mijn saldo" in html
    assert re.search(r'<p class="balance negative">\s*-0:45 uur\s*</p>', html)
    assert [line[1:] for line in statement_lines(html)] == [
        ["Carla Smit", "koffie", "-0:15", "-0:45"],
        ["Bert Jansen", "boodschappen", "0:30", "-0:30"],
        ["Bert Jansen", "tuin", "-1:00", "-1:00"],
    ]
    assert "Meer laden" not in html


def test_statement_loads_more_after_the_last_shown_line(client, login, ring, anna, bert):
    for n in range(30):
        pay(anna, bert, 1, f"klusje {n + 1}")
    login(anna.user)
    html = text(client.get(url(ring, "/saldo")))
    lines = statement_lines(html)
    assert len(lines) == 25
    assert (lines[0][2], lines[0][4]) == ("klusje 30", "-0:30")
    assert (lines[-1][2], lines[-1][4]) == ("klusje 6", "-0:06")
    assert "Meer laden" in html
    more = unescape(re.search(r'<a class="button" href="([^"]+)"', html[html.index('id="statement-more"'):])[1])
    assert "voor=6" in more

    response = client.get(more, headers={**HTMX, "HX-Target": "statement-more"})
    fragment = text(response)
    assert response.status_code == 200
    assert "<html" not in fragment and "<table" not in fragment
    assert [(line[2], line[4]) for line in statement_lines(fragment)] == [
        (f"klusje {n}", f"-0:0{n}") for n in range(5, 0, -1)]
    # The keyboard focus goes to the first of the new lines (htmx focuses [autofocus]).
    assert re.search(r'<tr tabindex="-1" autofocus>\s*<td>[^<]*</td>\s*<td>Bert Jansen</td>\s*<td>\s*klusje 5', fragment)
    assert fragment.count("autofocus") == 1 and "autofocus" not in html
    assert "Meer laden" not in fragment
    assert "HX-Target" in response.headers["Vary"]

    # Without JavaScript the same link gives the whole page with the older lines.
    page = text(client.get(more))
    assert "<html" in page and [line[2] for line in statement_lines(page)][0] == "klusje 5"


def test_statement_period_filter(client, login, ring, anna, bert):
    for moment, description in ((at(2026, 1, 10), "januari"), (at(2026, 2, 10), "februari"),
                                (at(2026, 3, 10), "maart")):
        clock.freeze(moment)
        pay(anna, bert, 60, description)
    login(anna.user)
    html = text(client.get(url(ring, "/saldo?date_from=2026-02-01&date_to=2026-02-28")))
    assert [line[2] for line in statement_lines(html)] == ["februari"]
    assert statement_lines(html)[0][4] == "-2:00"  # the running balance is that of the whole history
    assert "saldo.csv?date_from=2026-02-01&amp;date_to=2026-02-28" in html
    rows = list(csv.reader(io.StringIO(
        client.get(url(ring, "/saldo.csv?date_from=2026-02-01&date_to=2026-02-28")).data.decode("utf-8-sig")),
        delimiter=";"))
    assert [row[3] for row in rows[1:]] == ["februari"]
    html = text(client.get(url(ring, "/saldo?date_from=2026-02-01")))
    assert [line[2] for line in statement_lines(html)] == ["maart", "februari"]
    # Typed the Dutch way, where the browser has no calendar: the same.
    html = text(client.get(url(ring, "/saldo?date_from=1-2-2026&date_to=28-02-2026")))
    assert [line[2] for line in statement_lines(html)] == ["februari"] and not field_error(html, "date_from")
    assert "Bijvoorbeeld 1-1-2026." in html
    # A date that does not exist is said so; the other date still counts, and the CSV link
    # carries only that one. A made-up CSV link with a wrong date is refused.
    html = text(client.get(url(ring, "/saldo?date_from=2026-02-30&date_to=2026-02-28")))
    assert field_error(html, "date_from") and [line[2] for line in statement_lines(html)] == ["februari", "januari"]
    assert "saldo.csv?date_to=2026-02-28" in html and "2026-02-30" not in html.split("saldo.csv")[1][:40]
    assert client.get(url(ring, "/saldo.csv?date_from=2026-02-30")).status_code == 400


def test_statement_csv_has_a_header_and_one_line_per_entry(client, login, ring, anna, bert, carla):
    first = pay(anna, bert, 60, "tuin")
    pay(carla, anna, 15, "koffie")
    login(anna.user)
    response = client.get(url(ring, "/saldo.csv"))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.data.decode("utf-8-sig")
    assert ";" in body.splitlines()[0]
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    assert rows[0] == ["datum", "transactie", "tegenpartij", "omschrijving", "bedrag (minuten)", "bedrag",
                       "saldo na (minuten)", "ingevoerd door"]
    assert len(rows) == 3
    assert rows[2] == [first.occurred_on.isoformat(), str(first.id), "Bert Jansen", "tuin", "-60", "-1:00",
                       "-60", "Anna de Vries"]
    assert rows[1][2:7] == ["Carla Smit", "koffie", "15", "0:15", "-45"]


def test_coordinator_opens_any_members_statement_and_csv(client, login, ring, anna, bert, coby, stranger):
    pay(anna, bert, 60, "tuin")
    login(coby.user)
    html = text(client.get(url(ring, f"/leden/{anna.id}/saldo")))
    assert "Saldo van Anna de Vries" in html
    assert [line[1:] for line in statement_lines(html)] == [["Bert Jansen", "tuin", "-1:00", "-1:00"]]
    assert f"/leden/{anna.id}/saldo.csv" in html
    response = client.get(url(ring, f"/leden/{anna.id}/saldo.csv"))
    assert response.mimetype == "text/csv"
    assert len(list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))) == 2
    # A member of another ring is not found through this ring.
    assert client.get(url(ring, f"/leden/{stranger.id}/saldo")).status_code == 404
    assert client.get(url(ring, f"/leden/{stranger.id}/saldo.csv")).status_code == 404


def test_member_cannot_open_someone_elses_statement(client, login, ring, anna, bert):
    pay(anna, bert, 60, "tuin")
    login(bert.user)
    assert client.get(url(ring, f"/leden/{anna.id}/saldo")).status_code == 404
    assert client.get(url(ring, f"/leden/{anna.id}/saldo.csv")).status_code == 404
    assert client.get(url(ring, f"/leden/{bert.id}/saldo")).status_code == 404  # even one's own: /saldo


# Coordinator: booking on behalf


def book_data(payer, payee, note="Ruilbriefje van 12 maart", key="book-1"):
    return {"payer": payer.id, "payee": payee.id, "amount": "1:00", "description": "Tuin gedaan",
            "note": note, "idempotency_key": key}


def test_coordinator_books_on_behalf_with_a_required_note(client, login, login_as, ring, anna, bert, coby):
    login(coby.user)
    page = text(client.get(url(ring, "/beheer/boeken")))
    assert re.fullmatch(r"[0-9a-f]{32}", hidden_value(page, "idempotency_key"))

    response = client.post(url(ring, "/beheer/boeken"), data=book_data(anna, bert, note=""))
    assert response.status_code == 200
    assert "Schrijf een notitie" in field_error(text(response), "note")
    assert count(Transfer) == 0

    response = client.post(url(ring, "/beheer/boeken"), data=book_data(anna, bert))
    assert redirect_path(response) == url(ring, "/beheer/boeken")
    transfer = db.session.scalar(select(Transfer))
    assert (transfer.entered_by_id, transfer.on_behalf_of_id) == (coby.user_id, anna.id)
    assert transfer.reason == "Ruilbriefje van 12 maart"
    assert (balance(anna), balance(bert)) == (-60, 60)
    assert "Geboekt: Anna de Vries betaalt 1:00 uur aan Bert Jansen." in text(client.get(response.headers["Location"]))
    # Posting the same form again (a double click) books nothing more.
    client.post(url(ring, "/beheer/boeken"), data=book_data(anna, bert))
    assert count(Transfer) == 1

    member_view = text(client.get(url(ring, f"/leden/{anna.id}/saldo")))
    assert "Ingevoerd door Coby Kramer" in member_view
    login_as(anna.user)
    assert "Ingevoerd door Coby Kramer" in text(client.get(url(ring, "/saldo")))


def test_coordinator_cannot_book_for_a_member_of_another_ring(client, login, ring, anna, coby, stranger):
    login(coby.user)
    response = client.post(url(ring, "/beheer/boeken"), data=book_data(anna, stranger))
    assert "Kies een lid van deze kring." in field_error(text(response), "payee")
    assert count(Transfer) == 0


# Coordinator: bulk booking


def bulk_data(members, amount="0:15", confirmed="", key="bulk-1"):
    return {"direction": "from_members", "counterpart": "0", "members": [m.id for m in members],
            "amount": amount, "description": "Jaarbijdrage", "idempotency_key": key, "confirmed": confirmed}


def pot_balance(ring) -> int:
    return db.session.scalar(select(Account.balance).where(
        Account.ring_id == ring.id, Account.kind == AccountKind.POT)) or 0


def test_bulk_booking_preview_then_all_or_nothing(client, login, ring, anna, bert, carla, coby):
    ring.default_min_balance = -30
    db.session.commit()
    pay(carla, bert, 20, "boodschappen")  # Carla can pay only 0:10 more
    login(coby.user)
    page = text(client.get(url(ring, "/beheer/groepsboeking")))
    assert "Voorbeeld bekijken" in page
    # One ticked member is enough: no checkbox says it is required on its own.
    members = re.search(r'<fieldset [^>]*id="members"[^>]*>.*?</fieldset>', page, re.S).group(0)
    assert len(re.findall(r'<input [^>]*type="checkbox"', members)) == 4 and "required" not in members

    preview = text(client.post(url(ring, "/beheer/groepsboeking"), data=bulk_data([anna, bert, carla])))
    rows = {row[0]: row for row in table_rows(preview) if len(row) == 3 and row[0] != "Lid"}
    assert rows["Anna de Vries"][1:] == ["0:15", "ja"] and rows["Bert Jansen"][2] == "ja"
    assert "hoogstens 0:10" in rows["Carla Smit"][2]
    assert "Niet alle boekingen kunnen." in preview
    assert hidden_value(preview, "confirmed") == ""
    assert count(Transfer) == 1

    # A confirmation of what was not previewed (an old page, a forged form) is previewed, not booked.
    response = client.post(url(ring, "/beheer/groepsboeking"), data=bulk_data([anna, bert, carla], confirmed="1"))
    assert response.status_code == 200
    assert "U heeft iets veranderd na het voorbeeld" in text(response)
    assert count(Transfer) == 1
    assert (balance(anna), balance(bert), balance(carla), pot_balance(ring)) == (0, 20, -20, 0)

    preview = text(client.post(url(ring, "/beheer/groepsboeking"), data=bulk_data([anna, bert], key="bulk-2")))
    assert "Bevestigen: 2 boekingen" in preview
    fields = form_with(preview, "confirmed")
    assert fields["confirmed"] == "1"
    # Changed after the preview (more per member, one more member): shown again, nothing booked.
    more, wider = fields.copy(), fields.copy()
    more["amount"] = "15:00"
    wider.setlist("members", [str(m.id) for m in (anna, bert, carla)])
    for changed in (more, wider):
        response = client.post(url(ring, "/beheer/groepsboeking"), data=changed)
        assert "U heeft iets veranderd na het voorbeeld" in text(response) and count(Transfer) == 1
    response = client.post(url(ring, "/beheer/groepsboeking"), data=fields)
    assert redirect_path(response) == url(ring, "/beheer/transacties")
    assert count(Transfer, Transfer.kind == TransferKind.FEE) == 2
    assert (balance(anna), balance(bert), balance(carla), pot_balance(ring)) == (-15, 5, -20, 30)
    assert "2 boekingen gedaan." in text(client.get(response.headers["Location"]))


# Coordinator: limits


def test_limits_edit_needs_a_reason_keeps_history_and_lists_members_at_a_limit(
        client, login, ring, anna, bert, coby):
    pay(anna, bert, 120, "verhuizing")
    login(coby.user)
    assert "Anna de Vries" not in text(client.get(url(ring, "/beheer/limieten")))
    edit_url = url(ring, f"/beheer/leden/{anna.id}/limieten")
    assert "Grenzen van Anna de Vries" in text(client.get(edit_url))

    response = client.post(edit_url, data={"min_balance": "-1:00", "max_balance": "", "reason": ""})
    assert response.status_code == 200
    assert "Geef een reden op." in field_error(text(response), "reason")
    assert count(LimitChange) == 0

    response = client.post(edit_url, data={"min_balance": "-1:00", "max_balance": "", "reason": "Te veel schuld"})
    assert redirect_path(response) == url(ring, f"/leden/{anna.id}/saldo")
    account = db.session.scalar(select(Account).where(Account.member_id == anna.id))
    assert (account.min_balance, account.max_balance) == (-60, None)
    statement = text(client.get(response.headers["Location"]))
    assert "De grenzen van Anna de Vries zijn aangepast." in statement
    assert "Het saldo ligt buiten de grenzen." in statement

    history = table_rows(text(client.get(edit_url)))
    assert [row[1:] for row in history if len(row) == 5 and row[0] != "Wanneer"] == [
        ["Coby Kramer", "standaard / standaard", "-1:00 / standaard", "Te veel schuld"]]

    listed = text(client.get(url(ring, "/beheer/limieten")))
    [row] = [row for row in table_rows(listed) if row[0] == "Anna de Vries"]
    assert row[1:4] == ["-2:00", "-1:00", "40:00"]


# Coordinator: overview


def test_overview_checks_the_books_and_totals_per_month(client, login, ring, anna, bert, carla, coby):
    clock.freeze(at(2026, 1, 15))
    pay(anna, bert, 60, "tuin")
    pay(bert, carla, 30, "boodschappen")
    clock.freeze(at(2026, 2, 3))
    pay(carla, anna, 45, "koffie")
    login(coby.user)
    html = text(client.get(url(ring, "/beheer/transacties")))
    assert "De boeken kloppen." in html
    months = [row for row in table_rows(html) if re.fullmatch(r"\d{4}-\d{2}", row[0])]
    assert months == [["2026-02", "1", "0:45"], ["2026-01", "2", "1:30"]]
    descriptions = [row[4] for row in table_rows(html) if len(row) == 6 and row[0] != "Nr."]
    assert descriptions == ["koffie", "boodschappen", "tuin"]


def test_overview_filters_by_member_and_kind_with_htmx(client, login, ring, anna, bert, carla, coby):
    first = pay(anna, bert, 60, "tuin")
    pay(bert, carla, 30, "boodschappen")
    run_ledger_transaction(lambda: services.transfer_correct(
        payer=first.payee, payee=first.payer, amount=15, corrected_by=coby.user, reason="te veel",
        idempotency_key="corr", related=first))
    login(coby.user)
    headers = {**HTMX, "HX-Target": "transfer-table"}

    response = client.get(url(ring, f"/beheer/transacties?member={carla.id}&kind="), headers=headers)
    fragment = text(response)
    assert response.status_code == 200
    assert "<html" not in fragment and fragment.lstrip().startswith('<div class="table-scroll" tabindex="0"><table')
    assert [row[4] for row in table_rows(fragment) if row[0] != "Nr."] == ["boodschappen"]
    # A wrong date is shown as such on the page; the member filter still counts.
    html = text(client.get(url(ring, f"/beheer/transacties?member={carla.id}&date_from=2026-02-30")))
    assert field_error(html, "date_from") and "Niet elk filter" not in html
    assert [row[4] for row in table_rows(html) if len(row) > 4 and row[0] != "Nr."] == ["boodschappen"]
    # Swapped in by htmx, the table says it itself: the form beside it is not drawn again.
    fragment = text(client.get(url(ring, f"/beheer/transacties?member={carla.id}&date_from=2026-02-30"),
                               headers=headers))
    assert 'role="alert"' in fragment and "Niet elk filter kon worden gebruikt" in fragment
    assert f"{field_error(html, 'date_from')}</li>" in fragment
    assert [row[4] for row in table_rows(fragment) if row[0] != "Nr."] == ["boodschappen"]

    fragment = text(client.get(url(ring, "/beheer/transacties?member=&kind=correction"), headers=headers))
    assert "<html" not in fragment
    [row] = [row for row in table_rows(fragment) if row[0] != "Nr."]
    assert row[2:] == ["Bert Jansen", "Anna de Vries", f"Correctie bij transactie {first.id} correctie", "0:15"]

    fragment = text(client.get(url(ring, f"/beheer/transacties?member={anna.id}&kind=trade"), headers=headers))
    assert [row[4] for row in table_rows(fragment) if row[0] != "Nr."] == ["tuin"]

    # Without the htmx target, the same filter gives the whole page.
    page = text(client.get(url(ring, f"/beheer/transacties?member={carla.id}")))
    assert "<html" in page and "De boeken kloppen." in page
    assert [row[4] for row in table_rows(page) if len(row) == 6 and row[0] != "Nr."] == ["boodschappen"]


# Coordinator: reversals and corrections


def detail_url(ring, transfer) -> str:
    return url(ring, f"/beheer/transacties/{transfer.id}")


def reverse_data(reason="Dubbel geboekt", key="rev-1", override=False):
    data = {"action": "reverse", "reverse-reason": reason, "reverse-idempotency_key": key}
    if override:
        data["reverse-override_limits"] = "y"
    return data


def test_reversal_needs_a_reason_and_happens_once(client, login, ring, anna, bert, coby):
    transfer = pay(anna, bert, 45, "tuin")
    login(coby.user)
    page = text(client.get(detail_url(ring, transfer)))
    assert "Transactie" in page and 'name="action" value="reverse"' in page

    response = client.post(detail_url(ring, transfer), data=reverse_data(reason=""))
    assert response.status_code == 200
    assert "Geef een reden op." in field_error(text(response), "reverse-reason")
    assert count(Transfer) == 1
    # The correction form on the page drawn again still has a key of its own.
    assert re.fullmatch(r"[0-9a-f]{32}", hidden_value(text(response), "correct-idempotency_key"))

    response = client.post(detail_url(ring, transfer), data=reverse_data())
    assert redirect_path(response) == detail_url(ring, transfer)
    reversal = db.session.scalar(select(Transfer).where(Transfer.reverses_id == transfer.id))
    assert reversal.kind == TransferKind.REVERSAL and reversal.reason == "Dubbel geboekt"
    assert (balance(anna), balance(bert)) == (0, 0)
    page = text(client.get(response.headers["Location"]))
    assert f"Transactie {transfer.id} is teruggedraaid." in page
    assert "Teruggedraaid door" in page and 'name="action" value="reverse"' not in page

    # A second reversal (another coordinator's open page) is refused, and says why.
    response = client.post(detail_url(ring, transfer), data=reverse_data(key="rev-2"))
    assert response.status_code == 200
    assert "Deze transactie is al teruggedraaid." in text(response)
    assert count(Transfer) == 2
    assert (balance(anna), balance(bert)) == (0, 0)


def test_reversal_past_a_limit_needs_the_override(client, login, ring, anna, bert, carla, coby):
    transfer = pay(anna, bert, 100, "verhuizing")
    pay(bert, carla, 100, "schilderen")
    ring.default_min_balance = -50
    db.session.commit()
    login(coby.user)
    response = client.post(detail_url(ring, transfer), data=reverse_data(reason="Fout lid"))
    assert response.status_code == 200
    assert "hoogstens 0:50" in text(response)
    assert count(Transfer) == 2 and balance(bert) == 0

    response = client.post(detail_url(ring, transfer), data=reverse_data(reason="Fout lid", override=True))
    assert redirect_path(response) == detail_url(ring, transfer)
    reversal = db.session.scalar(select(Transfer).where(Transfer.reverses_id == transfer.id))
    assert reversal.limit_override
    assert (balance(anna), balance(bert)) == (0, -100)
    page = text(client.get(detail_url(ring, reversal)))
    assert "overschreden met toestemming van de coördinator" in page


def test_partial_correction(client, login, ring, anna, bert, coby):
    transfer = pay(anna, bert, 60, "tuin")
    login(coby.user)
    data = {"action": "correct", "correct-direction": "back", "correct-amount": "0:30", "correct-reason": "",
            "correct-idempotency_key": "corr-1"}
    response = client.post(detail_url(ring, transfer), data=data)
    assert response.status_code == 200
    assert "Geef een reden op." in field_error(text(response), "correct-reason")
    assert count(Transfer) == 1

    response = client.post(detail_url(ring, transfer), data={**data, "correct-reason": "Half te veel betaald"})
    assert redirect_path(response) == detail_url(ring, transfer)
    correction = db.session.scalar(select(Transfer).where(Transfer.kind == TransferKind.CORRECTION))
    assert correction.amount == 30 and correction.reason == "Half te veel betaald"
    assert (correction.payer_account_id, correction.payee_account_id) == (
        transfer.payee_account_id, transfer.payer_account_id)
    assert (balance(anna), balance(bert)) == (-30, 30)
    page = text(client.get(response.headers["Location"]))
    assert "De correctie is geboekt." in page
    assert 'name="action" value="reverse"' in page  # the original can still be reversed
    notified = count(Notification)
    client.post(detail_url(ring, transfer), data={**data, "correct-reason": "Half te veel betaald"})
    assert count(Transfer) == 2 and count(Notification) == notified  # sent twice: booked and told once


def test_coordinator_of_another_ring_cannot_see_a_transfer(client, login, ring, anna, bert):
    transfer = pay(anna, bert, 60, "tuin")
    other_coordinator = factories.MemberFactory(role=MemberRole.COORDINATOR)
    login(other_coordinator.user)
    other_ring = other_coordinator.ring
    assert client.get(url(other_ring, f"/beheer/transacties/{transfer.id}")).status_code == 404
    assert client.get(url(ring, f"/beheer/transacties/{transfer.id}")).status_code == 404


# (path, whether it takes a POST)
COORDINATOR_PAGES = [
    ("/beheer/boeken", True),
    ("/beheer/groepsboeking", True),
    ("/beheer/limieten", False),
    ("/beheer/leden/{member}/limieten", True),
    ("/beheer/transacties", False),
    ("/beheer/transacties/{transfer}", True),
]


@pytest.mark.parametrize(("path", "takes_post"), COORDINATOR_PAGES)
def test_members_get_404_on_coordinator_ledger_pages(client, login, ring, anna, bert, coby, path, takes_post):
    transfer = pay(anna, bert, 60, "tuin")
    login(anna.user)
    target = url(ring, path.format(member=anna.id, transfer=transfer.id))
    assert client.get(target).status_code == 404
    if takes_post:
        response = client.post(target, data={
            "action": "reverse", "reverse-reason": "weg", "payer": bert.id, "payee": anna.id, "amount": "1:00",
            "description": "x", "note": "x", "reason": "x", "min_balance": "-100:00", "members": [anna.id],
            "confirmed": "1"})
        assert response.status_code == 404
    assert count(Transfer) == 1 and count(LimitChange) == 0
    assert (balance(anna), balance(bert)) == (-60, 60)
