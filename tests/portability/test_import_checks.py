"""Rows the database would refuse are problems found while checking: the dry run reports
them with file and line, and the real run writes nothing and raises nothing. Also the
checks on reversals that name the transfer they reverse."""

import pytest
from sqlalchemy import select

from ruilkring.extensions import db
from ruilkring.ledger.models import Transfer, TransferKind
from ruilkring.listings.models import Listing
from ruilkring.portability import importer
from ruilkring.portability.formats import generic
from tests.helpers import count
from tests.portability.helpers import run, snapshot

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
