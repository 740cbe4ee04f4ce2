"""Exports: the coordinators' ZIP of the whole ring, a member's own data, who may download
them, and the round trip through the generic import."""

import csv
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from ruilkring import clock
from ruilkring.audit.models import AuditEvent
from ruilkring.database import run_ledger_transaction
from ruilkring.disputes import services as dispute_services
from ruilkring.disputes.models import DisputeOutcome, DisputeReason, DisputeRequest
from ruilkring.extensions import db
from ruilkring.ledger import services as ledger_services
from ruilkring.ledger.models import Transfer
from ruilkring.ledger.services import limits_set
from ruilkring.listings import services as listing_services
from ruilkring.listings.models import HelpKind, ListingKind, ListingPlace
from ruilkring.members.models import MemberRole
from ruilkring.members.services import member_erase
from ruilkring.messages.services import conversation_start_direct
from ruilkring.notifications.models import Notification
from ruilkring.notifications.services import notification_create
from ruilkring.portability import export, importer
from ruilkring.portability.formats import generic
from ruilkring.stats import survey as surveys
from ruilkring.stats.models import ContactAnswer, Tie
from ruilkring.stats.ties import tie_answer
from tests import factories
from tests.conftest import empty_database
from tests.helpers import count, pay, text, url

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture
def history(ring, anna, bert, carla, coby, stranger):
    """Ring with trades, a personal limit, a listing, conversations and a dispute with a
    coordinator's private note; ``stranger`` trades in another ring."""
    category = listing_services.categories_create_defaults(ring=ring)[0]
    listing_services.listing_create(
        owner=anna, kind=ListingKind.OFFER, title="Fietsen repareren", description="Banden en remmen.",
        category_id=category.id, help_kind=HelpKind.PRACTICAL, place=ListingPlace.AT_MY_PLACE,
        created_by=anna.user)
    limits_set(account=anna.account, min_balance=-30 * 60, max_balance=None, changed_by=coby.user,
               reason="Meer ruimte afgesproken")
    limits_set(account=bert.account, min_balance=-10 * 60, max_balance=None, changed_by=coby.user,
               reason="Nieuw lid")
    conversation_start_direct(starter=anna, other=bert, body="Zullen we dinsdag fietsen maken?")
    conversation_start_direct(starter=bert, other=carla, body="Geheim tussen Bert en Carla")
    db.session.commit()
    trade = pay(anna, bert, 60, "Fiets gemaakt")
    pay(bert, carla, 30, "Boodschappen")
    pay(carla, anna, 15, "Koffie en praatje")
    pay(stranger, factories.MemberFactory(ring=stranger.ring), 45, "Elders")
    dispute = dispute_services.dispute_open(transfer=trade, opened_by=anna, reason=DisputeReason.WRONG_AMOUNT,
                                            asked=DisputeRequest.TALK, explanation="Het was een half uur.")
    dispute_services.dispute_note(dispute=dispute, author=coby.user, body="Privé: Anna klaagt vaker.")
    dispute_services.dispute_message(dispute=dispute, author=coby.user, body="Ik bel jullie allebei.")
    db.session.commit()
    return ring


def unzip(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


def rows(files: dict[str, str], name: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(files[name])))


def test_the_ring_export_has_every_table_and_a_readme_for_every_column(history, anna, bert, stranger):
    files = unzip(export.ring_export_zip(ring=history))

    assert set(files) == {table.filename for table in export.RING_TABLES} | {"data.json", "README.md"}
    data = json.loads(files["data.json"])
    assert data["format"] == "ruilkring-export" and data["ring"]["slug"] == history.slug
    assert data["ring"]["neighbourhoods"] == ["Noord", "Zuid"]
    for table in export.RING_TABLES:
        assert next(csv.reader(io.StringIO(files[table.filename]))) == table.column_names
        assert [list(row.values()) for row in rows(files, table.filename)] == [
            ["" if v is None else ("true" if v is True else "false" if v is False else str(v)) for v in row.values()]
            for row in data[table.name]]
        section = files["README.md"].split(f"## {table.filename}")[1].split("\n## ")[0]
        assert re.findall(r"^\| `(\w+)` \|", section, re.MULTILINE) == table.column_names
    members = {row["name"]: row for row in rows(files, "members.csv")}
    assert set(members) == {"Anna de Vries", "Bert Jansen", "Carla Smit", "Coby Kramer"}  # not the stranger
    assert members["Anna de Vries"]["email"] == anna.user.email
    assert (members["Anna de Vries"]["min_balance_minutes"], members["Anna de Vries"]["balance_minutes"]) == ("-1800", "-45")
    assert members["Coby Kramer"]["role"] == "coordinator"
    transfers = rows(files, "transfers.csv")
    assert [(t["payer_name"], t["payee_name"], t["amount_minutes"]) for t in transfers] == [
        ("Anna de Vries", "Bert Jansen", "60"), ("Bert Jansen", "Carla Smit", "30"),
        ("Carla Smit", "Anna de Vries", "15")]
    assert transfers[0]["payer_id"] == str(anna.id)
    assert [row["body"] for row in rows(files, "dispute_events.csv") if row["private"] == "true"] == [
        "Privé: Anna klaagt vaker."]  # coordinators keep their notes
    assert len(rows(files, "ties.csv")) == 3
    assert "Elders" not in files["transfers.csv"]


def test_the_readme_of_the_ring_export_matches_docs_export_md():
    documented = (DOCS / "export.md").read_text()
    for table in export.RING_TABLES + export.MEMBER_TABLES:
        section = documented.split(f"### {table.filename}")[1].split("\n### ")[0]
        assert re.findall(r"^\| `(\w+)` \|", section, re.MULTILINE) == table.column_names, table.name


def test_every_key_of_data_json_is_described_in_the_readme_and_docs_export_md(history):
    files = unzip(export.ring_export_zip(ring=history))
    data = json.loads(files["data.json"])
    tables = {table.name for table in export.RING_TABLES}
    keys = [key for key in data if key not in tables] + [f"ring.{key}" for key in data["ring"]]
    key_row = re.compile(r"^\| `([\w.]+)` \|", re.MULTILINE)

    assert key_row.findall(files["README.md"].split("## data.json")[1]) == keys
    assert key_row.findall((DOCS / "export.md").read_text().split("### data.json")[1]) == keys


def test_an_erased_or_email_less_member_is_exported_without_an_address(history, bert, coby):
    member_erase(member=bert, erased_by=coby.user, reason="verzoek van het lid")
    db.session.commit()

    members = {row["id"]: row for row in rows(unzip(export.ring_export_zip(ring=history)), "members.csv")}

    assert members[str(bert.id)]["email"] == "" and members[str(bert.id)]["status"] == "left"


def test_a_coordinator_downloads_the_export_from_the_hub_and_it_is_logged(client, login_as, history, coby):
    login_as(coby.user)

    assert url(history, "/beheer/export") in text(client.get(url(history, "/beheer")))
    page = client.get(url(history, "/beheer/export"))
    assert page.status_code == 200 and "members.csv" in text(page)
    assert count(AuditEvent, AuditEvent.action == "ring.export") == 0

    response = client.post(url(history, "/beheer/export"))

    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert f"export-{history.slug}-" in response.headers["Content-Disposition"]
    assert "members.csv" in unzip(response.data)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "ring.export"))
    assert event.actor_id == coby.user_id and event.ring_id == history.id and event.new["transfers"] == 3


def test_members_and_other_rings_cannot_download_the_ring_export(client, login_as, history, anna, stranger):
    other_coordinator = factories.MemberFactory(ring=stranger.ring, role="coordinator")
    for user in (anna.user, other_coordinator.user):
        login_as(user)
        assert client.get(url(history, "/beheer/export")).status_code == 404
        assert client.post(url(history, "/beheer/export")).status_code == 404
    assert count(AuditEvent, AuditEvent.action == "ring.export") == 0


def test_a_member_downloads_their_own_data_and_nobody_elses(client, login_as, history, anna, bert, carla):
    login_as(anna.user)
    assert url(history, "/mijn-gegevens") in text(client.get(url(history, f"/leden/{anna.id}")))

    response = client.get(url(history, "/mijn-gegevens"))

    assert response.status_code == 200 and response.mimetype == "application/zip"
    files = unzip(response.data)
    assert set(files) == {table.filename for table in export.MEMBER_TABLES} | {"data.json", "README.md"}
    [profile] = rows(files, "members.csv")
    assert (profile["id"], profile["email"], profile["balance_minutes"]) == (str(anna.id), anna.user.email, "-45")
    assert {(t["payer_name"], t["payee_name"]) for t in rows(files, "transfers.csv")} == {
        ("Anna de Vries", "Bert Jansen"), ("Carla Smit", "Anna de Vries")}
    assert [m["body"] for m in rows(files, "messages.csv")] == ["Zullen we dinsdag fietsen maken?"]
    assert [listing["title"] for listing in rows(files, "listings.csv")] == ["Fietsen repareren"]
    [dispute] = rows(files, "disputes.csv")
    assert dispute["explanation"] == "Het was een half uur."
    events = [event["body"] for event in rows(files, "dispute_events.csv")]
    assert "Ik bel jullie allebei." in events and all(event["private"] == "false" for event in rows(files, "dispute_events.csv"))
    assert [(a["action"], a["reason"]) for a in rows(files, "audit.csv")] == [
        ("account.set_limits", "Meer ruimte afgesproken")]
    everything = "".join(files.values())
    for secret in ("Privé: Anna klaagt vaker.", "Geheim tussen Bert en Carla", bert.user.email, carla.user.email,
                   "Nieuw lid"):
        assert secret not in everything


def tie_of(one, other) -> Tie:
    low, high = sorted((one.id, other.id))
    return db.session.scalar(select(Tie).where(Tie.member_low_id == low, Tie.member_high_id == high))


def test_own_data_has_payment_requests_notifications_contact_answers_and_surveys(history, anna, bert, carla,
                                                                                  coby, stranger):
    asked = ledger_services.payment_request_create(payee=anna, payer=bert, amount=90, description="Fiets opgehaald")
    ledger_services.payment_request_create(payee=bert, payer=anna, amount=20, description="Lift naar de markt")
    ledger_services.payment_request_create(payee=carla, payer=bert, amount=40, description="Tussen Bert en Carla")
    db.session.flush()
    ledger_services.payment_request_decline(request=asked, declined_by=bert, reason="Was een vriendendienst")
    tie_answer(tie=tie_of(anna, bert), member=anna, answer=ContactAnswer.BY_SIGHT)
    tie_answer(tie=tie_of(anna, bert), member=bert, answer=ContactAnswer.YES)
    tie_answer(tie=tie_of(bert, carla), member=carla, answer=ContactAnswer.NO)
    survey = surveys.survey_open(ring=history, opens_on=clock.today(), closes_on=clock.today(), opened_by=coby.user)
    for member in (anna, bert):
        surveys.survey_answer(survey=survey, member=member, belonging=5, new_people="6+", help_available="no")
    notification_create(user=anna.user, ring=stranger.ring, text="Uit een andere kring")
    db.session.flush()
    read = db.session.scalar(select(Notification).where(Notification.user_id == anna.user_id)
                             .order_by(Notification.id))
    read.read_at = clock.now()
    db.session.commit()

    files = unzip(export.member_export_zip(member=anna))

    requests = rows(files, "payment_requests.csv")
    assert [(r["role"], r["counterpart_id"], r["counterpart_name"], r["amount_minutes"], r["description"], r["status"])
            for r in requests] == [
        ("payee", str(bert.id), "Bert Jansen", "90", "Fiets opgehaald", "declined"),
        ("payer", str(bert.id), "Bert Jansen", "20", "Lift naar de markt", "pending")]
    assert requests[0]["decline_reason"] == "Was een vriendendienst"
    assert requests[0]["decided_at"] and not requests[1]["decided_at"] and requests[1]["expires_at"]
    notifications = rows(files, "notifications.csv")
    mine = db.session.scalars(select(Notification.text).where(
        Notification.user_id == anna.user_id, Notification.ring_id == history.id).order_by(Notification.id)).all()
    assert [n["text"] for n in notifications] == mine
    assert any("Bert Jansen" in text and "Lift naar de markt" in text for text in mine)  # bert's request
    assert any("Was een vriendendienst" in text for text in mine)  # the decline
    assert notifications[0]["read_at"] and not notifications[-1]["read_at"]
    assert [(a["other_member_id"], a["other_member_name"], a["answer"]) for a in rows(files, "contact_answers.csv")] == [
        (str(bert.id), "Bert Jansen", "by_sight")]
    assert rows(files, "survey_participations.csv") == [
        {"survey_id": str(survey.id), "opens_on": clock.today().isoformat(), "closes_on": clock.today().isoformat()}]
    assert "anoniem" in files["README.md"].split("## survey_participations.csv")[1]
    data = json.loads(files["data.json"])
    assert [r["amount_minutes"] for r in data["payment_requests"]] == [90, 20]
    everything = "".join(files.values())
    for secret in ("Tussen Bert en Carla", "Uit een andere kring", "belonging", "new_people", "help_available"):
        assert secret not in everything
    # Bert's download has his own side of the same requests and tie, and not Anna's answer.
    bert_files = unzip(export.member_export_zip(member=bert))
    assert [(r["role"], r["counterpart_name"]) for r in rows(bert_files, "payment_requests.csv")] == [
        ("payer", "Anna de Vries"), ("payee", "Anna de Vries"), ("payer", "Carla Smit")]
    assert [(a["other_member_name"], a["answer"]) for a in rows(bert_files, "contact_answers.csv")] == [
        ("Anna de Vries", "yes")]
    assert len(rows(bert_files, "survey_participations.csv")) == 1
    carla_files = unzip(export.member_export_zip(member=carla))
    assert rows(carla_files, "survey_participations.csv") == []
    assert [a["other_member_name"] for a in rows(carla_files, "contact_answers.csv")] == ["Bert Jansen"]


def test_own_data_is_for_members_only(client, login_as, history, stranger, admin):
    for user in (stranger.user, admin):
        login_as(user)
        assert client.get(url(history, "/mijn-gegevens")).status_code == 404


@pytest.fixture
def books(ring, anna, bert, carla, coby):
    """A ring whose books have what the import carries: members with phone, address, bio
    and personal limits, trades, one for a listing, a reversal with its reason, a
    correction past a limit with its reason, a dispute resolved with a correction (with a
    coordinator's private note) and an open one."""
    anna.user.phone, anna.user.address, anna.share_phone, anna.bio = "06-12345678", "Kerkstraat 1", True, "Fietser."
    carla.user.address, carla.share_address = "Lindelaan 12", True
    category = listing_services.categories_create_defaults(ring=ring)[0]
    listing = listing_services.listing_create(
        owner=anna, kind=ListingKind.OFFER, title="Fietsen repareren", description="Banden en remmen.",
        category_id=category.id, help_kind=HelpKind.PRACTICAL, place=ListingPlace.AT_MY_PLACE, time_estimate=60,
        created_by=anna.user)
    limits_set(account=ledger_services.account_open(member=anna), min_balance=-30 * 60, max_balance=None,
               changed_by=coby.user, reason="Meer ruimte afgesproken")
    limits_set(account=ledger_services.account_open(member=bert), min_balance=-30, max_balance=90,
               changed_by=coby.user, reason="Nieuw lid")
    db.session.commit()
    trade = pay(anna, bert, 60, "Fiets gemaakt")
    pay(bert, carla, 30, "Boodschappen")
    pay(anna, bert, 45, "Band geplakt")
    run_ledger_transaction(lambda: ledger_services.payment_create(
        payer=carla, payee=anna, amount=15, description="Voor het aanbod", idempotency_key="for-listing",
        listing=listing))
    run_ledger_transaction(lambda: ledger_services.transfer_reverse(
        transfer=trade, reversed_by=coby.user, reason="Dubbel geboekt", idempotency_key="reverse-1"))
    run_ledger_transaction(lambda: ledger_services.transfer_correct(
        payer=bert.account, payee=carla.account, amount=120, corrected_by=coby.user,
        reason="Afspraak met het bestuur", idempotency_key="correct-1", override_limits=True))
    groceries, tyre = db.session.scalars(
        select(Transfer).where(Transfer.description.in_(["Boodschappen", "Band geplakt"])).order_by(Transfer.id))
    settled = dispute_services.dispute_open(
        transfer=groceries, opened_by=bert, reason=DisputeReason.WRONG_AMOUNT, asked=DisputeRequest.PARTIAL_CORRECTION,
        explanation="Het was twintig minuten.")
    dispute_services.dispute_take(dispute=settled, coordinator=coby.user)
    dispute_services.dispute_note(dispute=settled, author=coby.user, body="Carla bevestigt het telefonisch.")
    dispute_services.dispute_message(dispute=settled, author=coby.user, body="Ik stel tien minuten terug voor.")
    dispute_services.dispute_respond(dispute=settled, author=carla, body="Akkoord.")
    run_ledger_transaction(lambda: dispute_services.dispute_resolve(
        dispute=settled, resolved_by=coby.user, outcome=DisputeOutcome.PARTIAL_CORRECTION, note="Tien minuten terug",
        amount=10, back_to_payer=True, idempotency_key="dispute-1"))
    dispute_services.dispute_open(transfer=tyre, opened_by=anna, reason=DisputeReason.NOT_AGREED,
                                  asked=DisputeRequest.TALK, explanation="Zo lang duurde het niet.")
    db.session.commit()
    return ring


def test_a_ring_exported_emptied_and_imported_again_exports_the_same(books, tmp_path):
    """The round trip: what the generic import carries comes back the same, apart from the
    new ids and the moments of booking (docs/export.md lists what is not carried)."""
    original = unzip(export.ring_export_zip(ring=books))
    (tmp_path / "export.zip").write_bytes(export.ring_export_zip(ring=books))
    settings = json.loads(original["data.json"])["ring"]
    db.session.rollback()
    empty_database()
    db.session.expunge_all()
    # Only the ring again, with its settings, wijken and categories, and a coordinator.
    target = factories.RingFactory(
        municipality=factories.MunicipalityFactory(name=settings.pop("municipality")),
        neighbourhoods=settings.pop("neighbourhoods"),
        default_min_balance=settings.pop("default_min_balance_minutes"),
        default_max_balance=settings.pop("default_max_balance_minutes"), **settings)
    listing_services.categories_create_defaults(ring=target)
    coordinator = factories.MemberFactory(ring=target, role=MemberRole.COORDINATOR, user__email="nieuw@example.org")
    db.session.commit()

    report = importer.import_run(ring=target, batch=generic.read([tmp_path / "export.zip"]),
                                 imported_by=coordinator.user)

    assert report.problems == [] and report.written
    assert (report.members_new, report.transfers_new, report.listings_new, report.disputes_new) == (4, 7, 1, 2)
    again = unzip(export.ring_export_zip(ring=target))
    assert json.loads(again["data.json"])["ring"] == json.loads(original["data.json"])["ring"]
    before, after = normalised(original), normalised(again, leave_out="nieuw@example.org")
    assert after == before
    # What the test covers is really there.
    transfers = before["transfers"]
    assert [t["kind"] for t in transfers] == [
        "trade", "trade", "trade", "trade", "reversal", "correction", "correction"]
    assert (transfers[4]["reverses_id"], transfers[4]["reason"]) == (0, "Dubbel geboekt")
    assert (transfers[5]["limit_override"], transfers[5]["reason"]) == ("true", "Afspraak met het bestuur")
    names = {row["email"]: row["name"] for row in rows(original, "members.csv")}
    assert sorted(sorted(names[email] for email in tie[:2]) + tie[2:] for tie in before["ties"]) == [
        ["Anna de Vries", "Bert Jansen", 1, 45], ["Anna de Vries", "Carla Smit", 1, 15],
        ["Bert Jansen", "Carla Smit", 1, 30]]
    assert [t["listing_id"] for t in transfers] == [None, None, None, 0, None, None, None]
    assert [(d["transfer_id"], d["status"], d["mediator_name"], d["resolution_transfer_id"])
            for d in before["disputes"]] == [(1, "resolved", "Coby Kramer", 6), (2, "open", "", None)]
    assert [(e["dispute_id"], e["kind"], e["author_name"], e["private"]) for e in before["dispute_events"]] == [
        (0, "opened", "Bert Jansen", "false"), (0, "taken", "Coby Kramer", "false"),
        (0, "note", "Coby Kramer", "true"), (0, "message", "Coby Kramer", "false"),
        (0, "response", "Carla Smit", "false"), (0, "resolved", "Coby Kramer", "false"),
        (1, "opened", "Anna de Vries", "false")]
    # Imported again: nothing new.
    report = importer.import_run(ring=target, batch=generic.read([tmp_path / "export.zip"]),
                                 imported_by=coordinator.user)
    assert report.problems == [] and (report.transfers_already, report.disputes_new, report.disputes_already) == (
        7, 0, 2)


def normalised(files: dict[str, str], leave_out: str = "") -> dict[str, list]:
    """The carried tables with members known by e-mail, a reversal's original and a
    transfer's listing by their position in their file, ids and booking moments left out
    (``leave_out``: the e-mail of a member to leave out)."""
    members = [row for row in rows(files, "members.csv") if row["email"] != leave_out]
    emails = {row["id"]: row["email"] for row in members}
    transfers, listings = rows(files, "transfers.csv"), rows(files, "listings.csv")
    position = {row["id"]: number for number, row in enumerate(transfers)}
    listing_position = {row["id"]: number for number, row in enumerate(listings)}
    disputes = rows(files, "disputes.csv")
    dispute_position = {row["id"]: number for number, row in enumerate(disputes)}

    def who(member_id):
        return emails.get(member_id, member_id)  # @pot and @opening stay

    def without(row, *columns):
        return {key: value for key, value in row.items() if key not in columns}

    return {
        "members": sorted((without(row, "id") for row in members), key=lambda row: row["email"]),
        "accounts": sorted((without(row, "id", "created_at") | {"member_id": who(row["member_id"])}
                            for row in rows(files, "accounts.csv") if row["member_id"] in emails),
                           key=lambda row: row["member_id"]),
        "transfers": [without(row, "id", "created_at")
                      | {"payer_id": who(row["payer_id"]), "payee_id": who(row["payee_id"]),
                         "reverses_id": position.get(row["reverses_id"]),
                         "listing_id": listing_position.get(row["listing_id"])}
                      for row in transfers],
        "listings": [without(row, "id") | {"owner_id": who(row["owner_id"])} for row in listings],
        "categories": [without(row, "id") for row in rows(files, "categories.csv")],
        "ties": sorted(sorted((who(row["member_low_id"]), who(row["member_high_id"])))
                       + [int(row["trade_count"]), int(row["minutes"])] for row in rows(files, "ties.csv")),
        "tie_dates": sorted((row["first_date"], row["last_date"]) for row in rows(files, "ties.csv")),
        "disputes": [without(row, "id") | {"transfer_id": position.get(row["transfer_id"]),
                                           "resolution_transfer_id": position.get(row["resolution_transfer_id"]),
                                           "opened_by_id": who(row["opened_by_id"])} for row in disputes],
        "dispute_events": [without(row, "id") | {"dispute_id": dispute_position[row["dispute_id"]]}
                           for row in rows(files, "dispute_events.csv")],
    }
