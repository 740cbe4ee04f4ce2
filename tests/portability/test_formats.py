"""The readers of other systems' exports (eLAS/eLAND and TimeOverflow): the sample files
read into exact records, every bad row becomes a problem on its real line, encodings and
delimiters, and the shared parsing of Dutch numbers and dates. Only the last tests, which
import the samples through the command line, use the database."""

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from ruilkring.extensions import db
from ruilkring.ledger.models import Account, AccountKind, Transfer
from ruilkring.listings.models import Listing, ListingKind
from ruilkring.members.models import MemberRole, MemberStatus
from ruilkring.portability.formats import elas, timeoverflow
from ruilkring.portability.formats.csvfile import RowError, parse_date, parse_number
from ruilkring.portability.records import SYSTEM_POT, Problem
from tests.portability.helpers import cli, members_by_name

DATA = Path(__file__).resolve().parent.parent / "data" / "import"
ELAS = DATA / "elas"
ELAS_USERS = ELAS / "elas-users-2024-05-01-10-15-02.csv"
ELAS_CONTACTS = ELAS / "elas-contacts-2024-05-01-10-15-09.csv"
ELAS_TRANSACTIONS = ELAS / "elas-transactions-2024-05-01-10-15-20.csv"
ELAS_MESSAGES = ELAS / "elas-messages-2024-05-01-10-15-31.csv"
ELAS_EXCEL = ELAS / "elas-transactions-2015-excel.csv"
ELAS_SAMPLE = [ELAS_USERS, ELAS_CONTACTS, ELAS_TRANSACTIONS, ELAS_MESSAGES, ELAS_EXCEL]
TO = DATA / "timeoverflow"
TO_USERS = TO / "Tijdbank Zuid_Gebruikers_2024-05-01.csv"
TO_TRANSFERS = TO / "Tijdbank Zuid_Overboekingen_2024-05-01.csv"
TO_OFFERS = TO / "Tijdbank Zuid_Aanbiedingen_2024-05-01.csv"
TO_INQUIRIES = TO / "Tijdbank Zuid_Verzoeken_2024-05-01.csv"
TO_SAMPLE = [TO_USERS, TO_TRANSFERS, TO_OFFERS, TO_INQUIRIES]


def by_id(records) -> dict:
    return {record.source_id: record for record in records}


def where(problems: list[Problem]) -> list[tuple[str, int]]:
    """(file name, line) of each problem, in the order found."""
    return [(Path(problem.file).name, problem.line) for problem in problems]


def without_file(records) -> list[dict]:
    """The records' fields except the file they came from, to compare copies of a file."""
    return [
        {name: getattr(record, name) for name in record.__slots__ if name != "file"}
        for record in records
    ]


def rewrite(source: Path, target: Path, *, encoding: str, delimiter: str) -> Path:
    """``source`` as a spreadsheet would save it again: another encoding and delimiter."""
    with source.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    with target.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return target


# eLAS / eLAND


def test_elas_users_and_contacts_become_members():
    batch = elas.read([ELAS_USERS, ELAS_CONTACTS])

    assert batch.format == "elas" and batch.problems == []
    members = by_id(batch.members)
    assert list(members) == ["A01", "A02", "A03", "A04", "A05", "A06", "A07"]
    anna = members["A01"]
    assert (anna.name, anna.email, anna.phone, anna.address) == (
        "Anna De Smet",
        "anna.desmet@telenet.be",
        "0475 12 34 56",
        "Kortrijksesteenweg 12, 9000 Gent",
    )
    assert (anna.role, anna.status, anna.joined_on) == ("coordinator", "active", date(2018, 3, 5))
    # Limits are in units of the ring's currency: 60 minutes each by default.
    assert (anna.min_balance, anna.max_balance, anna.balance) == (-1200, 2400, None)
    assert [members[code].status for code in members] == [
        MemberStatus.ACTIVE,
        MemberStatus.ACTIVE,
        MemberStatus.LEAVING,
        MemberStatus.INACTIVE,
        MemberStatus.ACTIVE,
        MemberStatus.ACTIVE,
        MemberStatus.PENDING,
    ]
    # Bert's comment has a line break inside quotes: Carla's row starts on line 5.
    assert [members[code].line for code in members] == [2, 3, 5, 6, 7, 8, 9]
    # Els has no e-mail, only a phone and an address; the member still comes along.
    els = members["A05"]
    assert (els.email, els.phone, els.address) == (
        "",
        "09 225 11 22",
        "Sint-Pietersplein 3, 9000 Gent",
    )
    # Fatima's first e-mail address wins; she has no personal limits.
    fatima = members["A06"]
    assert (fatima.email, fatima.min_balance, fatima.max_balance) == (
        "fatima.elamrani@gmail.com",
        None,
        None,
    )
    # Without an activation date the creation date is when Guido joined.
    assert members["A07"].joined_on == date(2024, 4, 25) and members["A07"].email == ""


def test_elas_transactions_become_transfers_in_minutes():
    batch = elas.read([ELAS_TRANSACTIONS])

    assert batch.problems == [] and len(batch.transfers) == 12
    first = batch.transfers[0]
    assert (
        first.line,
        first.source_id,
        first.occurred_on,
        first.payer_id,
        first.payee_id,
        first.amount,
        first.description,
    ) == (
        2,
        "c41f0b2e9a77_3@letsgent.be",
        date(2024, 4, 28),
        "A01",
        "A02",
        120,
        "Lift naar Brussel",
    )
    # A description with a line break spans lines 7 and 8; the next row is on line 9.
    moving, next_one = batch.transfers[5], batch.transfers[6]
    assert (moving.line, moving.description) == (
        7,
        "Verhuis helpen:\ndozen dragen en de bestelwagen",
    )
    assert (next_one.line, next_one.source_id) == (9, "3e9a1b7c5d40_1@letsgent.be")
    assert sum(t.amount for t in batch.transfers) == 24 * 60


@pytest.mark.parametrize("option, amount", [(1, 2), ("15", 30), ("60", 120)])
def test_elas_units_are_converted_with_minutes_per_unit(option, amount):
    batch = elas.read([ELAS_TRANSACTIONS, ELAS_USERS], minutes_per_unit=option)

    assert batch.transfers[0].amount == amount
    assert by_id(batch.members)["A01"].min_balance == -20 * int(option)


@pytest.mark.parametrize("option", ["0", "een uur", "-5", "1,5"])
def test_elas_a_bad_minutes_per_unit_is_a_problem(option):
    batch = elas.read(ELAS_SAMPLE, minutes_per_unit=option)

    assert where(batch.problems) == [("--minutes-per-unit", 0)]
    assert "geen geldig aantal minuten per eenheid" in batch.problems[0].message
    assert batch.members == [] and batch.transfers == []


def test_old_elas_transactions_saved_by_a_spreadsheet_are_read():
    """Letscodes only, no id, Windows-1252, semicolons, "1,5" and HTML-escaped text."""
    batch = elas.read([ELAS_EXCEL])

    assert batch.problems == []
    assert [(t.line, t.payer_id, t.payee_id, t.amount) for t in batch.transfers] == [
        (2, "A02", "A01", 90),
        (3, "A01", "A03", 120),
        (4, "A03", "A02", 30),
    ]
    assert [t.description for t in batch.transfers[:2]] == [
        "Hulp bij de barbecue & afwas",
        "Crème brûlée voor het feest",
    ]
    # Ids are made from the row, the same on every run and different per row.
    ids = [t.source_id for t in batch.transfers]
    assert ids == [t.source_id for t in elas.read([ELAS_EXCEL]).transfers] and len(set(ids)) == 3


def test_elas_identical_rows_without_id_get_their_own_ids(tmp_path):
    path = tmp_path / "elas-transactions.csv"
    path.write_text(
        '"Datum","Van","Aan","Bedrag","Dienst"\n' + '"2015-01-01","A01","A02","1","Soep"\n' * 2
    )

    first, second = elas.read([path]).transfers

    assert second.source_id == f"{first.source_id}-2"


def test_elas_messages_become_listings():
    batch = elas.read([ELAS_MESSAGES])

    assert batch.problems == []
    assert [(listing.owner_id, listing.kind, listing.title) for listing in batch.listings] == [
        ("A01", "offer", "Soep en stoofpot op bestelling"),
        ("A02", "offer", "Fietsherstellingen"),
        ("A05", "request", "Wie helpt mij met mijn computer?"),
        ("A06", "offer", "Naailessen voor beginners"),
        ("A03", "request", "Gezocht: hulp bij behangen"),
    ]
    soup = batch.listings[0]
    assert (soup.line, soup.created_on, soup.valid_until, soup.category) == (
        2,
        date(2024, 3, 1),
        date(2024, 9, 1),
        "",
    )
    assert len({listing.source_id for listing in batch.listings}) == 5


def test_elas_bad_rows_are_problems_on_their_lines():
    bad = ELAS / "bad"
    batch = elas.read(
        [
            bad / "elas-users-bad.csv",
            bad / "elas-contacts-bad.csv",
            bad / "elas-transactions-bad.csv",
            bad / "elas-messages-bad.csv",
            bad / "elas-categories.csv",
            bad / "ledenlijst.csv",
        ]
    )

    messages = {(Path(p.file).name, p.line): p.message for p in batch.problems}
    assert list(messages) == [
        ("elas-users-bad.csv", 3),
        ("elas-users-bad.csv", 4),
        ("elas-users-bad.csv", 5),
        ("elas-users-bad.csv", 6),
        ("elas-users-bad.csv", 7),
        ("elas-users-bad.csv", 8),
        ("elas-users-bad.csv", 9),
        ("elas-transactions-bad.csv", 3),
        ("elas-transactions-bad.csv", 4),
        ("elas-transactions-bad.csv", 5),
        ("elas-transactions-bad.csv", 6),
        ("elas-transactions-bad.csv", 7),
        ("elas-transactions-bad.csv", 8),
        ("elas-transactions-bad.csv", 9),
        ("elas-messages-bad.csv", 3),
        ("elas-messages-bad.csv", 4),
        ("elas-messages-bad.csv", 5),
        ("elas-messages-bad.csv", 6),
        ("ledenlijst.csv", 1),
        ("elas-contacts-bad.csv", 3),
        ("elas-contacts-bad.csv", 4),
    ]
    assert messages["elas-users-bad.csv", 3] == "De letscode ontbreekt."
    assert "Letscode 'B01' staat ook al op regel 2" in messages["elas-users-bad.csv", 4]
    assert messages["elas-users-bad.csv", 5].startswith("Status '9' is onbekend")
    assert messages["elas-users-bad.csv", 6].startswith("Rol 'superuser' is onbekend")
    assert (
        messages["elas-users-bad.csv", 7]
        == "Minimumlimiet 'veel' is geen getal; schrijf bijvoorbeeld 2 of 1,5."
    )
    assert (
        messages["elas-users-bad.csv", 8] == "Activeringsdatum '2020-02-30 00:00:00' bestaat niet."
    )
    assert messages["elas-users-bad.csv", 9] == "Gebruiker 'B06' heeft geen naam."
    assert messages["elas-transactions-bad.csv", 3] == "Datum '31-02-2024' bestaat niet."
    assert messages["elas-transactions-bad.csv", 4].startswith("Datum 'gisteren' is geen datum")
    assert messages["elas-transactions-bad.csv", 5].startswith("Bedrag 'twee' is geen getal")
    assert messages["elas-transactions-bad.csv", 6] == "Bedrag '0' moet groter dan nul zijn."
    assert messages["elas-transactions-bad.csv", 7] == "In kolom Van staat geen letscode."
    assert messages["elas-transactions-bad.csv", 8].startswith(
        "Deze regel heeft 9 velden, de kopregel 8."
    )
    assert messages["elas-transactions-bad.csv", 9] == (
        "Bedrag '1,33' is geen geheel aantal minuten (79.80 minuten)."
    )
    assert messages["elas-messages-bad.csv", 3].startswith("Soort '2' is onbekend")
    assert messages["elas-messages-bad.csv", 4] == "De tekst (content) is leeg."
    assert messages["elas-messages-bad.csv", 5].startswith(
        "Geldig tot 'volgend jaar' is geen datum"
    )
    assert messages["elas-messages-bad.csv", 6] == "De letscode ontbreekt."
    assert messages["ledenlijst.csv", 1].startswith("Niet herkend als eLAS/eLAND-export")
    assert (
        messages["elas-contacts-bad.csv", 3]
        == "Letscode 'Z99' staat niet in de export van de gebruikers."
    )
    assert (
        messages["elas-contacts-bad.csv", 4] == "E-mailadres 'hanne at home' van 'B01' is ongeldig."
    )
    # The good rows still arrive; the categories export is passed over.
    assert [m.source_id for m in batch.members] == ["B01"] and batch.members[
        0
    ].email == "hanne.pauwels@gmail.com"
    assert [t.source_id for t in batch.transfers] == ["ok_1@letsgent.be", "ok_2@letsgent.be"]
    assert [listing.title for listing in batch.listings] == ["Appeltaart"]


def test_contacts_without_users_are_one_problem():
    batch = elas.read([ELAS_CONTACTS])

    assert where(batch.problems) == [(ELAS_CONTACTS.name, 0)]
    assert "zonder de export van de gebruikers" in batch.problems[0].message


@pytest.mark.parametrize(
    "encoding, delimiter", [("utf-8-sig", ";"), ("cp1252", ";"), ("utf-8", "\t")]
)
def test_elas_files_in_other_encodings_and_delimiters_read_the_same(tmp_path, encoding, delimiter):
    original = elas.read([ELAS_USERS, ELAS_CONTACTS, ELAS_TRANSACTIONS])
    copies = [
        rewrite(path, tmp_path / path.name, encoding=encoding, delimiter=delimiter)
        for path in (ELAS_USERS, ELAS_CONTACTS, ELAS_TRANSACTIONS)
    ]

    batch = elas.read(copies)

    assert batch.problems == []
    assert without_file(batch.members) == without_file(original.members)
    assert without_file(batch.transfers) == without_file(original.transfers)


def test_missing_and_empty_files_are_problems(tmp_path):
    empty = tmp_path / "leeg.csv"
    empty.write_bytes(b"")

    batch = elas.read([tmp_path / "weg.csv", empty])

    assert [(p.line, p.message) for p in batch.problems] == [
        (0, "Bestand niet gevonden."),
        (
            0,
            "Het bestand is leeg of begint met een lege regel; de eerste regel moet de kolomnamen bevatten.",
        ),
    ]
    assert batch.problems[0].file == str(tmp_path / "weg.csv")


def test_a_file_with_a_bom_stays_utf8_even_with_a_broken_byte(tmp_path):
    path = tmp_path / "elas-transactions.csv"
    path.write_bytes(
        b'\xef\xbb\xbf"Datum","Van","Aan","Bedrag","Dienst"\r\n"2015-01-01","A01","A02","1","Cr\xe8me"\r\n'
    )

    (transfer,) = elas.read([path]).transfers

    assert transfer.description == "Cr\ufffdme"


# TimeOverflow


def test_timeoverflow_users_become_members_with_balances():
    batch = timeoverflow.read([TO_USERS])

    assert batch.format == "timeoverflow" and batch.problems == []
    members = by_id(batch.members)
    assert list(members) == ["1", "2", "3", "4", "5"]
    assert [members[n].balance for n in members] == [165, 15, -225, 60, 0]  # seconds / 60
    anna = members["1"]
    assert (anna.line, anna.name, anna.email, anna.phone, anna.status, anna.role) == (
        2,
        "Anna Jansen",
        "anna.jansen@kpnmail.nl",
        "06 12345678",
        "active",
        "member",
    )
    assert members["2"].phone == "020 6123456"  # the alternative number when there is no other
    assert members["3"].email == ""  # no e-mail in TimeOverflow
    assert members["5"].email == ""  # TimeOverflow's placeholder for "no e-mail"
    # Created 23:30 UTC on 31 January is 1 February in Amsterdam.
    assert (anna.joined_on, members["4"].joined_on) == (date(2022, 3, 1), date(2023, 2, 1))


def test_timeoverflow_transfers_become_transfers_in_minutes():
    batch = timeoverflow.read([TO_TRANSFERS])

    assert batch.problems == [] and len(batch.transfers) == 12
    rows = [
        (t.line, t.occurred_on, t.payer_id, t.payee_id, t.amount, t.description)
        for t in batch.transfers
    ]
    assert rows[0] == (2, date(2024, 4, 28), "1", "2", 30, "Fietsband plakken")
    assert rows[2] == (
        4,
        date(2024, 4, 1),
        "3",
        "4",
        75,
        "",
    )  # 23:30 UTC is the next day in Amsterdam
    # The time bank's own account is the ring's pot.
    assert rows[4] == (6, date(2024, 2, 20), SYSTEM_POT, "4", 45, "")
    assert rows[9] == (11, date(2023, 10, 5), "2", SYSTEM_POT, 30, "Bijdrage")
    assert rows[7][5] == "Naaien, zomen en knopen"
    ids = [t.source_id for t in batch.transfers]
    assert len(set(ids)) == 12 and ids == [
        t.source_id for t in timeoverflow.read([TO_TRANSFERS]).transfers
    ]


def renamed(tmp_path: Path) -> Path:
    """The sample's transfers with Anna and the bank itself renamed."""
    copy = tmp_path / TO_TRANSFERS.name
    text = TO_TRANSFERS.read_text(encoding="utf-8-sig")
    copy.write_text(text.replace("Anna Jansen (1)", "Anna de Vries (1)").replace(
        "Tijdbank Zuid", "Tijdbank Zuid-Oost"), encoding="utf-8")
    return copy


def test_timeoverflow_transfer_ids_survive_renaming_a_member(tmp_path):
    original = timeoverflow.read([TO_TRANSFERS]).transfers
    copy = timeoverflow.read([renamed(tmp_path)]).transfers

    assert [t.source_id for t in copy] == [t.source_id for t in original]
    assert without_file(copy) == without_file(original)


def test_timeoverflow_short_and_long_transfer_reports_give_the_same_ids(tmp_path):
    """The same transfers in both reports, two of them identical (numbered in file order)."""
    short = tmp_path / "Tijdbank_Overboekingen_2024-05-01.csv"
    short.write_text(
        "Datum,Van,Naar,Bericht,Aantal\n"
        "2024-04-28 17:45:30 +0200,Anna Jansen (1),Bert Bakker (2),Fietsband,0:30\n"
        "2024-04-12 08:15:00 +0200,Tijdbank,Anna Jansen (1),,1:15\n"
        "2024-04-12 08:15:00 +0200,Tijdbank,Anna Jansen (1),,1:15\n"
        "2024-03-09 10:00:00 +0100,Bert Bakker (2),Tijdbank,Bijdrage,2:00\n"
    )
    long = tmp_path / "Tijdbank_2024-05-01.csv"
    long.write_text(
        "Datum,from,from ID,to,to ID,post,post ID,Reden,quantity\n"
        "2024-04-28 17:45:30 +0200,Anna Jansen (1),1,Bert Bakker (2),2,Fietsband,7,,0.5\n"
        "2024-04-12 08:15:00 +0200,Tijdbank,0,Anna Jansen (1),1,,,Welkom,1.25\n"
        "2024-04-12 08:15:00 +0200,Tijdbank,0,Anna Jansen (1),1,,,Welkom,1.25\n"
        "2024-03-09 10:00:00 +0100,Bert Bakker (2),2,Tijdbank,0,Bijdrage,8,,2.0\n"
    )

    from_short, from_long = timeoverflow.read([short]), timeoverflow.read([long])

    assert from_short.problems == [] and from_long.problems == []
    ids = [t.source_id for t in from_short.transfers]
    assert len(set(ids)) == 4 and ids[2] == f"{ids[1]}-2"
    assert [t.source_id for t in from_long.transfers] == ids
    facts = [(t.occurred_on, t.payer_id, t.payee_id, t.amount) for t in from_short.transfers]
    assert [(t.occurred_on, t.payer_id, t.payee_id, t.amount) for t in from_long.transfers] == facts


def test_timeoverflow_posts_become_listings_with_their_category():
    batch = timeoverflow.read([TO_OFFERS, TO_INQUIRIES])

    assert batch.problems == []
    assert [
        (p.line, p.source_id, p.owner_id, p.kind, p.category, p.title) for p in batch.listings
    ] == [
        (3, "17", "4", "offer", "Computerhulp", "Hulp bij je laptop of telefoon"),
        (5, "12", "2", "offer", "Huis en tuin", "Tuinonderhoud"),
        (6, "21", "2", "offer", "Huis en tuin", "Kleine klussen: lamp ophangen, kraan"),
        (8, "9", "1", "offer", "", "Soep en stoofpot"),  # category "-": none
        (3, "25", "3", "request", "Vervoer", "Iemand die mij naar het ziekenhuis rijdt"),
        (5, "26", "5", "request", "Huis en tuin", "Hulp bij behangen"),
    ]
    assert batch.listings[0].created_on == date(2023, 5, 4)


def test_timeoverflow_in_english_and_the_older_reports(tmp_path):
    """The longer transfers report ("from ID", hours as decimals) and the posts report
    without an id column, with English headers; what they are comes from their shape."""
    transfers = tmp_path / "Bank_2024-05-01.csv"
    transfers.write_text(
        "Date,from,from ID,to,to ID,post,post ID,Reason,quantity\n"
        "2024-04-28 17:45:30 UTC,Anna Jansen (1),1,Time Bank,0,,,Welcome hours,1.5\n"
        "2024-04-27 10:00:00 UTC,inactive_user,inactive_user,Anna Jansen (1),1,Soup,9,,0.25\n"
    )
    offers = tmp_path / "Bank_Offers_2020-01-01.csv"
    offers.write_text(
        'Offer,Tags,User,Created at\n"",Cooking,"","",""\n'
        "Soup,food,Anna Jansen (1),2020-01-01 10:00:00 UTC\n"
    )

    batch = timeoverflow.read([transfers, offers])

    assert [(t.payer_id, t.payee_id, t.amount, t.description) for t in batch.transfers] == [
        ("1", SYSTEM_POT, 90, "Welcome hours")
    ]
    assert where(batch.problems) == [(transfers.name, 3)]
    assert "'inactive_user' in plaats van een lidnummer" in batch.problems[0].message
    assert [(p.kind, p.category, p.title, p.owner_id) for p in batch.listings] == [
        ("offer", "Cooking", "Soup", "1")
    ]
    assert batch.listings[0].source_id  # made from the row


def test_timeoverflow_bad_rows_are_problems_on_their_lines():
    bad = TO / "bad"
    batch = timeoverflow.read(sorted(bad.glob("*.csv")))

    messages = {(Path(p.file).name, p.line): p.message for p in batch.problems}
    assert list(messages) == [
        ("Tijdbank Zuid_Aanbiedingen_fout.csv", 4),
        ("Tijdbank Zuid_Aanbiedingen_fout.csv", 5),
        ("Tijdbank Zuid_Aanbiedingen_fout.csv", 6),
        ("Tijdbank Zuid_Berichten_2024-05-01.csv", 1),
        ("Tijdbank Zuid_Gebruikers_fout.csv", 3),
        ("Tijdbank Zuid_Gebruikers_fout.csv", 4),
        ("Tijdbank Zuid_Gebruikers_fout.csv", 5),
        ("Tijdbank Zuid_Gebruikers_fout.csv", 6),
        ("Tijdbank Zuid_Overboekingen_fout.csv", 3),
        ("Tijdbank Zuid_Overboekingen_fout.csv", 4),
        ("Tijdbank Zuid_Overboekingen_fout.csv", 5),
        ("Tijdbank Zuid_Overboekingen_fout.csv", 6),
        ("Tijdbank Zuid_Overboekingen_fout.csv", 7),
        ("Tijdbank Zuid_Overboekingen_fout.csv", 8),
        ("statistieken.csv", 1),
    ]
    assert (
        messages["Tijdbank Zuid_Aanbiedingen_fout.csv", 4]
        == "Bij 'Fien Mulder' staat geen lidnummer tussen haakjes."
    )
    assert messages["Tijdbank Zuid_Aanbiedingen_fout.csv", 5] == "De titel ontbreekt."
    assert (
        messages["Tijdbank Zuid_Aanbiedingen_fout.csv", 6]
        == "Aangemaakt '2024-13-01 10:00:00 +0100' bestaat niet."
    )
    assert "aanbiedingen of verzoeken" in messages["Tijdbank Zuid_Berichten_2024-05-01.csv", 1]
    assert messages["Tijdbank Zuid_Gebruikers_fout.csv", 3] == "Lidnummer (N) 'abc' is geen getal."
    assert (
        messages["Tijdbank Zuid_Gebruikers_fout.csv", 4]
        == "Saldo '12,5' is geen geheel aantal seconden."
    )
    assert (
        messages["Tijdbank Zuid_Gebruikers_fout.csv", 5]
        == "Saldo '90' seconden is geen geheel aantal minuten."
    )
    assert (
        messages["Tijdbank Zuid_Gebruikers_fout.csv", 6]
        == "Aangemaakt '2023-02-29 10:00:00 +0100' bestaat niet."
    )
    assert messages["Tijdbank Zuid_Overboekingen_fout.csv", 3].startswith(
        "In kolom Van staat 'De gebruiker is niet actief' zonder lidnummer"
    )
    assert messages["Tijdbank Zuid_Overboekingen_fout.csv", 4].startswith(
        "In kolom Naar staat 'De gebruiker bestaat niet meer' zonder lidnummer"
    )
    assert messages["Tijdbank Zuid_Overboekingen_fout.csv", 5].startswith(
        "Datum 'gisteren' is geen datum"
    )
    assert messages["Tijdbank Zuid_Overboekingen_fout.csv", 6].startswith(
        "Aantal 'een uur' is niet te lezen"
    )
    assert messages["Tijdbank Zuid_Overboekingen_fout.csv", 7].startswith(
        "Aantal '—' is niet te lezen"
    )
    assert messages["Tijdbank Zuid_Overboekingen_fout.csv", 8].startswith(
        "Deze regel heeft 4 velden, de kopregel 5."
    )
    assert messages["statistieken.csv", 1].startswith("Niet herkend als TimeOverflow-rapport")
    # The good rows still arrive.
    assert [m.source_id for m in batch.members] == ["7"]
    assert [(t.payer_id, t.payee_id) for t in batch.transfers] == [("7", "10")]
    assert [p.source_id for p in batch.listings] == ["31"]


def test_timeoverflow_files_of_another_shape_are_not_recognised(tmp_path):
    short = tmp_path / "users.csv"
    short.write_text("N,Naam,E-mail\n1,Anna,anna@example.org\n")

    batch = timeoverflow.read([short])

    assert where(batch.problems) == [("users.csv", 1)] and batch.members == []


def test_timeoverflow_time_zone_option():
    assert timeoverflow.read([TO_TRANSFERS], time_zone="UTC").transfers[2].occurred_on == date(
        2024, 3, 31
    )
    batch = timeoverflow.read([TO_TRANSFERS], time_zone="Mars/Olympus")
    assert where(batch.problems) == [("--time-zone", 0)] and batch.transfers == []


def test_timeoverflow_saved_again_by_a_spreadsheet_reads_the_same(tmp_path):
    copies = [
        rewrite(path, tmp_path / path.name, encoding="cp1252", delimiter=";") for path in TO_SAMPLE
    ]

    batch, original = timeoverflow.read(copies), timeoverflow.read(TO_SAMPLE)

    assert batch.problems == []
    assert without_file(batch.members) == without_file(original.members)
    assert [t.source_id for t in batch.transfers] == [t.source_id for t in original.transfers]
    assert len(batch.listings) == 6


# Numbers and dates as people write them


@pytest.mark.parametrize(
    "text, value",
    [
        ("2", "2"),
        ("-20", "-20"),
        ("1,5", "1.5"),
        ("1.5", "1.5"),
        (" 0,25 ", "0.25"),
        ("1.234,5", "1234.5"),
        ("1,234.5", "1234.5"),
        ("1.234.567", "1234567"),
        ("1 234", "1234"),
        ("+3", "3"),
    ],
)
def test_numbers(text, value):
    assert parse_number(text.strip(), "Bedrag") == Decimal(value)


@pytest.mark.parametrize("text", ["", "twee", "1,5,", "1e3", "--1", "1:30"])
def test_not_numbers(text):
    with pytest.raises(RowError, match="is geen getal"):
        parse_number(text, "Bedrag")


@pytest.mark.parametrize(
    "text, day",
    [
        ("2024-03-15", date(2024, 3, 15)),
        ("2024-3-5 10:20:30.123456", date(2024, 3, 5)),
        ("15-03-2024", date(2024, 3, 15)),
        ("5/3/2024 10:20", date(2024, 3, 5)),
        ("15.03.2024", date(2024, 3, 15)),
        ("2024-03-15 23:30:00 UTC", date(2024, 3, 16)),
        ("2024-03-15 23:30:00 +0000", date(2024, 3, 16)),
        ("2024-03-15T22:30:00Z", date(2024, 3, 15)),
        ("2024-03-15 00:30:00 +02:00", date(2024, 3, 14)),
    ],
)
def test_dates(text, day):
    assert parse_date(text, "Datum", time_zone="Europe/Amsterdam") == day


def test_dates_with_a_zone_but_no_ring_time_zone_keep_their_own_date():
    assert parse_date("2024-03-15 23:30:00 UTC", "Datum") == date(2024, 3, 15)


# Importing the samples (database)


def test_the_elas_sample_imports_through_the_command(app, target, coby):
    result = cli(
        app, "--ring", target.slug, "--format", "elas", "--minutes-per-unit", "60", *ELAS_SAMPLE
    )

    assert result.exit_code == 0, result.output
    assert (
        "Leden: 7 nieuw, 0 al lid van de kring (zelfde e-mailadres), 2 zonder e-mailadres."
        in result.output
    )
    assert "Transacties: 15 nieuw, 0 al geïmporteerd." in result.output
    db.session.expire_all()
    members = members_by_name(target)
    names = [
        "Anna De Smet",
        "Bert Peeters",
        "Carla Janssens",
        "Dirk Maes",
        "Els Wouters",
        "Fatima El Amrani",
    ]
    assert [members[name].account.balance for name in names] == [-30, 120, -90, -60, 60, 0]
    anna, els, guido = members["Anna De Smet"], members["Els Wouters"], members["Guido Claes"]
    assert anna.role == MemberRole.COORDINATOR and anna.user.email == "anna.desmet@telenet.be"
    assert (anna.account.min_balance, anna.account.max_balance) == (-1200, 2400)
    assert els.user.email.endswith("@invalid") and els.user.phone == "09 225 11 22"
    assert (
        members["Carla Janssens"].status == MemberStatus.LEAVING
        and guido.status == MemberStatus.PENDING
    )
    assert (
        db.session.scalars(select(Listing.kind).where(Listing.ring_id == target.id))
        .all()
        .count(ListingKind.REQUEST)
        == 2
    )


def test_the_timeoverflow_sample_imports_and_a_rerun_adds_nothing(app, target, coby):
    result = cli(app, "--ring", target.slug, "--format", "timeoverflow", *TO_SAMPLE)

    assert result.exit_code == 0, result.output
    assert "Transacties: 12 nieuw, 0 al geïmporteerd." in result.output
    db.session.expire_all()
    members = members_by_name(target)
    names = ["Anna Jansen", "Bert Bakker", "Carla de Boer", "Dirk Visser", "Els Smit"]
    assert [members[name].account.balance for name in names] == [165, 15, -225, 60, 0]
    pot = db.session.scalar(
        select(Account).where(Account.ring_id == target.id, Account.kind == AccountKind.POT)
    )
    assert pot.balance == -15
    assert db.session.scalar(
        select(Listing.title).where(Listing.ring_id == target.id, Listing.title == "Tuinonderhoud")
    )

    again = cli(app, "--ring", target.slug, "--format", "timeoverflow", *TO_SAMPLE)

    assert again.exit_code == 0, again.output
    assert "Transacties: 0 nieuw, 12 al geïmporteerd." in again.output
    assert "Aanbod en vraag: 0 nieuw, 6 al geïmporteerd." in again.output
    assert (
        len(db.session.scalars(select(Transfer).where(Transfer.ring_id == target.id)).all()) == 12
    )


def test_timeoverflow_rerun_after_a_rename_adds_no_transfers(app, target, coby, tmp_path):
    assert cli(app, "--ring", target.slug, "--format", "timeoverflow", *TO_SAMPLE).exit_code == 0
    files = [renamed(tmp_path) if path == TO_TRANSFERS else path for path in TO_SAMPLE]

    again = cli(app, "--ring", target.slug, "--format", "timeoverflow", "--dry-run", *files)

    assert again.exit_code == 0, again.output
    assert "Transacties: 0 nieuw, 12 al geïmporteerd." in again.output
