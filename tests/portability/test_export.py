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
from ruilkring.disputes import services as dispute_services
from ruilkring.disputes.models import DisputeReason, DisputeRequest
from ruilkring.extensions import db
from ruilkring.ledger import services as ledger_services
from ruilkring.ledger.services import limits_set
from ruilkring.listings import services as listing_services
from ruilkring.listings.models import HelpKind, ListingKind, ListingPlace
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


def test_a_ring_exported_and_imported_into_an_empty_ring_exports_the_same(history, tmp_path):
    """The round trip: what the generic import carries comes back the same, apart from the
    new ids and the moments of booking (docs/export.md lists what is not carried)."""
    original = unzip(export.ring_export_zip(ring=history))
    (tmp_path / "export.zip").write_bytes(export.ring_export_zip(ring=history))
    target = factories.RingFactory()
    listing_services.categories_create_defaults(ring=target)
    operator = factories.UserFactory(is_admin=True)
    db.session.commit()

    report = importer.import_run(ring=target, batch=generic.read([tmp_path / "export.zip"]), imported_by=operator)

    assert report.problems == [] and report.written
    assert (report.members_new, report.transfers_new, report.listings_new) == (4, 3, 1)
    assert normalised(unzip(export.ring_export_zip(ring=target))) == normalised(original)


def normalised(files: dict[str, str]) -> dict[str, list]:
    """The carried tables with ids replaced by names and booking moments left out."""
    members = rows(files, "members.csv")
    names = {row["id"]: row["name"] for row in members}
    accounts = {row["id"]: names.get(row["member_id"], row["kind"]) for row in rows(files, "accounts.csv")}

    def without(row, *columns):
        return {key: value for key, value in row.items() if key not in columns}

    return {
        "members": sorted((without(row, "id") for row in members), key=lambda row: row["name"]),
        "accounts": sorted((without(row, "id", "created_at") | {"member_id": accounts[row["id"]]}
                            for row in rows(files, "accounts.csv")), key=lambda row: row["member_id"]),
        "transfers": [without(row, "id", "created_at") | {"payer_id": names[row["payer_id"]],
                                                          "payee_id": names[row["payee_id"]]}
                      for row in rows(files, "transfers.csv")],
        "listings": [without(row, "id") | {"owner_id": names[row["owner_id"]]} for row in rows(files, "listings.csv")],
        "categories": [without(row, "id") for row in rows(files, "categories.csv")],
        "ties": sorted(sorted((names[row["member_low_id"]], names[row["member_high_id"]]))
                       + [row["first_date"], row["last_date"], row["trade_count"], row["minutes"]]
                       for row in rows(files, "ties.csv")),
    }
