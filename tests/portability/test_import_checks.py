"""Rows the database would refuse are problems found while checking: the dry run reports
them with file and line, and the real run writes nothing and raises nothing. Also the
checks on reversals that name the transfer they reverse, and on disputes."""

import pytest
from sqlalchemy import select

from ruilkring.disputes.models import Dispute, DisputeStatus, EventKind
from ruilkring.extensions import db
from ruilkring.ledger.models import Transfer, TransferKind
from ruilkring.listings.models import Listing
from ruilkring.portability import importer
from ruilkring.portability.formats import generic
from tests.helpers import count
from tests.portability.helpers import members_by_name, run, snapshot

MEMBERS = "id,name,email\n1,Anja Bakker,anja@example.org\n2,Bas de Wit,bas@example.org\n"
BAD_ROWS = {
    "a phone longer than its column": (
        {"members.csv": "id,name,email,phone\n1,Anja,anja@example.org,030-1111111\n2,Bas,bas@example.org,"
                        + "0" * 41 + "\n"},
        ("members.csv", 3), "Het telefoonnummer is 41 tekens lang; er passen er hoogstens 40."),
    "an address longer than its column": (
        {"members.csv": "id,name,email,address\n1,Anja,anja@example.org," + "a" * 201 + "\n"},
        ("members.csv", 2), "Het adres is 201 tekens lang; er passen er hoogstens 200."),
    "a name longer than its column": (
        {"members.csv": "id,name,email\n1," + "n" * 121 + ",anja@example.org\n"},
        ("members.csv", 2), "De naam is 121 tekens lang; er passen er hoogstens 120."),
    "a category name longer than its column": (
        {"members.csv": MEMBERS, "listings.csv": "id,owner_id,kind,title,category\nl1,1,offer,Tuinhulp,"
                                                 + "c" * 61 + "\n"},
        ("listings.csv", 2), "De naam van de categorie is 61 tekens lang; er passen er hoogstens 60."),
    "a NUL character in a cell": (
        {"members.csv": "id,name,email\n1,Anja,anja@example.org\n2,Nul\x00Naam,nul@example.org\n"},
        ("members.csv", 3), "Deze regel bevat een NUL-teken"),
    "a limit past PostgreSQL's integer": (
        {"members.csv": "id,name,email,min_balance_minutes,max_balance_minutes\n"
                        "1,Anja,anja@example.org,-60,60\n2,Bas,bas@example.org,,3000000000\n"},
        ("members.csv", 3), "De bovengrens 3000000000 kan niet kloppen: het getal is te groot om op te slaan."),
    "a listing created on 9999-12-31": (
        {"members.csv": MEMBERS, "listings.csv": "id,owner_id,kind,title,created_on\nl1,1,offer,Iets,9999-12-31\n"},
        ("listings.csv", 2), ("Datum van plaatsen 9999-12-31 kan niet kloppen: een datum moet tussen 1970 "
                              "en 2100 liggen.")),
    "a transfer on 0001-01-01": (
        {"members.csv": MEMBERS, "transfers.csv": "id,occurred_on,payer_id,payee_id,amount_minutes\n"
                                                  "t1,2024-01-01,1,2,60\nt2,0001-01-01,2,1,30\n"},
        ("transfers.csv", 3), "Datum 0001-01-01 kan niet kloppen"),
    "a member joined in 2200": (
        {"members.csv": "id,name,email,joined_on\n1,Anja,anja@example.org,2200-01-01\n"},
        ("members.csv", 2), "Datum van toelating 2200-01-01 kan niet kloppen"),
}


def write(folder, files: dict[str, str]) -> list:
    paths = []
    for name, content in files.items():
        (folder / name).write_text(content, encoding="utf-8")
        paths.append(folder / name)
    return paths


@pytest.mark.parametrize("kind", list(BAD_ROWS))
def test_a_row_the_database_would_refuse_is_a_problem_in_the_dry_run_and_the_real_run(target, coby,  # noqa: F811
                                                                                      tmp_path, kind):
    files, (file, line), phrase = BAD_ROWS[kind]
    paths = write(tmp_path, files)
    before = snapshot()

    for dry_run in (True, False):
        report = run(target, coby, paths=paths, dry_run=dry_run)

        assert [(problem.file.rsplit("/", 1)[-1], problem.line) for problem in report.problems] == [(file, line)]
        assert phrase in report.problems[0].message
        assert not report.written
        assert snapshot() == before


TRANSFERS = "id,occurred_on,payer_id,payee_id,amount_minutes,kind,reverses_id,reason\n"


def test_a_reversal_naming_its_original_is_booked_as_a_reversal(target, coby, tmp_path):  # noqa: F811
    paths = write(tmp_path, {"members.csv": MEMBERS, "transfers.csv": TRANSFERS
                             + "t1,2024-01-01,1,2,60,trade,,\nt2,2024-01-02,2,1,60,reversal,t1,Dubbel geboekt\n"
                             + "t3,2024-01-03,1,2,15,reversal,,Oud systeem\n"})

    report = run(target, coby, paths=paths)

    assert report.problems == [] and report.written
    trade, reversal, correction = db.session.scalars(select(Transfer).order_by(Transfer.id))
    assert (reversal.kind, reversal.reverses_id, reversal.reason) == (TransferKind.REVERSAL, trade.id,
                                                                      "Dubbel geboekt")
    assert (correction.kind, correction.reason) == (TransferKind.CORRECTION, "Oud systeem")
    # Imported again with one more reversal of the same transfer: refused.
    (tmp_path / "transfers.csv").write_text(TRANSFERS + "t4,2024-01-05,2,1,60,reversal,t1,\n")

    report = run(target, coby, paths=paths, dry_run=True)

    assert [(p.line, p.message) for p in report.problems] == [(2, "Transactie t1 is al teruggeboekt.")]


def test_reversals_that_cannot_be_booked_are_problems(target, coby, tmp_path):  # noqa: F811
    paths = write(tmp_path, {"members.csv": MEMBERS, "transfers.csv": TRANSFERS
                             + "t1,2024-01-02,1,2,60,trade,,\n"
                             + "t2,2024-01-01,2,1,60,reversal,t1,\n"  # before its original
                             + "t3,2024-01-03,2,1,60,reversal,t1,\n"
                             + "t4,2024-01-03,2,1,60,reversal,t1,\n"  # t1 twice
                             + "t5,2024-01-03,2,1,60,correction,t1,\n"})
    before = snapshot()

    for dry_run in (True, False):
        report = importer.import_run(ring=target, batch=generic.read(paths), imported_by=coby.user,
                                     dry_run=dry_run)

        assert [(p.line, p.message) for p in report.problems] == [
            (3, "Transactie t1, die hier wordt teruggeboekt, staat er niet vóór deze terugboeking in."),
            (5, "Transactie t1 wordt al teruggeboekt op regel 4."),
            (6, "Alleen een terugboeking (reversal) kan een transactie terugboeken (reverses_id)."),
        ]
        assert snapshot() == before and count(Transfer) == 0


def test_a_transfer_keeps_the_listing_it_was_for(target, coby, tmp_path):  # noqa: F811
    header = "id,occurred_on,payer_id,payee_id,amount_minutes,listing_id\n"
    paths = write(tmp_path, {"members.csv": MEMBERS, "listings.csv": "id,owner_id,kind,title\nl1,1,offer,Fietsen\n",
                             "transfers.csv": header + "t1,2024-01-01,2,1,60,l1\nt2,2024-01-02,2,1,30,l9\n"})

    assert run(target, coby, paths=paths).problems == []

    listing = db.session.scalar(select(Listing))
    assert [t.listing_id for t in db.session.scalars(select(Transfer).order_by(Transfer.id))] == [listing.id, None]
    # Run again with one more transfer for it: the listing is found again, not made twice.
    (tmp_path / "transfers.csv").write_text(header + "t1,2024-01-01,2,1,60,l1\nt2,2024-01-02,2,1,30,l9\n"
                                            "t3,2024-01-03,2,1,15,l1\n")

    report = run(target, coby, paths=paths)

    assert report.problems == [] and (report.listings_already, report.transfers_new) == (1, 1)
    assert db.session.scalar(select(Transfer).where(Transfer.amount == 15)).listing_id == listing.id


DISPUTES = "id,transfer_id,opened_by_id,reason,asked,status,mediator_name,created_at,closed_at\n"
EVENTS = "dispute_id,kind,author_name,body,private,created_at\n"


def test_disputes_come_with_their_timeline_and_only_once(target, coby, tmp_path):
    paths = write(tmp_path, {
        "members.csv": MEMBERS,
        "transfers.csv": TRANSFERS + "t1,2024-01-01,1,2,60,trade,,\nt2,2024-01-02,2,1,30,trade,,\n",
        "disputes.csv": DISPUTES + "d1,t1,1,not_delivered,talk,in_mediation,bas de wit,2024-01-03T09:00:00+00:00,\n"
                                   "d2,t2,2,other,talk,withdrawn,,2024-01-04 10:00:00,2024-01-05T10:00:00Z\n",
        "dispute_events.csv": EVENTS + "d1,opened,Anja Bakker,Niet gekomen,false,2024-01-03T09:00:00+00:00\n"
                                       "d1,note,Bas de Wit,Bellen,false,2024-01-06T09:00:00+00:00\n"
                                       "d2,withdrawn,,,false,2024-01-05T10:00:00+00:00\n",
    })

    report = run(target, coby, paths=paths)

    assert report.problems == [] and report.disputes_new == 2
    assert "Geschillen: 2 nieuw, 0 al geïmporteerd." in report.lines()
    first, second = db.session.scalars(select(Dispute).order_by(Dispute.id))
    people = members_by_name(target)
    assert (first.transfer.amount, first.opened_by_id, first.status, first.mediator_id) == (
        60, people["Anja Bakker"].id, DisputeStatus.IN_MEDIATION, people["Bas de Wit"].user_id)
    assert first.last_activity_at.isoformat() == "2024-01-06T09:00:00+00:00"
    assert [(e.kind, e.author_id, e.body, e.private) for e in first.events] == [
        (EventKind.OPENED, people["Anja Bakker"].user_id, "Niet gekomen", False),
        (EventKind.NOTE, people["Bas de Wit"].user_id, "Bellen", True)]  # a note is private, whatever the file says
    # A moment without a time zone is UTC, as the export writes them.
    assert (second.created_at.isoformat(), second.closed_at.isoformat()) == (
        "2024-01-04T10:00:00+00:00", "2024-01-05T10:00:00+00:00")
    assert [(e.kind, e.author_id) for e in second.events] == [(EventKind.WITHDRAWN, None)]

    again = run(target, coby, paths=paths)

    assert again.problems == [] and (again.disputes_new, again.disputes_already) == (0, 2)
    assert count(Dispute) == 2


def test_disputes_that_cannot_be_imported_are_problems(target, coby, tmp_path):
    paths = write(tmp_path, {
        "members.csv": MEMBERS + "3,Anja Bakker,anja2@example.org\n",
        "transfers.csv": TRANSFERS + "t1,2024-01-01,1,2,60,trade,,\n",
        "disputes.csv": DISPUTES
        + "d1,t1,1,other,talk,open,,2024-01-03T09:00:00+00:00,\n"
        + "d2,t1,2,other,talk,open,,2024-01-03T10:00:00+00:00,\n"  # a second open one
        + "d3,t9,1,other,talk,resolved,,2024-01-03T09:00:00+00:00,\n"
        + "d4,t1,@pot,other,talk,resolved,,2024-01-03T09:00:00+00:00,\n"
        + "d5,t1,1,boos,talk,resolved,,2024-01-03T09:00:00+00:00,\n"
        + "d6,t1,1,other,talk,resolved,Onbekend Persoon,2024-01-03T09:00:00+00:00,\n"
        + "d7,t1,1,other,talk,resolved,Anja Bakker,2024-01-03T09:00:00+00:00,\n"  # two members of that name
        + "d8,t1,1,other,talk,resolved,,gisteren,\n"
        + "d1,t1,1,other,talk,resolved,,2024-01-03T09:00:00+00:00,\n"
        + "d9,,1,other,talk,resolved,,2024-01-03T09:00:00+00:00,\n"  # no transfer
        + "d10,t1,3,other,talk,resolved,,2024-01-03T09:00:00+00:00,\n"  # not a party to t1
        + "d11,t1,1,other,talk,resolved,,0001-01-01T00:00:00+01:00,\n",  # before the calendar in UTC
        "dispute_events.csv": EVENTS + "d99,opened,,,false,2024-01-03T09:00:00+00:00\n"
                                       "d1,shout,,,false,2024-01-03T09:00:00+00:00\n",
    })
    before = snapshot()

    for dry_run in (True, False):
        report = run(target, coby, paths=paths, dry_run=dry_run)

        assert [(p.file.rsplit("/", 1)[-1], p.line, p.message) for p in report.problems] == [
            ("dispute_events.csv", 2, "Geschil d99 staat niet in disputes.csv."),
            ("dispute_events.csv", 3, ("Soort stap 'shout' bestaat niet; kies uit opened, response, message, note, "
                                       "taken, assigned, resolved, withdrawn.")),
            ("disputes.csv", 3, ("Over transactie t1 loopt al een geschil (regel 2); er kan er één tegelijk open "
                                 "zijn.")),
            ("disputes.csv", 4, "Transactie t9 staat niet in transfers.csv."),
            ("disputes.csv", 5, "Een geschil begint bij een lid, niet bij @pot."),
            ("disputes.csv", 6, ("Reden 'boos' bestaat niet; kies uit not_delivered, wrong_amount, not_agreed, "
                                 "other.")),
            ("disputes.csv", 7, ("Bemiddelaar 'Onbekend Persoon' is geen lid van de kring en staat niet in het "
                                 "ledenbestand; laat het veld leeg of voeg het lid toe.")),
            ("disputes.csv", 8, "Bemiddelaar 'Anja Bakker': er zijn 2 leden met die naam; laat het veld leeg."),
            ("disputes.csv", 9, ("Moment van openen 'gisteren' is geen moment; schrijf bijvoorbeeld "
                                 "2024-03-15T10:20:00+00:00.")),
            ("disputes.csv", 10, "Geschil d1 staat er twee keer in."),
            ("disputes.csv", 11, "Het nummer van de betwiste transactie (transfer_id) ontbreekt."),
            ("disputes.csv", 12, ("Lid 3 betaalde of ontving transactie t1 niet en kan er dus geen geschil over "
                                  "beginnen.")),
            ("disputes.csv", 13, ("Moment van openen '0001-01-01T00:00:00+01:00' is geen moment; schrijf "
                                  "bijvoorbeeld 2024-03-15T10:20:00+00:00.")),
        ]
        assert snapshot() == before


def test_disputes_need_the_transfers_they_are_about(target, coby, tmp_path):
    paths = write(tmp_path, {"members.csv": MEMBERS,
                             "disputes.csv": DISPUTES + "d1,t1,1,other,talk,open,,2024-01-03T09:00:00+00:00,\n"})

    report = run(target, coby, paths=paths, dry_run=True)

    assert [(p.line, p.message) for p in report.problems] == [(2, "Transactie t1 staat niet in transfers.csv.")]
