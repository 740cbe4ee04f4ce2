"""Crawl every municipality page and export over a data set made to tempt a leak, and
check every figure against the privacy rules of DESIGN section 5.

The gemeente has two rings. De Grote Beer has 40 members, about 30 of them active, in
four wijken; one wijk (Kleinhoven) has only three members, so it is the one small cell of
its column, and next to a total. One member trades far more than anyone else. Het Kleine
Vosje has fewer than 20 active members, so it may never be shown alone, nor be worked out
by subtracting the big ring from the gemeente's total. Some trades are for listings in
care categories. Every person has a distinctive name and e-mail address that must never
appear.

The crawl follows every link under /gemeente (and the coordinators' preview), asks for
every quarter offered in the quarter menu, and reads the HTML tables and the CSV.
"""

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from ruilkring import clock
from ruilkring.database import run_ledger_transaction
from ruilkring.extensions import db
from ruilkring.ledger import services as ledger
from ruilkring.listings import services as listing_services
from ruilkring.listings.models import Category, HelpKind, ListingKind, ListingPlace
from ruilkring.members.models import MemberRole
from ruilkring.municipality import report
from ruilkring.rings.models import Ring
from ruilkring.stats import dashboard, metrics
from ruilkring.stats.models import ContactAnswer, Tie
from ruilkring.stats.ties import tie_answer
from tests import factories
from tests.helpers import client_as

TODAY = datetime(2026, 5, 11, 10, tzinfo=UTC)
FIRST_NAMES = ("Xaverius", "Wiebrecht", "Gijsberta", "Olgerd", "Reinoutje", "Tjitske", "Ermelinda", "Barteld",
               "Hadewych", "Lambertus", "Ysbrand", "Petronella", "Doedijns", "Aafke", "Sjoerdina",
               "Crescentia", "Folkert", "Geertruida", "Hylke", "Ilonka", "Jurriaan", "Kunigunde", "Lubbert",
               "Machteld", "Nanning", "Ottilie", "Pieternel", "Quirijn", "Rochus", "Saskia", "Taeke",
               "Ulrike", "Valentijn", "Wendelien", "Yvo", "Zwaantje", "Ambrosius", "Brechtje", "Casparus",
               "Diederica", "Evert-Jan", "Frederique", "Gerolf", "Hiskia", "Isebrand", "Jozina", "Klaasje",
               "Leendertje", "Marinus", "Neeltje")
WIJKEN = ("Centrum", "Haven", "Polder", "Kleinhoven")
CARE_CATEGORIES = ("Mantelzorg", "Thuishulp bij ziekte")

# How each column of a municipality table is checked.
LABEL_COLUMNS = {"Kring", "Wijk", "Leeftijd", "Soort hulp", "Categorie", "Kwartaal", "Lid geworden in"}
PERSON_COLUMNS = {"Leden", "Actieve leden", "Ruilen", "Nieuwe verbindingen", "Nieuwe contacten", "Nieuwe leden"}
PERCENT_COLUMNS = {"Deel actief", "Over wijkgrenzen", "Verwacht bij willekeurig mengen", "Gaven én kregen",
                   "Ruilden in eerste kwartaal", "Ruilden in tweede kwartaal"}
HOUR_COLUMNS = {"Uren"}
TABLE_KEYS = {"Kerncijfers": "core", "Meedoen per wijk": "participation_wijk",
              "Meedoen per leeftijdsgroep": "participation_age", "Soorten hulp": "help",
              "Ruilen per categorie": "categories", "Ontwikkeling per kwartaal": "trend", "Blijven ruilen": "retention"}


@dataclass
class Person:
    name: str
    email: str


@dataclass
class Dataset:
    municipality_id: int
    other_municipality_id: int
    big_ring: dict
    small_ring: dict
    viewer_id: int
    admin_id: int
    people: list[Person] = field(default_factory=list)
    listing_titles: list[str] = field(default_factory=list)


def _person(index: int, ring_word: str) -> dict:
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    surname = f"Quaestorius-{ring_word}{index:02d}"
    return {"user__name": f"{first} {surname}", "user__email": f"{first.lower()}.{index}@{ring_word.lower()}.example"}


def build_dataset() -> Dataset:
    """The rings, their people and a year of trades (see the module docstring)."""
    municipality = factories.MunicipalityFactory(name="Gemeente Lekdijk")
    big = factories.RingFactory(name="Ruilkring De Grote Beer", slug="grote-beer", municipality=municipality,
                                neighbourhoods=list(WIJKEN))
    small = factories.RingFactory(name="Ruilkring Het Kleine Vosje", slug="kleine-vosje", municipality=municipality,
                                  neighbourhoods=[])
    wijk = {n.name: n for n in big.neighbourhoods}
    other_municipality = factories.MunicipalityFactory(name="Gemeente Elders")
    factories.RingFactory(name="Ruilkring Elders", slug="elders", municipality=other_municipality)

    # De Grote Beer: members 0-15 in Centrum, 16-27 Haven, 28-36 Polder, 37-39 Kleinhoven.
    # Polder's members joined in November 2025 and never traded, the others in June 2025;
    # two were born in 1940.
    big_members = []
    for i in range(40):
        where = "Centrum" if i < 16 else "Haven" if i < 28 else "Polder" if i < 37 else "Kleinhoven"
        joined = datetime(2025, 11, 3, tzinfo=UTC) if where == "Polder" else datetime(2025, 6, 15, tzinfo=UTC)
        big_members.append(factories.MemberFactory(
            ring=big, neighbourhood=wijk[where], birth_year=1940 if i in (5, 17) else 1955 + i,
            created_at=joined, approved_at=joined, role=MemberRole.COORDINATOR if i == 39 else MemberRole.MEMBER,
            **_person(i, "Beer")))
    # Het Kleine Vosje: nine members, living in the big ring's wijken Centrum and Haven.
    small_members = [factories.MemberFactory(
        ring=small, neighbourhood=wijk["Centrum" if i < 5 else "Haven"], birth_year=1970 + i,
        created_at=datetime(2025, 6, 20, tzinfo=UTC), approved_at=datetime(2025, 6, 20, tzinfo=UTC),
        role=MemberRole.COORDINATOR if i == 8 else MemberRole.MEMBER, **_person(i, "Vos")) for i in range(9)]

    accounts = {m.id: ledger.account_open(member=m).id for m in big_members + small_members}

    def day(quarter_start: date, n: int) -> datetime:
        return datetime.combine(quarter_start + timedelta(days=n % 85), datetime.min.time(), tzinfo=UTC)

    history = []
    top = big_members[0]  # the top trader: two trades with each of 25 partners, every quarter
    for quarter_start in (date(2025, 7, 1), date(2025, 10, 1), date(2026, 1, 1)):
        for n, partner in enumerate(big_members[1:26]):
            history.append(ledger.HistoricalTransfer(accounts[top.id], accounts[partner.id], 60,
                                                     day(quarter_start, 3 * n), "hulp"))
            history.append(ledger.HistoricalTransfer(accounts[partner.id], accounts[top.id], 60,
                                                     day(quarter_start, 3 * n + 1), "hulp"))
        # Kleinhoven: two of its three members trade with each other.
        history.append(ledger.HistoricalTransfer(accounts[big_members[37].id], accounts[big_members[38].id], 30,
                                                 day(quarter_start, 40), "hulp"))
    history.sort(key=lambda t: t.occurred_at)
    run_ledger_transaction(lambda: ledger.transfers_bulk_load(ring=big, transfers=history))
    small_history = [ledger.HistoricalTransfer(accounts[small_members[i].id], accounts[small_members[(i + 1) % 8].id],
                                               45, datetime(2026, 2, 1 + i, tzinfo=UTC), "hulp") for i in range(8)]
    run_ledger_transaction(lambda: ledger.transfers_bulk_load(ring=small, transfers=small_history))

    # Listings in care categories (and two ordinary ones), with trades for them in the
    # first quarter of 2026; the top trader does most of the computer help.
    categories = {c.name: c for c in listing_services.categories_create_defaults(ring=big)}
    for name in CARE_CATEGORIES:
        categories[name] = Category(ring_id=big.id, name=name, care=True, position=len(categories))
        db.session.add(categories[name])
    db.session.flush()
    titles = []
    plan = [("Mantelzorg", 3), ("Thuishulp bij ziekte", 2), ("Zorg en gezondheid", 1), ("Computerhulp", 7),
            ("Klussen", 1)]
    for index, (category, trades) in enumerate(plan):
        owner = top if category == "Computerhulp" else big_members[10 + index]
        title = f"{category} bij {owner.name.split()[0]}thuis nummer {index}"
        titles.append(title)
        listing = listing_services.listing_create(
            owner=owner, kind=ListingKind.OFFER, title=title, description="Privé-omschrijving " + title,
            category_id=categories[category].id, help_kind=HelpKind.SOCIAL_EMOTIONAL if category in CARE_CATEGORIES
            else HelpKind.PRACTICAL, place=ListingPlace.AT_HOME, created_by=owner.user)
        for n in range(trades):
            payer = big_members[20 + n]
            run_ledger_transaction(lambda payer=payer, owner=owner, listing=listing, key=f"{index}-{n}":
                                   ledger.transfer_create(
                                       payer_id=ledger.account_open(member=payer).id,
                                       payee_id=ledger.account_open(member=owner).id,
                                       amount=60, idempotency_key=key, entered_by=payer.user, description="hulp",
                                       occurred_on=date(2026, 3, 2 + n), listing=listing))

    # Contact answers: the top trader's first ties were new contacts for both sides.
    for partner in big_members[1:8]:
        low, high = sorted((top.id, partner.id))
        tie = db.session.scalar(select(Tie).where(Tie.member_low_id == low, Tie.member_high_id == high))
        tie_answer(tie=tie, member=top, answer=ContactAnswer.NO)
        tie_answer(tie=tie, member=partner, answer=ContactAnswer.NO)

    viewer = factories.UserFactory(municipality=municipality, name="Vera Gemeentekijker",
                                   email="vera@gemeente.example")
    admin = factories.UserFactory(is_admin=True, name="Adriaan Platformbeheer", email="adriaan@beheer.example")
    db.session.commit()
    people = [Person(m.name, m.user.email) for m in big_members + small_members]
    return Dataset(
        municipality_id=municipality.id, other_municipality_id=other_municipality.id,
        big_ring={"id": big.id, "slug": big.slug, "name": big.name, "coordinator_id": big_members[39].user.id},
        small_ring={"id": small.id, "slug": small.slug, "name": small.name,
                    "coordinator_id": small_members[8].user.id},
        viewer_id=viewer.id, admin_id=admin.id, people=people, listing_titles=titles)


@pytest.fixture
def dataset(app):
    clock.freeze(TODAY)
    dashboard._CACHE.clear()  # ids start again at 1 in every test
    yield build_dataset()
    dashboard._CACHE.clear()


# Reading what a page shows

@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]

    @property
    def key(self) -> str:
        assert self.title in TABLE_KEYS, f"unknown table {self.title!r}: add it to TABLE_KEYS and check it"
        return TABLE_KEYS[self.title]


class TableParser(HTMLParser):
    """The tables of a municipality page, each with the heading just before it."""

    def __init__(self):
        super().__init__()
        self.tables: list[Table] = []
        self.svgs = 0
        self._heading = ""
        self._in_heading = False
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag, attrs):
        if tag == "h2":
            self._in_heading, self._heading = True, ""
        elif tag == "svg":
            self.svgs += 1
        elif tag == "table":
            self.tables.append(Table(self._heading.strip(), [], []))
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_heading = False
        elif tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            table = self.tables[-1]
            if self._in_head:
                table.columns = self._row
            else:
                table.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._in_heading:
            self._heading += data
        if self._cell is not None:
            self._cell.append(data)


def html_tables(html: str) -> tuple[list[Table], int]:
    parser = TableParser()
    parser.feed(html)
    return parser.tables, parser.svgs


def csv_tables(text: str) -> list[Table]:
    """The CSV report: per table a header row (title, columns...), its rows, a blank line."""
    assert text.startswith("\ufeff")
    tables, current = [], None
    for row in csv.reader(io.StringIO(text[1:]), delimiter=";"):
        if not row:
            current = None
        elif current is None:
            current = Table(row[0], row[1:], [])
            tables.append(current)
        else:
            assert row[0] == current.title, "every row names its table"
            current.rows.append(row[1:])
    return tables


# What the figures really are, to check the denominators of percentages

class Truth:
    def __init__(self, municipality_id: int, period: metrics.Period):
        self.period = period
        self.rings = {ring.name: ring.id for ring in db.session.scalars(
            select(Ring).where(Ring.municipality_id == municipality_id))}
        self.all_ids = sorted(self.rings.values())

    def core_ring_ids(self, label: str, table: Table) -> list[int]:
        if label == "Hele gemeente":
            return self.all_ids
        if label in self.rings:
            return [self.rings[label]]
        assert label == "Overige kringen samen", f"unexpected row {label!r}"
        named = {row[0] for row in table.rows}
        return [ring_id for name, ring_id in self.rings.items() if name not in named]

    def denominator(self, table: Table, row: list[str], column: str) -> int:
        label = row[0]
        if table.key == "core":
            ids = self.core_ring_ids(label, table)
            if column == "Deel actief":
                return metrics.activity(ids, self.period).members
            if column == "Gaven én kregen":
                return metrics.activity(ids, self.period).active
            return metrics.bridging(ids, self.period).ties
        if table.key.startswith("participation_"):
            groups = metrics.participation_by_group(self.all_ids, self.period, table.key.split("_")[1])
            if label == "Totaal":
                return sum(members for _, members, _ in groups)
            return next(members for group, members, _ in groups
                        if group == label or (group == "?" and label == "onbekend"))
        if table.key == "retention":
            year, quarter = label.split(" K")
            return metrics.retention_in_quarters(self.all_ids, metrics.Period.quarter(int(year), int(quarter)))[0]
        raise AssertionError(f"a percentage in table {table.title!r}, column {column!r}")


def check_tables(tables: list[Table], data: Dataset, municipality_id: int, period: metrics.Period,
                 where: str) -> None:
    """Rules 2 to 5 and 7 on every cell."""
    truth = Truth(municipality_id, period)
    assert {table.key for table in tables} == set(TABLE_KEYS.values()), where
    for table in tables:
        context = f"{where}, table {table.title!r}"
        assert table.columns[0] in LABEL_COLUMNS, context
        for row in table.rows:
            assert len(row) == len(table.columns), context
            values = dict(zip(table.columns, row, strict=True))
            for column, value in list(values.items())[1:]:
                cell = f"{context}, row {row[0]!r}, column {column!r}: {value!r}"
                if column in PERSON_COLUMNS:
                    # Rule 2: "<5", or a multiple of five from five up.
                    assert value == "<5" or (value.isdigit() and int(value) % 5 == 0 and int(value) >= 5), cell
                elif column in PERCENT_COLUMNS:
                    # Rule 3: a percentage only over twenty or more.
                    assert value == "–" or re.fullmatch(r"\d{1,3}%", value), cell
                    if value != "–":
                        assert truth.denominator(table, row, column) >= 20, cell
                elif column in HOUR_COLUMNS:
                    assert value == "<5" or value.isdigit(), cell
                    if value.isdigit():  # hours only where the number of trades is shown
                        assert values["Ruilen"] != "<5", cell
                else:
                    raise AssertionError(f"{context}: unknown column {column!r}; say how to check it")
        if table.key.startswith("participation_"):
            body = [row for row in table.rows if row[0] != "Totaal"]
            assert not body or table.rows[-1][0] == "Totaal", context
            for row in body:  # a group's active members are no more than its members
                assert row[1] != "<5" or row[2] == "<5", f"{context}, row {row}"
            # Rule 4: with a total, never exactly one hidden cell in a column.
            for index, column in enumerate(table.columns):
                if column in PERSON_COLUMNS:
                    hidden = sum(row[index] == "<5" for row in body)
                    assert hidden != 1, f"{context}: one hidden cell in {column!r} next to a total"
        if table.key == "core":
            # Rule 5: the small ring is never a row of its own, and the rows shown besides the
            # gemeente's total leave nothing out that a subtraction could reveal.
            labels = [row[0] for row in table.rows]
            assert data.small_ring["name"] not in labels, context
            assert labels[-1] == "Hele gemeente", context
            if len(labels) > 1:
                covered = set().union(*(truth.core_ring_ids(label, table) for label in labels[:-1]))
                assert covered == set(truth.all_ids), f"{context}: rows {labels} leave rings out of the total"
        if table.key == "categories":
            # Rule 7: care categories appear only merged.
            labels = [row[0] for row in table.rows]
            assert not set(CARE_CATEGORIES) & set(labels), context
            assert labels.count("Zorg en gezondheid") <= 1, context


def check_text(text: str, data: Dataset, where: str) -> None:
    """Rule 6: no names, no e-mail addresses, no listing texts, no network map."""
    lowered = text.lower()
    for person in data.people:
        assert person.name.lower() not in lowered, f"{where}: the name {person.name!r}"
        assert person.name.split()[-1].lower() not in lowered, f"{where}: the surname of {person.name!r}"
        assert person.email.lower() not in lowered, f"{where}: the e-mail address {person.email!r}"
        assert person.email.split("@")[0] not in lowered, f"{where}: part of {person.email!r}"
    for title in data.listing_titles:
        assert title.lower() not in lowered and "privé-omschrijving" not in lowered, where
    for care in CARE_CATEGORIES:
        assert care.lower() not in lowered, f"{where}: care category {care!r} shown on its own"
    assert "/netwerk" not in lowered and 'class="network"' not in lowered, where
    assert "@" not in text.replace("@media", ""), f"{where}: something like an e-mail address"


# The crawl

QUARTER_OPTION = re.compile(r'<option value="(\d{4}-[1-4])"')
HREF = re.compile(r'href="([^"#]+)')


@dataclass
class Crawl:
    pages: dict[str, str] = field(default_factory=dict)  # path -> body
    endpoints: set[str] = field(default_factory=set)


def crawl(app, client, start: str, prefixes: tuple[str, ...]) -> Crawl:
    """Every page reachable from ``start`` under ``prefixes``, with every quarter offered."""
    result, queue = Crawl(), [start]
    adapter = app.url_map.bind(app.config["SERVER_NAME"])
    while queue:
        path = queue.pop(0)
        if path in result.pages:
            continue
        response = client.get(path)
        assert response.status_code == 200, f"{path}: {response.status_code}"
        body = response.get_data(as_text=True)
        result.pages[path] = body
        result.endpoints.add(adapter.match(urlsplit(path).path)[0])
        if response.mimetype != "text/html":
            continue
        links = [link.replace("&amp;", "&") for link in HREF.findall(body)]
        base = urlsplit(path).path
        links += [f"{base}?kwartaal={key}" for key in QUARTER_OPTION.findall(body)]
        for link in links:
            if link.startswith(prefixes) and link not in result.pages:
                queue.append(link)
    return result


def period_of(path: str) -> metrics.Period:
    key = parse_qs(urlsplit(path).query).get("kwartaal", [None])[0]
    return report.quarter_from_key(key)


def municipality_of(path: str, data: Dataset) -> int:
    """The gemeente a page is about: an admin names it in the path."""
    match = re.match(r"/gemeente/(\d+)/", path)
    return int(match.group(1)) if match else data.municipality_id


def check_crawl(result: Crawl, data: Dataset, who: str) -> None:
    for path, body in result.pages.items():
        where = f"{who} {path}"
        check_text(body, data, where)
        if path.split("?")[0].endswith(".csv"):
            tables = csv_tables(body)
            check_tables(tables, data, municipality_of(path, data), period_of(path), where)
        elif "gemeente-voorbeeld" in path or re.search(r"/gemeente/(\d+/)?(rapport)?(\?|$)", path):
            tables, svgs = html_tables(body)
            check_tables(tables, data, municipality_of(path, data), period_of(path), where)
            assert svgs == 1, f"{where}: only the trend chart may be drawn"
            assert "Ontwikkeling per kwartaal" in body.split("<svg")[1].split("</svg>")[0], where


def test_no_page_or_export_for_the_gemeente_reveals_a_person(app, dataset):
    data = dataset
    municipality_endpoints = {rule.endpoint for rule in app.url_map.iter_rules()
                              if rule.endpoint.startswith("municipality.")}

    viewer = crawl(app, client_as(app, data.viewer_id), "/gemeente/", ("/gemeente/",))
    quarters = [key for key in QUARTER_OPTION.findall(viewer.pages["/gemeente/"])]
    assert len(quarters) == report.TREND_QUARTERS
    for key in quarters:
        for page in ("/gemeente/", "/gemeente/rapport", "/gemeente/rapport.csv"):
            assert f"{page}?kwartaal={key}" in viewer.pages
    assert not any("/kring/" in link for body in viewer.pages.values() for link in HREF.findall(body))
    check_crawl(viewer, data, "viewer")

    admin = crawl(app, client_as(app, data.admin_id), "/gemeente/overzicht", ("/gemeente/",))
    assert f"/gemeente/{data.municipality_id}/rapport.csv?kwartaal={quarters[-1]}" in admin.pages
    check_crawl(admin, data, "admin")
    assert viewer.endpoints | admin.endpoints == municipality_endpoints, "a municipality page was not crawled"

    for ring in (data.big_ring, data.small_ring):
        preview = f"/kring/{ring['slug']}/beheer/gemeente-voorbeeld"
        coordinator = crawl(app, client_as(app, ring["coordinator_id"]), preview, (preview,))
        assert len(coordinator.pages) == 1 + report.TREND_QUARTERS
        check_crawl(coordinator, data, f"coordinator of {ring['slug']}")
        # The preview shows exactly what the gemeente sees.
        for key in quarters:
            assert html_tables(coordinator.pages[f"{preview}?kwartaal={key}"])[0] == \
                html_tables(viewer.pages[f"/gemeente/?kwartaal={key}"])[0]


def test_the_data_set_tempts_every_rule(app, dataset):
    """The traps are really there, so the crawl above tests something."""
    data = dataset
    ring_ids = [data.big_ring["id"], data.small_ring["id"]]
    q1 = metrics.Period.quarter(2026, 1)
    wijken = {group: (members, active) for group, members, active in metrics.participation_by_group(ring_ids, q1)}
    assert wijken["Kleinhoven"] == (3, 2) and all(members >= 5 for group, (members, _) in wijken.items()
                                                  if group != "Kleinhoven")
    assert metrics.activity([data.big_ring["id"]], q1).active >= 20
    assert 0 < metrics.activity([data.small_ring["id"]], q1).active < 20
    categories = metrics.trades_by_category(ring_ids, q1)
    assert {name for name, care, _, _ in categories if care} == {"Mantelzorg", "Thuishulp bij ziekte",
                                                                  "Zorg en gezondheid"}
    client = client_as(app, data.viewer_id)
    html = client.get("/gemeente/?kwartaal=2026-1").get_data(as_text=True)
    tables = {table.key: table for table in html_tables(html)[0]}
    wijk_rows = {row[0]: row for row in tables["participation_wijk"].rows}
    assert wijk_rows["Kleinhoven"][1] == "<5" and wijk_rows["Polder"][1] == "<5"  # hidden as the next smallest
    assert [row[0] for row in tables["core"].rows] == ["Hele gemeente"]
    categories = {row[0]: row for row in tables["categories"].rows}
    assert categories["Zorg en gezondheid"][1] == "5"  # 3 + 2 + 1 trades, merged


def test_a_gemeente_viewer_reaches_no_ring_page(app, dataset):
    data = dataset
    client = client_as(app, data.viewer_id)
    adapter = app.url_map.bind(app.config["SERVER_NAME"])
    checked = 0
    for rule in app.url_map.iter_rules():
        if "ring_slug" not in rule.arguments:
            continue
        if getattr(app.view_functions[rule.endpoint], "is_public", False):
            continue  # the ring's public page and sign-up are for everyone
        values = {}
        for name, converter in rule._converters.items():
            choices = getattr(converter, "items", None)  # an any(...) argument
            values[name] = sorted(choices)[0] if choices else 1
        values.update(ring_slug=data.big_ring["slug"])
        path = adapter.build(rule.endpoint, values)
        for method in ("GET", "POST"):
            if method in rule.methods:
                response = client.open(path, method=method, data={})
                assert response.status_code == 404, f"{method} {path}: {response.status_code}"
                checked += 1
    assert checked > 50


def test_a_gemeente_viewer_sees_only_their_own_gemeente(app, dataset):
    data = dataset
    client = client_as(app, data.viewer_id)
    for path in (f"/gemeente/{data.other_municipality_id}/", f"/gemeente/{data.other_municipality_id}/rapport",
                 f"/gemeente/{data.other_municipality_id}/rapport.csv", f"/gemeente/{data.municipality_id}/",
                 "/gemeente/overzicht"):
        assert client.get(path).status_code == 404, path
    assert "Gemeente Lekdijk" in client.get("/gemeente/").get_data(as_text=True)


def test_an_admin_opens_any_gemeente(app, dataset):
    data = dataset
    client = client_as(app, data.admin_id)
    overview = client.get("/gemeente/overzicht").get_data(as_text=True)
    for municipality_id, name in ((data.municipality_id, "Gemeente Lekdijk"),
                                  (data.other_municipality_id, "Gemeente Elders")):
        assert f'href="/gemeente/{municipality_id}/"' in overview
        for page in ("", "rapport", "rapport.csv"):
            response = client.get(f"/gemeente/{municipality_id}/{page}")
            assert response.status_code == 200, page
            assert name in response.get_data(as_text=True) or page == "rapport.csv"
    # An admin has no gemeente of their own.
    assert client.get("/gemeente/").status_code == 404
