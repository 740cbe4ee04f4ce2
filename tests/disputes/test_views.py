"""Dispute pages: a party opens a case from their statement and follows it; the other
party responds; coordinators mediate with private notes, write to both parties and
resolve; the queue; who may see and do what.

Every test runs on SQLite and PostgreSQL (the ``app`` fixture). What a page promises is
checked in the database: statuses, balances, notifications and mails.
"""

import re
import uuid
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from ruilkring import clock
from ruilkring.database import run_ledger_transaction
from ruilkring.disputes import services as dispute_services
from ruilkring.disputes.models import (
    Dispute,
    DisputeEvent,
    DisputeOutcome,
    DisputeStatus,
    EventKind,
)
from ruilkring.extensions import db
from ruilkring.ledger.models import Transfer, TransferKind
from ruilkring.ledger.verify import ledger_verify
from ruilkring.members.models import MemberRole
from ruilkring.notifications.models import Notification
from ruilkring.rings.models import Ring
from tests import factories
from tests.helpers import balance, field_error, pay, reload, text, url

NOTE = "Vermoedelijk een misverstand over de reistijd."
OPEN_LINK = "Klopt dit niet? Geschil melden"


# People: anna, bert, carla (who has nothing to do with the case), the coordinator coby
# and the stranger come from tests/conftest.py; dirk is a second coordinator.


@pytest.fixture
def dirk(ring):
    return factories.MemberFactory(ring=ring, role=MemberRole.COORDINATOR, user__name="Dirk Dekker")


@pytest.fixture
def trade(anna, bert):
    """Anna paid Bert two hours for painting, committed so every request sees it."""
    return pay(anna, bert, 120, "schilderwerk")


# Helpers


def ring_of(transfer) -> Ring:
    return db.session.get(Ring, transfer.ring_id)


def case_url(dispute) -> str:
    return url(ring_of(dispute.transfer), f"/geschillen/{dispute.id}")


def alerts(response) -> list[str]:
    """The flash messages on a page."""
    return [unescape(m.strip()) for m in re.findall(r'<div class="alert alert--\w+" role="\w+">(.*?)</div>',
                                                   text(response), re.S)]


def follow(client, response) -> str:
    """The page a redirect leads to (where its flash messages show)."""
    assert response.status_code == 302, text(response)
    return client.get(response.headers["Location"])


def open_by_view(client, transfer, **overrides):
    data = {"reason": "wrong_amount", "asked": "partial_correction", "explanation": "Het was maar een uur."}
    data.update(overrides)
    return client.post(url(ring_of(transfer), f"/geschillen/nieuw/{transfer.id}"),
                       data={k: v for k, v in data.items() if v is not None})


def open_case(transfer, opener) -> Dispute:
    """Open a case through the service, committed."""
    dispute = dispute_services.dispute_open(transfer=transfer, opened_by=opener, reason="wrong_amount",
                                            asked="partial_correction", explanation="Het was maar een uur.")
    db.session.commit()
    return dispute


def act(client, dispute, action, **data):
    return client.post(f"{case_url(dispute)}/{action}", data=data)


def resolve(client, dispute, outcome, **data):
    return client.post(f"{case_url(dispute)}/afhandelen",
                       data={"outcome": outcome, "idempotency_key": uuid.uuid4().hex, **data})


def notifications_of(member) -> list[str]:
    return db.session.scalars(select(Notification.text).where(Notification.user_id == member.user_id)
                              .order_by(Notification.id)).all()


def mails_to(outbox, member) -> list[str]:
    """Bodies of the dispute mails to ``member``, newest first."""
    return [m.get_content() for m in outbox()
            if m["To"] == member.user.email and m["Subject"].startswith("Over uw geschil")]


# Opening a case from the statement


def test_a_party_opens_a_dispute_from_their_statement(client, login, ring, anna, bert, trade, coby):
    login(anna.user)
    statement = text(client.get(url(ring, "/saldo")))
    assert OPEN_LINK in statement
    assert f'href="/kring/{ring.slug}/geschillen/nieuw/{trade.id}"' in statement
    assert "betwist" not in statement

    form = client.get(url(ring, f"/geschillen/nieuw/{trade.id}"))
    assert form.status_code == 200
    assert "Geschil melden" in text(form) and "2:00 uur van Anna de Vries aan Bert Jansen" in text(form)

    response = open_by_view(client, trade)
    dispute = db.session.scalars(select(Dispute)).one()
    assert response.headers["Location"] == case_url(dispute)
    assert (dispute.status, dispute.opened_by_id, dispute.transfer_id) == (DisputeStatus.OPEN, anna.id, trade.id)
    case_page = follow(client, response)
    assert "Uw melding is ontvangen. Een coördinator neemt contact met u op." in alerts(case_page)
    assert "Het was maar een uur." in text(case_page)

    statement = text(client.get(url(ring, "/saldo")))
    assert "betwist" in statement
    assert OPEN_LINK not in statement
    # the other side and the coordinator are told
    assert any("Anna de Vries heeft een geschil gemeld" in n for n in notifications_of(bert))
    assert any(f"Nieuw geschil over transactie {trade.id}." == n for n in notifications_of(coby))


@pytest.mark.parametrize(("missing", "field", "message"), [
    ({"reason": None}, "reason", "Kies wat er mis is."),
    ({"asked": None}, "asked", "Kies wat u wilt."),
    ({"explanation": None}, "explanation", "Leg kort uit wat er mis is."),
    ({"explanation": "   \r\n  "}, "explanation", "Leg kort uit wat er mis is."),
])
def test_opening_without_reason_or_explanation_gives_a_dutch_message(client, login, anna, trade, missing,
                                                                      field, message):
    login(anna.user)
    response = open_by_view(client, trade, **missing)
    assert response.status_code == 200
    assert field_error(response, field) == message
    assert db.session.scalar(select(func.count(Dispute.id))) == 0


def test_a_group_of_choices_is_a_fieldset_whose_legend_asks_the_question(client, login, anna, trade):
    login(anna.user)
    html = text(open_by_view(client, trade, reason=None))
    group = re.search(r'<fieldset [^>]*id="reason"[^>]*>.*?</fieldset>', html, re.S).group(0)
    assert 'aria-describedby="reason-error"' in group.split(">")[0]
    assert "<legend>Wat is er mis?</legend>" in group
    choices = re.findall(r"<input [^>]*>", group)
    assert len(choices) == 4 and all('aria-invalid="true"' in c and "required" in c for c in choices)
    asked = re.search(r'<fieldset [^>]*id="asked"[^>]*>.*?</fieldset>', html, re.S).group(0)
    assert "aria-invalid" not in asked  # a group without an error


def test_a_second_open_dispute_on_one_transfer_leads_to_the_first(client, login_as, anna, bert, trade):
    first = open_case(trade, anna)
    login_as(bert.user)
    for send in (lambda: client.get(url(ring_of(trade), f"/geschillen/nieuw/{trade.id}")),
                 lambda: open_by_view(client, trade)):
        response = send()
        assert response.headers["Location"] == case_url(first)
        assert "Over deze transactie loopt al een geschil." in alerts(follow(client, response))
    assert db.session.scalar(select(func.count(Dispute.id))) == 1


def test_no_dispute_link_for_someone_elses_transfer(client, login, ring, carla, trade, stranger):
    login(carla.user)
    assert client.get(url(ring, f"/geschillen/nieuw/{trade.id}")).status_code == 404
    assert open_by_view(client, trade).status_code == 404
    assert db.session.scalar(select(func.count(Dispute.id))) == 0


# Following a case as a party


def test_the_other_party_sees_the_case_and_responds(client, login, anna, bert, trade, outbox):
    dispute = open_case(trade, anna)
    login(bert.user)
    page = client.get(case_url(dispute))
    assert page.status_code == 200
    assert "Het was maar een uur." in text(page) and "Reageren" in text(page)
    assert "Geschil intrekken" not in text(page)  # only the one who opened it withdraws

    response = act(client, dispute, "reageren", body="Het waren echt twee uur, met de reistijd.")
    assert "Opgeslagen." in alerts(follow(client, response))
    assert "Het waren echt twee uur, met de reistijd." in text(client.get(case_url(dispute)))
    [event] = [e for e in reload(dispute).events if e.kind == EventKind.RESPONSE]
    assert event.author_id == bert.user_id
    assert any("Bert Jansen heeft gereageerd" in n for n in notifications_of(anna))
    assert any("Bert Jansen heeft gereageerd" in body for body in mails_to(outbox, anna))


def test_an_empty_response_gives_a_message(client, login, anna, bert, trade):
    dispute = open_case(trade, anna)
    login(bert.user)
    response = act(client, dispute, "reageren", body="  ")
    assert response.status_code == 200 and field_error(response, "body") == "Schrijf iets."
    assert [e.kind for e in reload(dispute).events] == [EventKind.OPENED]


def test_a_refused_response_on_a_case_closed_meanwhile_says_it_is_closed(client, login, anna, bert, trade):
    dispute = open_case(trade, anna)
    run_ledger_transaction(lambda: dispute_services.dispute_withdraw(dispute=dispute, withdrawn_by=anna))
    db.session.commit()
    login(bert.user)
    assert "Dit geschil is gesloten." in alerts(follow(client, act(client, dispute, "reageren", body=" ")))


def test_a_refused_message_is_shown_again_with_what_was_typed(client, login, anna, trade, coby):
    dispute = open_case(trade, anna)
    login(coby.user)
    typed = "Zullen we bellen? " * 300  # past the 5000 characters

    response = act(client, dispute, "bericht", body=typed)

    assert response.status_code == 200
    assert field_error(response, "message-body") == "De tekst is te lang (hoogstens 5000 tekens)."
    assert "<title>Niet goed ingevuld: " in text(response)
    html = text(response)
    assert re.search(r'<textarea [^>]*id="message-body"[^>]*>\s*' + re.escape(typed.strip()[:50]), html)
    assert field_error(html, "note-body") is None  # the note beside it stays empty, without error
    assert re.search(r'<textarea [^>]*id="note-body"[^>]*>\s*</textarea>', html)
    assert [e.kind for e in reload(dispute).events] == [EventKind.OPENED]


def test_a_member_sees_their_own_disputes(client, login_as, ring, anna, bert, carla, trade):
    dispute = open_case(trade, anna)
    for party in (anna, bert):
        login_as(party.user)
        page = text(client.get(url(ring, "/geschillen")))
        assert f'href="{case_url(dispute)}"' in page
        assert "schilderwerk (2:00)" in page and "<td>open</td>" in page
    login_as(carla.user)
    page = text(client.get(url(ring, "/geschillen")))
    assert "U heeft geen geschillen." in page and "schilderwerk" not in page


# Who may see and touch a case

ACTIONS = ["reageren", "intrekken", "oppakken", "toewijzen", "notitie", "bericht", "afhandelen"]


@pytest.mark.parametrize("outsider", ["carla", "stranger"])
def test_outsiders_get_404_on_the_case_and_every_action(request, client, login, anna, bert, trade, coby,
                                                         dirk, outsider):
    dispute = open_case(trade, anna)
    login(request.getfixturevalue(outsider).user)
    assert client.get(case_url(dispute)).status_code == 404
    data = {"body": "Ik bemoei me ermee.", "coordinator": str(dirk.id), "outcome": "full_reversal",
            "note": "weg ermee", "idempotency_key": uuid.uuid4().hex}
    for action in ACTIONS:
        assert client.post(f"{case_url(dispute)}/{action}", data=data).status_code == 404, action
    dispute = reload(dispute)
    assert dispute.status == DisputeStatus.OPEN and [e.kind for e in dispute.events] == [EventKind.OPENED]
    assert (balance(anna), balance(bert)) == (-120, 120)


def test_a_case_of_another_ring_is_not_found_for_its_coordinators(client, login, anna, trade, stranger):
    dispute = open_case(trade, anna)
    other_coordinator = factories.MemberFactory(ring=stranger.ring, role=MemberRole.COORDINATOR)
    login(other_coordinator.user)
    # neither under the other ring's address nor under the case's own
    assert client.get(url(stranger.ring, f"/geschillen/{dispute.id}")).status_code == 404
    assert client.get(case_url(dispute)).status_code == 404
    assert resolve(client, dispute, "full_reversal").status_code == 404
    assert reload(dispute).status == DisputeStatus.OPEN


@pytest.mark.parametrize("action", ["oppakken", "toewijzen", "notitie", "bericht", "afhandelen"])
def test_parties_get_404_on_coordinator_actions(client, login, anna, bert, trade, dirk, action):
    dispute = open_case(trade, anna)
    login(bert.user)
    data = {"body": "Ik beslis het zelf wel.", "coordinator": str(dirk.id), "outcome": "full_reversal",
            "idempotency_key": uuid.uuid4().hex}
    assert client.post(f"{case_url(dispute)}/{action}", data=data).status_code == 404
    assert [e.kind for e in reload(dispute).events] == [EventKind.OPENED]
    assert balance(bert) == 120


def test_parties_never_see_a_private_note_but_coordinators_do(client, login_as, anna, bert, trade, coby, dirk):
    dispute = open_case(trade, anna)
    login_as(coby.user)
    response = act(client, dispute, "notitie", body=NOTE)
    assert "Opgeslagen." in alerts(follow(client, response))
    for coordinator in (coby, dirk):
        login_as(coordinator.user)
        page = text(client.get(case_url(dispute)))
        assert NOTE in page and "notitie voor coördinatoren (leden zien dit niet)" in page
    for party in (anna, bert):
        login_as(party.user)
        page = client.get(case_url(dispute))
        assert page.status_code == 200
        assert NOTE not in text(page) and "notitie voor coördinatoren" not in text(page)
    assert not any(NOTE in n for member in (anna, bert) for n in notifications_of(member))


def test_a_coordinator_who_is_a_party_does_not_see_private_notes(client, login, anna, bert, trade, coby):
    bert.role = MemberRole.COORDINATOR
    dispute = open_case(trade, anna)
    dispute_services.dispute_note(dispute=dispute, author=coby.user, body=NOTE)
    db.session.commit()
    login(bert.user)
    page = text(client.get(case_url(dispute)))
    assert "Het was maar een uur." in page
    assert NOTE not in page
    assert "Geschil afhandelen" not in page and "Ik pak dit op" not in page


# Mediation and resolution


def test_a_coordinator_mediates_and_resolves_with_a_partial_correction(client, login_as, ring, anna, bert, trade,
                                                                        coby, dirk, outbox):
    dispute = open_case(trade, anna)
    login_as(coby.user)
    queue = text(client.get(url(ring, "/beheer/geschillen")))
    assert f'href="{case_url(dispute)}"' in queue and "Anna de Vries" in queue
    page = text(client.get(case_url(dispute)))
    assert "Ik pak dit op" in page and "Geschil afhandelen" in page

    assert "Opgeslagen." in alerts(follow(client, act(client, dispute, "oppakken")))
    dispute = reload(dispute)
    assert (dispute.status, dispute.mediator_id) == (DisputeStatus.IN_MEDIATION, coby.user_id)
    assert any("Coby Kramer bemiddelt in het geschil" in n for n in notifications_of(anna))

    follow(client, act(client, dispute, "toewijzen", coordinator=str(dirk.id)))
    assert reload(dispute).second_mediator_id == dirk.user_id
    page = text(client.get(case_url(dispute)))
    assert "Coby Kramer, Dirk Dekker" in page and "in bemiddeling" in page

    follow(client, act(client, dispute, "bericht", body="Zullen we donderdag samen bellen?"))
    for party in (anna, bert):
        assert any("Zullen we donderdag samen bellen?" in n for n in notifications_of(party))
        assert any("Zullen we donderdag samen bellen?" in body for body in mails_to(outbox, party))

    response = resolve(client, dispute, "partial_correction", amount="1:00", direction="back",
                       note="Samen afgesproken: een uur terug.")
    page = follow(client, response)
    assert "Het geschil is afgehandeld. Beide leden hebben bericht gekregen." in alerts(page)
    assert "afgehandeld" in text(page) and "Samen afgesproken: een uur terug." in text(page)
    assert "Geschil afhandelen" not in text(page)

    dispute = reload(dispute)
    assert (dispute.status, dispute.outcome, dispute.outcome_amount) == (
        DisputeStatus.RESOLVED, DisputeOutcome.PARTIAL_CORRECTION, 60)
    correction = dispute.resolution_transfer
    assert correction.kind == TransferKind.CORRECTION and correction.amount == 60
    assert (balance(anna), balance(bert)) == (-60, 60)
    assert ledger_verify() == []
    outcome = f"Het geschil over transactie {trade.id} is afgesloten met een correctie van 1:00 uur."
    for party in (anna, bert):
        assert outcome in notifications_of(party)
        assert any(outcome in body for body in mails_to(outbox, party))
    # the parties read the outcome on their own page too
    login_as(anna.user)
    page = text(client.get(case_url(dispute)))
    assert "Samen afgesproken: een uur terug." in page and "afgehandeld" in page


def test_resolving_with_missing_input_changes_nothing(client, login, anna, bert, trade, coby):
    dispute = open_case(trade, anna)
    login(coby.user)
    # Each is shown at its field, with what was typed.
    page = resolve(client, dispute, "partial_correction", note="Een uur terug.")
    assert field_error(page, "amount") == "Vul het bedrag van de correctie in." and "Een uur terug." in text(page)
    page = resolve(client, dispute, "no_action", note="")
    assert field_error(page, "note") == "Schrijf de reden of de afspraak op."
    page = client.post(f"{case_url(dispute)}/afhandelen", data={"idempotency_key": uuid.uuid4().hex})
    assert page.status_code == 200 and field_error(page, "outcome") == "Kies een uitkomst."
    assert reload(dispute).status == DisputeStatus.OPEN
    assert (balance(anna), balance(bert)) == (-120, 120)
    assert db.session.scalar(select(func.count(Transfer.id))) == 1


# Illegal steps through the pages: a clear message, and nothing changes


def test_resolving_a_withdrawn_case_is_refused(client, login_as, anna, bert, trade, coby):
    dispute = open_case(trade, anna)
    login_as(anna.user)
    assert "Geschil intrekken" in text(client.get(case_url(dispute)))
    follow(client, act(client, dispute, "intrekken"))
    assert reload(dispute).status == DisputeStatus.WITHDRAWN

    login_as(coby.user)
    page = follow(client, resolve(client, dispute, "full_reversal", note="terug"))
    assert "Dit geschil is ingetrokken." in alerts(page)
    dispute = reload(dispute)
    assert (dispute.status, dispute.outcome, dispute.resolution_transfer_id) == (DisputeStatus.WITHDRAWN, None, None)
    assert (balance(anna), balance(bert)) == (-120, 120)
    assert db.session.scalar(select(func.count(Transfer.id)).where(Transfer.reverses_id == trade.id)) == 0
    page = follow(client, act(client, dispute, "bericht", body="Nog iets?"))
    assert "Dit geschil is gesloten." in alerts(page)
    assert EventKind.MESSAGE not in [e.kind for e in reload(dispute).events]


def test_resolving_twice_is_refused(client, login, anna, bert, trade, coby):
    dispute = open_case(trade, anna)
    login(coby.user)
    follow(client, resolve(client, dispute, "full_reversal", note=""))
    assert (balance(anna), balance(bert)) == (0, 0)
    page = follow(client, resolve(client, dispute, "partial_correction", amount="0:30", note="nog wat"))
    assert "Dit geschil is al afgehandeld." in alerts(page)
    assert reload(dispute).outcome == DisputeOutcome.FULL_REVERSAL
    assert (balance(anna), balance(bert)) == (0, 0)
    assert db.session.scalar(select(func.count(Transfer.id))) == 2
    assert ledger_verify() == []


def test_a_party_who_is_also_coordinator_cannot_take_or_resolve_their_own_case(client, login, anna, bert, trade):
    bert.role = MemberRole.COORDINATOR
    dispute = open_case(trade, anna)
    login(bert.user)
    message = "U bent zelf betrokken bij dit geschil; een andere coördinator moet bemiddelen."
    page = follow(client, resolve(client, dispute, "full_reversal", note=""))
    assert message in alerts(page)
    page = follow(client, act(client, dispute, "oppakken"))
    assert message in alerts(page)
    page = follow(client, act(client, dispute, "notitie", body="Ik heb gelijk."))
    assert message in alerts(page)
    dispute = reload(dispute)
    assert (dispute.status, dispute.mediator_id, dispute.outcome) == (DisputeStatus.OPEN, None, None)
    assert [e.kind for e in dispute.events] == [EventKind.OPENED]
    assert (balance(anna), balance(bert)) == (-120, 120)


# The coordinators' queue


def test_the_queue_shows_open_cases_first_and_highlights_quiet_ones(client, login, ring, anna, bert, coby):
    now = datetime(2026, 5, 20, 10, 0, tzinfo=UTC)
    clock.freeze(now - timedelta(days=20))
    quiet = open_case(pay(anna, bert, 60, "oude tuinklus"), anna)
    done = open_case(pay(bert, anna, 30, "boodschappen"), bert)
    clock.freeze(now - timedelta(days=16))
    run_ledger_transaction(lambda: dispute_services.dispute_resolve(
        dispute=done, resolved_by=coby.user, outcome=DisputeOutcome.AGREEMENT, note="", idempotency_key="a"))
    clock.freeze(now - timedelta(days=3))
    recent = open_case(pay(anna, bert, 45, "fiets maken"), bert)
    clock.freeze(now)

    login(coby.user)
    page = text(client.get(url(ring, "/beheer/geschillen")))
    rows = re.findall(r"<tr class=\"(\w*)\">(.*?)</tr>", page, re.S)
    described = [next(d for d in ("oude tuinklus", "fiets maken", "boodschappen") if d in row) for _, row in rows]
    assert described == ["oude tuinklus", "fiets maken", "boodschappen"]
    assert [css for css, _ in rows] == ["stale", "", ""]
    assert page.count("al 14 dagen niets gebeurd") == 1
    assert "al 14 dagen niets gebeurd" in text(client.get(case_url(quiet)))
    assert "al 14 dagen niets gebeurd" not in text(client.get(case_url(recent)))

    resolved_only = text(client.get(url(ring, "/beheer/geschillen"), query_string={"status": "resolved"}))
    assert "boodschappen" in resolved_only and "oude tuinklus" not in resolved_only

    # activity in the case makes it fresh again
    dispute_services.dispute_note(dispute=quiet, author=coby.user, body="Gebeld, komt goed.")
    db.session.commit()
    assert "al 14 dagen niets gebeurd" not in text(client.get(url(ring, "/beheer/geschillen")))


@pytest.mark.parametrize("who", ["anna", "carla"])
def test_members_get_404_on_the_queue(request, client, login, ring, anna, trade, who):
    open_case(trade, anna)
    login(request.getfixturevalue(who).user)
    assert client.get(url(ring, "/beheer/geschillen")).status_code == 404


def test_the_case_timeline_keeps_every_step_in_order(client, login_as, anna, bert, trade, coby, dirk):
    dispute = open_case(trade, anna)
    login_as(coby.user)
    act(client, dispute, "oppakken")
    act(client, dispute, "toewijzen", coordinator=str(dirk.id))
    login_as(bert.user)
    act(client, dispute, "reageren", body="Twee uur, echt.")
    login_as(coby.user)
    act(client, dispute, "notitie", body=NOTE)
    resolve(client, dispute, "agreement", note="")
    kinds = db.session.scalars(select(DisputeEvent.kind).where(DisputeEvent.dispute_id == dispute.id)
                               .order_by(DisputeEvent.id)).all()
    assert kinds == [EventKind.OPENED, EventKind.TAKEN, EventKind.ASSIGNED, EventKind.RESPONSE, EventKind.NOTE,
                     EventKind.RESOLVED]
    login_as(anna.user)
    page = text(client.get(case_url(dispute)))
    steps = ["meldde het geschil", "bemiddelt nu", "voegde een tweede bemiddelaar toe:", "schreef",
             "handelde het geschil af"]
    positions = [page.index(step) for step in steps]
    assert positions == sorted(positions)
    assert (balance(anna), balance(bert)) == (-120, 120)
