"""The coordinator's dashboard, its CSV downloads, the network map and the contact question.

The ring: six members, A, B, C in Noord and D, E, F in Zuid, who joined on 1 January
2026. Seven trades in April 2026 (today is 11 May, so the default period is the second
quarter): A->B, B->A, A->D, D->E, E->A, B->C, C->B. F never traded. New ties: AB, AD, DE,
AE, BC; AD and AE cross wijken.
"""

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from ruilkring import clock
from ruilkring.database import run_ledger_transaction
from ruilkring.extensions import db
from ruilkring.ledger import services as ledger
from ruilkring.listings.services import categories_create_defaults
from ruilkring.stats import dashboard
from ruilkring.stats.models import ContactAnswer, Tie, TieAnswer
from ruilkring.stats.ties import tie_answer
from tests import factories
from tests.helpers import client_as

NAMES = {"A": "Anna Appelboom", "B": "Bram Berkhout", "C": "Cor Cornelisse", "D": "Dina Dijkhuis",
         "E": "Erik Eikenhout", "F": "Fien Fonteijn"}
TRADES = [("A", "B", 2), ("B", "A", 3), ("A", "D", 5), ("D", "E", 8), ("E", "A", 10), ("B", "C", 12),
          ("C", "B", 15)]
TABLES = ("members", "ties", "trades", "partners", "bridging", "retention", "structure", "help", "categories")
PANELS = {"HX-Request": "true", "HX-Target": "dashboard-panels"}


@pytest.fixture(autouse=True)
def _today_and_empty_cache(app):
    """Today is 11 May 2026; no figures left in the in-process cache by another test
    (ids start again at 1 in every test, so an old entry could look current)."""
    clock.freeze(datetime(2026, 5, 11, 10, tzinfo=UTC))
    dashboard._CACHE.clear()
    yield
    dashboard._CACHE.clear()


@pytest.fixture
def kring(ring, coordinator):
    north, south = ring.neighbourhoods
    joined = datetime(2026, 1, 1, tzinfo=UTC)
    members = {key: factories.MemberFactory(ring=ring, neighbourhood=north if key in "ABC" else south,
                                            created_at=joined, approved_at=joined, user__name=name)
               for key, name in NAMES.items()}
    account = {key: ledger.account_open(member=m).id for key, m in members.items()}
    history = [ledger.HistoricalTransfer(account[p], account[q], 60, datetime(2026, 4, day, 12, tzinfo=UTC), "hulp")
               for p, q, day in TRADES]
    run_ledger_transaction(lambda: ledger.transfers_bulk_load(ring=ring, transfers=history))
    return ring, members


def headline(html: str, label: str) -> str:
    match = re.search(rf'<span class="label">{label}</span>\s*<span class="value">([^<]*)</span>', html)
    assert match, f"no headline {label!r}"
    return match.group(1)


def tie_of(members, x, y) -> Tie:
    low, high = sorted((members[x].id, members[y].id))
    return db.session.scalar(select(Tie).where(Tie.member_low_id == low, Tie.member_high_id == high))


# The dashboard

def test_dashboard_shows_the_quarter_with_follow_up_lists(app, kring, coordinator):
    ring, members = kring
    response = client_as(app, coordinator.user).get(f"/kring/{ring.slug}/beheer/dashboard")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" in html and '<div id="dashboard-panels">' in html
    assert "1 april 2026 – 30 juni 2026" in html
    assert headline(html, "Actieve leden") == "5"
    assert headline(html, "Ruilen") == "7"
    assert headline(html, "Nieuwe verbindingen") == "5"
    assert headline(html, "Over wijkgrenzen") == "40%"
    # Only Fien, who joined more than 90 days ago, never traded.
    never = html.split("Nog nooit geruild")[1].split("</section>")[0]
    assert NAMES["F"] in never and NAMES["A"] not in never
    # Shares as percentages, even 100 %; a ratio and a median as numbers.
    structure = html.split('id="chart-structure"')[1].split("</figure>")[0]
    assert '<th scope="row">Actieve leden die gaven én kregen</th><td class="num">100%</td>' in structure
    assert '<th scope="row">Mediaan aantal ruilpartners</th><td class="num">2</td>' in structure
    bridging = html.split('id="chart-bridging"')[1].split("</figure>")[0]
    assert '<td class="num">40%</td><td class="num">48%</td><td class="num">0.8</td>' in bridging
    # Every chart has its table and a CSV link for the same period.
    for name in TABLES:
        assert f'id="chart-{name}"' in html
        assert f'href="/kring/{ring.slug}/beheer/dashboard/{name}.csv"' in html


def test_changing_the_period_with_htmx_returns_only_the_panels(app, kring, coordinator):
    ring, _ = kring
    client = client_as(app, coordinator.user)
    url = f"/kring/{ring.slug}/beheer/dashboard?periode=maand&datum=2026-03-15"
    response = client.get(url, headers=PANELS)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html and "Om op te volgen" not in html and 'id="dashboard-panels"' not in html
    assert html.lstrip().startswith('<h2 class="period-title">1 maart 2026 – 31 maart 2026</h2>')
    # The live region says which period is shown now; the panels themselves are not read out.
    assert ('<div id="messages" hx-swap-oob="innerHTML"><p class="visually-hidden">'
            "Cijfers van 1 maart 2026 tot en met 31 maart 2026.</p></div>") in html
    assert headline(html, "Ruilen") == "0" and 'id="chart-members"' in html
    assert {"HX-Request", "HX-Target"} <= set(response.vary)
    # April as a month: the trades are back, with March as the previous period.
    html = client.get(f"/kring/{ring.slug}/beheer/dashboard?periode=maand&datum=2026-04-20",
                      headers=PANELS).get_data(as_text=True)
    assert headline(html, "Ruilen") == "7" and "vorige periode: 0" in html
    # A boosted navigation is an htmx request too, but wants the whole page.
    html = client.get(url, headers={"HX-Request": "true", "HX-Boosted": "true"}).get_data(as_text=True)
    assert "<html" in html and "Om op te volgen" in html


def test_a_custom_period_and_nonsense_fall_back_sensibly(app, kring, coordinator):
    ring, _ = kring
    client = client_as(app, coordinator.user)
    # Figures are kept per month, so a period of one's own covers whole months.
    html = client.get(f"/kring/{ring.slug}/beheer/dashboard?periode=eigen&van=2026-04-03&tot=2026-04-04",
                      headers=PANELS).get_data(as_text=True)
    assert "1 april 2026 – 30 april 2026" in html and headline(html, "Ruilen") == "7"
    assert "u ziet daarom hele maanden" in html
    html = client.get(f"/kring/{ring.slug}/beheer/dashboard?periode=eigen&van=2026-02-15&tot=2026-03-02",
                      headers=PANELS).get_data(as_text=True)
    assert "1 februari 2026 – 31 maart 2026" in html and headline(html, "Ruilen") == "0"
    html = client.get(f"/kring/{ring.slug}/beheer/dashboard?periode=eigen&van=2026-02-01&tot=2026-03-31",
                      headers=PANELS).get_data(as_text=True)
    assert "1 februari 2026 – 31 maart 2026" in html and 'role="status"' not in html
    # Typed the Dutch way, where the browser has no calendar: the same.
    html = client.get(f"/kring/{ring.slug}/beheer/dashboard?periode=eigen&van=1-2-2026&tot=31-03-2026",
                      headers=PANELS).get_data(as_text=True)
    assert "1 februari 2026 – 31 maart 2026" in html and 'role="status"' not in html
    html = client.get(f"/kring/{ring.slug}/beheer/dashboard?periode=maand&datum=15-2-2026",
                      headers=PANELS).get_data(as_text=True)
    assert "1 februari 2026 – 28 februari 2026" in html
    # Nonsense gets the quarter of today, and says so.
    html = client.get(f"/kring/{ring.slug}/beheer/dashboard?periode=eigen&van=morgen&datum=gisteren",
                      headers=PANELS).get_data(as_text=True)
    assert "1 april 2026 – 30 juni 2026" in html
    assert "geldige begin- en einddatum" in html and "De datum gisteren" not in html  # eigen has no datum
    html = client.get(f"/kring/{ring.slug}/beheer/dashboard?periode=maand&datum=gisteren",
                      headers=PANELS).get_data(as_text=True)
    assert "De datum gisteren bestaat niet" in html
    html = client.get(f"/kring/{ring.slug}/beheer/dashboard?periode=eigen&van=2026-04-04&tot=2026-04-03",
                      headers=PANELS).get_data(as_text=True)
    assert "1 april 2026 – 30 juni 2026" in html and "De begindatum ligt na de einddatum" in html
    html = client.get(f"/kring/{ring.slug}/beheer/dashboard?periode=eigen&van=2020-01-01&tot=2026-04-03",
                      headers=PANELS).get_data(as_text=True)
    assert "hoogstens drie jaar" in html


def csv_rows(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_every_table_downloads_as_csv(app, kring, coordinator):
    ring, _ = kring
    client = client_as(app, coordinator.user)
    html = client.get(f"/kring/{ring.slug}/beheer/dashboard").get_data(as_text=True)
    for name in TABLES:
        response = client.get(f"/kring/{ring.slug}/beheer/dashboard/{name}.csv")
        assert response.status_code == 200, name
        assert response.mimetype == "text/csv"
        assert response.headers["Content-Disposition"] == \
            f'attachment; filename="{name}-{ring.slug}-2026-04-01.csv"'
        header, *rows = csv_rows(response)
        # The same columns as the table on the page.
        assert "".join(f'<th scope="col">{column}</th>' for column in header) in html, name
        assert rows and all(len(row) == len(header) for row in rows), name
    partners = csv_rows(client.get(f"/kring/{ring.slug}/beheer/dashboard/partners.csv"))
    # Partners at the end of June: A 3 (B, D, E), B 2, C 1, D 2, E 2, F 0, the coordinator 0.
    assert partners == [["Ruilpartners", "Leden"], ["0", "2"], ["1", "1"], ["2-4", "4"], ["5-9", "0"], ["10+", "0"]]
    bridging = csv_rows(client.get(f"/kring/{ring.slug}/beheer/dashboard/bridging.csv"))
    assert bridging[1][:4] == ["Wijken", "5", "2", "0.400"]
    assert csv_rows(client.get(f"/kring/{ring.slug}/beheer/dashboard/help.csv"))[1:] == [
        ["practical", "0", "0.000"], ["social_emotional", "0", "0.000"], ["informative", "0", "0.000"],
        ["unknown", "7", "7.000"]]
    # A month that has no trades, and a table that does not exist.
    trades = csv_rows(client.get(f"/kring/{ring.slug}/beheer/dashboard/trades.csv?periode=maand&datum=2026-03-01"))
    assert trades[-1] == ["mrt 2026", "0", "0.000"]
    assert client.get(f"/kring/{ring.slug}/beheer/dashboard/bestaat-niet.csv").status_code == 404


def test_network_map_shows_members_and_ties_up_to_a_date(app, kring, coordinator):
    ring, members = kring
    client = client_as(app, coordinator.user)
    html = client.get(f"/kring/{ring.slug}/beheer/netwerk").get_data(as_text=True)
    svg = html.split('<svg class="network"')[1].split("</svg>")[0]
    assert svg.count("<circle") == 5 and svg.count("<line") == 5
    for key in "ABCDE":
        assert f"<title>{NAMES[key]} (" in svg
    assert NAMES["F"] not in svg
    assert "Noord" in html and "Zuid" in html  # the legend
    html = client.get(f"/kring/{ring.slug}/beheer/netwerk?periode=eigen&van=2000-01-01&tot=2026-04-04"
                      ).get_data(as_text=True)
    svg = html.split('<svg class="network"')[1].split("</svg>")[0]
    assert svg.count("<circle") == 2 and svg.count("<line") == 1
    html = client.get(f"/kring/{ring.slug}/beheer/netwerk?periode=eigen&van=2000-01-01&tot=2026-03-31"
                      ).get_data(as_text=True)
    assert "<svg" not in html.split("<main")[1] and "Nog geen ruilen tot deze datum." in html


def test_new_contacts_show_as_dashed_lines(app, kring, coordinator):
    ring, members = kring
    tie = tie_of(members, "A", "B")
    tie_answer(tie=tie, member=members["A"], answer=ContactAnswer.NO)
    tie_answer(tie=tie, member=members["B"], answer=ContactAnswer.BY_SIGHT)
    db.session.commit()
    html = client_as(app, coordinator.user).get(f"/kring/{ring.slug}/beheer/netwerk").get_data(as_text=True)
    assert html.count('stroke-dasharray="6 4"') == 1
    # The list beside the map says in words what the map says in colours: each side's wijk.
    [row] = re.findall(r"<tbody><tr>(.*?)</tr>", html, re.S)
    a, b = (members[key] for key in ("A", "B"))
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    assert cells[:2] == [f"{a.name} ({a.neighbourhood.name})", f"{b.name} ({b.neighbourhood.name})"]
    assert cells[3:] == ["ja", "ja" if a.neighbourhood_id != b.neighbourhood_id else ""]


# Members do not see any of it

@pytest.mark.parametrize("path", ["beheer/dashboard", "beheer/dashboard/members.csv", "beheer/netwerk",
                                  "beheer/gemeente-voorbeeld"])
def test_members_get_404_on_the_coordinators_pages(app, kring, path):
    ring, members = kring
    client = client_as(app, members["A"].user)
    assert client.get(f"/kring/{ring.slug}/{path}").status_code == 404
    assert client.get(f"/kring/{ring.slug}/{path}", headers=PANELS).status_code == 404


def test_coordinators_of_another_ring_get_404(app, kring):
    ring, _ = kring
    stranger = factories.MemberFactory(role="coordinator")
    db.session.commit()
    assert client_as(app, stranger.user).get(f"/kring/{ring.slug}/beheer/dashboard").status_code == 404


# The contact question

def test_member_answers_the_contact_question(app, kring):
    ring, members = kring
    tie = tie_of(members, "A", "B")
    db.session.commit()
    client = client_as(app, members["A"].user)
    home = client.get(f"/kring/{ring.slug}/start").get_data(as_text=True)
    assert f'<div id="contact-{tie.id}" class="contact-question">' in home
    assert f"Kende u {NAMES['B']} al vóór uw eerste ruil?" in home
    response = client.post(f"/kring/{ring.slug}/contact/{tie.id}", data={"answer": "no"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/kring/{ring.slug}/start")
    assert [(a.member_id, a.answer) for a in db.session.scalars(select(TieAnswer))] == [
        (members["A"].id, ContactAnswer.NO)]
    home = client.get(f"/kring/{ring.slug}/start").get_data(as_text=True)
    assert "Dank u wel voor uw antwoord." in home and f'id="contact-{tie.id}"' not in home


def test_contact_answer_with_htmx_returns_the_fragment(app, kring):
    ring, members = kring
    tie = tie_of(members, "B", "C")
    db.session.commit()
    client = client_as(app, members["C"].user)
    response = client.post(
        f"/kring/{ring.slug}/contact/{tie.id}", data={"answer": "by_sight"},
        headers={"HX-Request": "true", "HX-Target": f"contact-{tie.id}"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html
    assert html.startswith(f'<div id="contact-{tie.id}" class="contact-question"><p>Dank u wel voor uw antwoord.</p>')
    # Read out through the page's live region; not kept for the next page as well.
    assert '<div id="messages" hx-swap-oob="innerHTML"><p class="visually-hidden">Dank u wel' in html
    assert "Dank u wel voor uw antwoord." not in client.get(f"/kring/{ring.slug}/start").get_data(as_text=True)
    assert db.session.scalar(select(TieAnswer.answer)) == ContactAnswer.BY_SIGHT


def test_a_wrong_answer_is_not_recorded(app, kring):
    ring, members = kring
    tie = tie_of(members, "A", "B")
    db.session.commit()
    client = client_as(app, members["A"].user)
    response = client.post(f"/kring/{ring.slug}/contact/{tie.id}", data={"answer": "misschien"})
    assert response.status_code == 302
    assert db.session.scalar(select(db.func.count()).select_from(TieAnswer)) == 0
    assert "Kies een van de antwoorden." in client.get(f"/kring/{ring.slug}/start").get_data(as_text=True)


def test_another_members_tie_is_404(app, kring, coordinator):
    ring, members = kring
    theirs = tie_of(members, "D", "E")  # A is not part of it
    other_ring_tie_id = theirs.id + 1000
    db.session.commit()
    client = client_as(app, members["A"].user)
    for tie_id in (theirs.id, other_ring_tie_id):
        assert client.post(f"/kring/{ring.slug}/contact/{tie_id}", data={"answer": "yes"}).status_code == 404
    # Not even a coordinator answers for someone else.
    assert client_as(app, coordinator.user).post(f"/kring/{ring.slug}/contact/{theirs.id}",
                                                 data={"answer": "yes"}).status_code == 404
    assert db.session.scalar(select(db.func.count()).select_from(TieAnswer)) == 0


def test_a_tie_of_another_ring_is_404_even_for_its_member(app, kring):
    ring, members = kring
    other = factories.RingFactory()
    x, y = factories.MemberFactory(ring=other), factories.MemberFactory(ring=other)
    run_ledger_transaction(lambda: ledger.payment_create(payer=x, payee=y, amount=30, description="hulp",
                                                         idempotency_key="elders"))
    tie = db.session.scalar(select(Tie).where(Tie.ring_id == other.id))
    # Their own tie, but asked for under ring A's address: x is no member there.
    response = client_as(app, x.user).post(f"/kring/{ring.slug}/contact/{tie.id}", data={"answer": "no"})
    assert response.status_code == 404


# The cache

def test_a_new_transfer_refreshes_the_cached_figures(app, kring, coordinator):
    ring, members = kring
    client = client_as(app, coordinator.user)
    url = f"/kring/{ring.slug}/beheer/dashboard"
    html = client.get(url).get_data(as_text=True)
    assert headline(html, "Ruilen") == "7" and headline(html, "Nieuwe verbindingen") == "5"
    assert headline(client.get(url).get_data(as_text=True), "Ruilen") == "7"  # served from the cache
    assert len(dashboard._CACHE) == 3  # tables, headlines, charts
    run_ledger_transaction(lambda: ledger.payment_create(
        payer=members["F"], payee=members["C"], amount=45, description="boodschappen", idempotency_key="nieuw"))
    html = client.get(url).get_data(as_text=True)
    assert headline(html, "Ruilen") == "8" and headline(html, "Nieuwe verbindingen") == "6"
    assert headline(html, "Actieve leden") == "6"
    # Three quarters of an hour in May: hours, not a percentage.
    assert '<th scope="row">mei 2026</th><td class="num">1</td><td class="num">0.8</td>' in html
    csv_text = client.get(f"{url}/trades.csv").get_data(as_text=True)
    assert "mei 2026;1;0.800" in csv_text


def test_marking_a_category_as_care_refreshes_the_cached_figures(app, kring):
    """The gemeente's figures merge care categories: a category newly marked as care
    must not stay unmerged in the cache."""
    ring, _ = kring
    category = categories_create_defaults(ring=ring)[0]
    before = dashboard.data_version([ring.id])
    category.care = True
    db.session.flush()
    assert dashboard.data_version([ring.id]) != before


def test_cached_figures_expire(app, kring, monkeypatch):
    ring, _ = kring
    computed = []
    period = dashboard.Period.month(2026, 4)
    assert dashboard.cached("test", [ring.id], period, lambda: computed.append(1) or len(computed)) == 1
    assert dashboard.cached("test", [ring.id], period, lambda: computed.append(1) or len(computed)) == 1
    later = dashboard.time.monotonic() + dashboard.CACHE_SECONDS + 1
    monkeypatch.setattr(dashboard.time, "monotonic", lambda: later)
    assert dashboard.cached("test", [ring.id], period, lambda: computed.append(1) or len(computed)) == 2
