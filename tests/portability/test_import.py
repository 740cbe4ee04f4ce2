"""The importer with the generic CSV format: a history and listings, balances only, every
kind of bad row, dry runs, re-runs, the balance check, an interrupted import, the CLI."""

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from ruilkring.audit.models import AuditEvent
from ruilkring.auth.models import User
from ruilkring.disputes.models import Dispute, DisputeOutcome
from ruilkring.extensions import db
from ruilkring.ledger.models import Account, AccountKind, LimitChange, Transfer, TransferKind
from ruilkring.ledger.verify import ledger_verify
from ruilkring.listings.models import Listing, ListingStatus
from ruilkring.members.models import Member, MemberRole, MemberStatus
from ruilkring.portability import importer
from ruilkring.stats.models import Tie
from tests import factories
from tests.helpers import count
from tests.portability.helpers import GENERIC, SAMPLE, cli, members_by_name, run, snapshot


def test_a_history_is_replayed_in_date_order_and_checked(target, coby):
    report = run(target, coby)

    assert report.problems == []
    assert report.written
    assert (report.members_new, report.transfers_new, report.listings_new, report.disputes_new) == (4, 6, 3, 1)
    assert report.categories_new == ["Bijles"]
    members = members_by_name(target)
    anja, bas, cor, dineke = (members[name] for name in ("Anja Bakker", "Bas de Wit", "Cor Visser", "Dineke Mol"))
    assert [m.account.balance for m in (anja, bas, cor, dineke)] == [30, -90, 60, 0]
    assert anja.role == MemberRole.COORDINATOR and anja.neighbourhood.name == "Noord"
    assert anja.user.phone == "030-1111111" and anja.share_email and anja.birth_year == 1960
    assert dineke.status == MemberStatus.LEAVING and dineke.neighbourhood.name == "Noord"  # "noord" matched
    assert anja.approved_at.date().isoformat() == "2021-03-01"
    # Cor has no e-mail: a placeholder nobody can log in with, found again on a re-run.
    assert cor.user.email.endswith("@invalid") and cor.user.password_hash is None
    # Bas's personal limit, with the import as its reason.
    change = db.session.scalar(select(LimitChange).where(LimitChange.account_id == bas.account.id))
    assert (change.new_min_balance, change.reason) == (-1800, "Import uit generic")
    # Date order, whatever the order in the file; the description comes along.
    transfers = db.session.scalars(select(Transfer).where(Transfer.ring_id == target.id).order_by(Transfer.id)).all()
    assert [t.occurred_on.isoformat() for t in transfers] == sorted(t.occurred_on.isoformat() for t in transfers)
    assert transfers[1].description == "Boodschappen"
    # Dineke was already leaving (limits 0 and 0): her historical trade passed them, logged.
    overridden = [t for t in transfers if t.limit_override]
    assert [t.description for t in overridden] == ["Fiets gerepareerd"]
    assert count(AuditEvent, AuditEvent.action == "transfer.limit_override") == 1
    assert count(AuditEvent, AuditEvent.action == "ring.import", AuditEvent.actor_id == coby.user.id) == 1
    assert count(Tie, Tie.ring_id == target.id) == 4
    assert ledger_verify() == []
    # Listings keep their dates and state; the new category was made.
    closed = db.session.scalar(select(Listing).where(Listing.title == "Bijles wiskunde"))
    assert closed.status == ListingStatus.CLOSED and closed.category.name == "Bijles"
    assert closed.created_at.date().isoformat() == "2024-02-01" and closed.owner_id == bas.id
    # The dispute about the soup, with its mediator, its timeline and its moments.
    dispute = db.session.scalar(select(Dispute))
    assert (dispute.transfer.description, dispute.opened_by_id, dispute.mediator_id, dispute.outcome) == (
        "Soep gekookt, twee pannen", bas.id, anja.user_id, DisputeOutcome.AGREEMENT)
    assert dispute.closed_at.isoformat() == dispute.last_activity_at.isoformat() == "2022-07-10T14:00:00+00:00"
    assert [(e.kind.value, e.author_id, e.private) for e in dispute.events] == [
        ("opened", bas.user_id, False), ("taken", anja.user_id, False), ("note", anja.user_id, True),
        ("resolved", anja.user_id, False)]


def test_a_dry_run_reports_the_same_and_changes_nothing(target, coby):
    before = snapshot()

    report = run(target, coby, dry_run=True)

    assert report.problems == [] and not report.written
    assert (report.members_new, report.transfers_new, report.listings_new) == (4, 6, 3)
    assert "Proefdraai: er is niets veranderd." in report.lines()
    assert snapshot() == before


def test_running_again_imports_nothing_new(target, coby):
    run(target, coby)
    db.session.commit()
    after_first = snapshot()

    report = run(target, coby)

    assert report.problems == []
    assert (report.members_new, report.members_matched) == (0, 4)
    assert (report.transfers_new, report.transfers_already) == (0, 6)
    assert (report.listings_new, report.listings_already) == (0, 3)
    assert report.lines()[-1] == "Er was niets nieuw: alles was al geïmporteerd."
    assert snapshot() == after_first | {"AuditEvent": after_first["AuditEvent"] + 1}  # the run itself


def test_a_person_already_on_the_platform_joins_with_their_account(target, coby, stranger):
    stranger.user.email = "anja@example.org"
    db.session.commit()

    run(target, coby)

    anja = members_by_name(target)[stranger.user.name]
    assert anja.user_id == stranger.user_id and stranger.ring_id != target.id


def test_a_member_without_email_is_found_again_members_by_name(target, coby, tmp_path):
    run(target, coby)
    db.session.commit()
    members = tmp_path / "members.csv"
    members.write_text("id,name,email\n77,cor visser,\n78,Nieuw Lid,\n")

    report = run(target, coby, paths=[members])

    assert report.problems == [] and (report.members_matched, report.members_new) == (1, 1)
    assert report.members_matched_by_name == 1
    assert "1 leden zonder e-mailadres zijn op naam herkend" in report.lines()[4]
    for number in (1, 2):  # two more people called Nieuw Lid, neither with an address
        factories.MemberFactory(ring=target, user__name="Nieuw Lid", user__email=f"nieuw{number}@invalid")
    members.write_text("id,name,email\n77,cor visser,\n80,Nieuw Lid,\n79,Cor Visser,\n")  # 80: new id

    report = run(target, coby, paths=[members], dry_run=True)

    assert [(p.line, p.message) for p in report.problems] == [
        (3, "Er zijn al 3 leden zonder e-mailadres met de naam Nieuw Lid; geef dit lid een e-mailadres."),
        (4, "Lid Cor Visser is al herkend op regel 2."),
    ]


def test_balances_arrive_as_opening_transfers(target, coby):
    report = run(target, coby, paths=[GENERIC / "balances" / "members.csv"])

    assert report.problems == [] and report.openings_new == 2  # a zero balance needs none
    members = members_by_name(target)
    assert members["Els Peters"].account.balance == 150
    assert members["Fenna de Boer"].account.balance == -150
    opening = db.session.scalar(select(Account).where(Account.ring_id == target.id,
                                                      Account.kind == AccountKind.OPENING))
    assert opening.balance == 0 and opening.version == 2
    assert {t.kind for t in db.session.scalars(select(Transfer))} == {TransferKind.OPENING}
    assert ledger_verify() == []

    again = run(target, coby, paths=[GENERIC / "balances" / "members.csv"])

    assert (again.openings_new, again.openings_already, again.members_matched) == (0, 2, 3)
    assert count(Transfer) == 2


def test_every_kind_of_bad_row_is_reported_with_its_line_and_nothing_is_written(target, coby):
    before = snapshot()
    paths = [GENERIC / "bad" / "members.csv", GENERIC / "bad" / "transfers.csv", GENERIC / "bad" / "listings.csv"]

    for dry_run in (True, False):
        report = run(target, coby, paths=paths, dry_run=dry_run)
        found = {(Path(p.file).name, p.line): p.message for p in report.problems}
        expected = {
            ("members.csv", 3): "staat er twee keer in",  # the same e-mail, whatever its case
            ("members.csv", 4): "Status 'sleeping' bestaat niet",
            ("members.csv", 5): "Wijk 'Oost' is geen wijk van deze kring",
            ("members.csv", 6): "Geboortejaar 'negentien' is geen heel getal.",
            ("members.csv", 7): "E-mailadres 'frits@' is ongeldig",
            ("members.csv", 8): "Lid 1 staat er twee keer in (ook op regel 2)",
            ("transfers.csv", 2): "Onbekend lid '99'",
            ("transfers.csv", 3): "'2021-13-45' bestaat niet",
            ("transfers.csv", 4): "Bedrag '1:30' is geen heel aantal minuten.",
            ("transfers.csv", 5): "Betaler en ontvanger zijn dezelfde",
            ("transfers.csv", 6): "Bedrag 0 minuten kan niet",
            ("transfers.csv", 7): "Transactie t1 staat er twee keer in",
            ("transfers.csv", 8): "velden, de kopregel 6",
            ("listings.csv", 2): "Onbekend lid '99'",
            ("listings.csv", 3): "Soort 'ruilen' bestaat niet",
            ("listings.csv", 4): "De titel ontbreekt",
        }
        assert found.keys() == expected.keys()
        for where, phrase in expected.items():
            assert phrase in found[where], (where, found[where])
        assert not report.written
        assert report.lines()[-1] == f"{len(expected)} problemen; er is niets geïmporteerd."
        assert snapshot() == before


def test_unknown_files_and_missing_columns_are_problems(target, coby, tmp_path):
    (tmp_path / "leden.csv").write_text("id,name\n1,Anja\n")
    (tmp_path / "transfers.csv").write_text("id,payer_id,payee_id\n1,1,2\n")
    (tmp_path / "export.zip").write_text("not a zip")

    report = run(target, coby, paths=[tmp_path / name for name in ("leden.csv", "transfers.csv", "export.zip")],
                 dry_run=True)

    messages = {(Path(p.file).name, p.line): p.message for p in report.problems}
    assert "Onbekend bestand" in messages[("leden.csv", 0)]
    assert messages[("export.zip", 0)] == "Dit ZIP-bestand kan niet worden gelezen."
    assert messages[("transfers.csv", 1)] == "Kolommen ontbreken: occurred_on, amount_minutes."


def test_a_balance_that_does_not_match_the_history_is_reported_and_refused(target, coby, tmp_path):
    for path in SAMPLE:
        shutil.copy(path, tmp_path)
    members = tmp_path / "members.csv"
    members.write_text(members.read_text().replace(",,,30\n", ",,,45\n"))
    before = snapshot()

    report = run(target, coby, paths=[members, tmp_path / "transfers.csv"])

    [problem] = report.problems
    assert (Path(problem.file).name, problem.line) == ("members.csv", 2)
    assert problem.message == ("Saldo klopt niet: na de import 30 minuten, volgens de bron 45 (verschil -15).")
    assert not report.written and snapshot() == before


def test_an_import_that_fails_half_way_leaves_no_trace(target, coby, monkeypatch):
    before = snapshot()
    real_bulk_load = importer.transfers_bulk_load

    def failing_bulk_load(*, transfers, **kwargs):
        def stream():
            for number, transfer in enumerate(transfers, start=1):
                if number == 5:
                    raise RuntimeError("disk full")
                yield transfer
        # Small chunks, so four transfers and their entries are already in the database.
        return real_bulk_load(transfers=stream(), chunk_size=2, **kwargs)

    monkeypatch.setattr(importer, "transfers_bulk_load", failing_bulk_load)

    with pytest.raises(RuntimeError, match="disk full"):
        run(target, coby)

    assert snapshot() == before
    assert db.session.scalar(select(User).where(User.email == "anja@example.org")) is None


# The command line


def test_the_command_imports_and_reports(app, target, coby):
    result = cli(app, "--ring", target.slug, "--format", "generic", *SAMPLE)

    assert result.exit_code == 0, result.output
    assert f"{len(SAMPLE)} bestanden inlezen als generic..." in result.output
    assert "Transacties: 6 nieuw, 0 al geïmporteerd." in result.output
    assert "De import is opgeslagen." in result.output
    db.session.expire_all()
    assert count(Member, Member.ring_id == target.id) == 5


def test_the_command_dry_run_exits_1_with_the_problems(app, target, coby):
    bad = [GENERIC / "bad" / "members.csv", GENERIC / "bad" / "transfers.csv"]

    result = cli(app, "--ring", target.slug, "--format", "generic", "--dry-run", *bad)

    assert result.exit_code == 1
    assert "transfers.csv:2: Onbekend lid '99'" in result.output
    assert "er is niets geïmporteerd" in result.output
    assert count(Member, Member.ring_id == target.id) == 1


def test_the_command_refuses_unknown_rings_formats_and_options(app, target, coby):
    assert "Er is geen kring met slug 'nergens'." in cli(
        app, "--ring", "nergens", "--format", "generic", *SAMPLE).output
    assert "Onbekend formaat 'elos'; bekend zijn: elas, generic" in cli(
        app, "--ring", target.slug, "--format", "elos", *SAMPLE).output
    result = cli(app, "--ring", target.slug, "--format", "generic", "--minutes-per-unit", "60", *SAMPLE)
    assert result.exit_code == 2
    assert "Het formaat generic kent deze optie(s) niet: --minutes-per-unit." in result.output
    result = cli(app, "--ring", target.slug, "--format", "elas", "--minutes-per-unit", "60",
                 "--units", "uur", *SAMPLE)
    assert result.exit_code == 2
    assert "Het formaat elas kent deze optie(s) niet: --units." in result.output
    assert "Er is geen gebruiker met e-mailadres 'niemand@example.org'." in cli(
        app, "--ring", target.slug, "--format", "generic", "--by", "niemand@example.org", *SAMPLE
    ).output
    result = cli(app, "--ring", target.slug, "--format", "elas", *SAMPLE, "--minutes-per-unit")
    assert result.exit_code == 2
    assert "Optie --minutes-per-unit heeft een waarde nodig." in result.output
