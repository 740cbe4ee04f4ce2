"""The dispute process: who may do what, when, and what it books."""

from datetime import timedelta

import pytest

from ruilkring import clock
from ruilkring.database import run_ledger_transaction
from ruilkring.disputes import selectors, services
from ruilkring.disputes.models import DisputeOutcome, DisputeStatus, EventKind
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.ledger import services as ledger
from ruilkring.ledger.models import TransferKind
from ruilkring.ledger.verify import ledger_verify
from tests import factories
from tests.helpers import balance, pay


@pytest.fixture
def trade(ring):
    payer, payee = factories.MemberFactory(ring=ring), factories.MemberFactory(ring=ring)
    transfer = pay(payer, payee, 120, "schilderwerk", key="t")
    return transfer, payer, payee


def open_case(transfer, opener, **extra):
    values = dict(transfer=transfer, opened_by=opener, reason="wrong_amount", asked="partial_correction",
                  explanation="Het was maar een uur.")
    values.update(extra)
    dispute = services.dispute_open(**values)
    db.session.commit()
    return dispute


def test_a_party_opens_once_and_the_other_side_and_coordinators_are_told(trade, coordinator, outbox):
    transfer, payer, payee = trade
    dispute = open_case(transfer, payer)
    assert dispute.status == DisputeStatus.OPEN
    dispute_mails = [m for m in outbox() if "geschil" in m["Subject"]]
    assert [m["To"] for m in dispute_mails] == [payee.user.email]
    with pytest.raises(DomainError) as error:
        open_case(transfer, payee)
    assert error.value.code == "dispute_exists"
    assert selectors.disputed_transfer_ids(transfer_ids=[transfer.id]) == {transfer.id}


def test_outsiders_late_comers_and_reversed_transfers_cannot_open(ring, trade, coordinator):
    transfer, payer, _ = trade
    with pytest.raises(DomainError):
        open_case(transfer, factories.MemberFactory(ring=ring))
    clock.freeze(clock.now() + timedelta(days=ring.dispute_days + 1))
    with pytest.raises(DomainError):
        open_case(transfer, payer)
    clock.freeze(None)
    run_ledger_transaction(lambda: ledger.transfer_reverse(
        transfer=transfer, reversed_by=coordinator.user, reason="fout", idempotency_key="r"))
    with pytest.raises(DomainError):
        open_case(transfer, payer)


def test_explanation_is_required(trade):
    transfer, payer, _ = trade
    with pytest.raises(DomainError) as error:
        open_case(transfer, payer, explanation="  ")
    assert error.value.field == "explanation"


def test_mediation_with_notes_that_parties_never_see(ring, trade, coordinator):
    transfer, payer, payee = trade
    dispute = open_case(transfer, payer)
    second = factories.MemberFactory(ring=ring, role="coordinator")
    services.dispute_take(dispute=dispute, coordinator=coordinator.user)
    services.dispute_assign_second(dispute=dispute, assigned_by=coordinator.user, coordinator=second)
    services.dispute_respond(dispute=dispute, author=payee, body="Het was echt twee uur.")
    services.dispute_note(dispute=dispute, author=coordinator.user, body="Vermoedelijk misverstand.")
    services.dispute_message(dispute=dispute, author=coordinator.user, body="Zullen we even bellen?")
    db.session.commit()
    assert dispute.status == DisputeStatus.IN_MEDIATION and dispute.second_mediator_id == second.user_id
    public = [e.kind for e in selectors.timeline(dispute=dispute, include_private=False)]
    everything = [e.kind for e in selectors.timeline(dispute=dispute, include_private=True)]
    assert EventKind.NOTE not in public and EventKind.NOTE in everything
    assert public == [EventKind.OPENED, EventKind.TAKEN, EventKind.ASSIGNED, EventKind.RESPONSE, EventKind.MESSAGE]


def test_a_party_cannot_mediate_or_resolve_their_own_case(ring, trade):
    transfer, payer, payee = trade
    payee.role = "coordinator"
    dispute = open_case(transfer, payer)
    with pytest.raises(DomainError) as error:
        services.dispute_take(dispute=dispute, coordinator=payee.user)
    assert error.value.code == "party_cannot_mediate"
    with pytest.raises(DomainError):
        services.dispute_resolve(dispute=dispute, resolved_by=payee.user, outcome=DisputeOutcome.FULL_REVERSAL,
                                 note="", idempotency_key="x")


def test_partial_correction_books_through_the_ledger_in_the_same_transaction(trade, coordinator, outbox):
    transfer, payer, payee = trade
    dispute = open_case(transfer, payer)
    run_ledger_transaction(lambda: services.dispute_resolve(
        dispute=dispute, resolved_by=coordinator.user, outcome=DisputeOutcome.PARTIAL_CORRECTION,
        note="Samen afgesproken: een uur terug.", amount=60, back_to_payer=True, idempotency_key="res"))
    assert dispute.status == DisputeStatus.RESOLVED and dispute.resolution_transfer.kind == TransferKind.CORRECTION
    assert (balance(payer), balance(payee)) == (-60, 60)
    assert ledger_verify() == []
    # Each party hears once, with the outcome; the ledger's own correction notice is not
    # sent on top of it.
    mails = [m for m in outbox() if "correctie van 1:00 uur" in m.get_content()]
    assert sorted(m["To"] for m in mails) == sorted([payer.user.email, payee.user.email])
    assert all("geschil" in m["Subject"] for m in mails)


def test_full_reversal_and_no_action(trade, coordinator, outbox):
    transfer, payer, payee = trade
    dispute = open_case(transfer, payer)
    with pytest.raises(DomainError) as error:
        run_ledger_transaction(lambda: services.dispute_resolve(
            dispute=dispute, resolved_by=coordinator.user, outcome=DisputeOutcome.NO_ACTION, note="",
            idempotency_key="a"))
    assert error.value.field == "note"
    run_ledger_transaction(lambda: services.dispute_resolve(
        dispute=dispute, resolved_by=coordinator.user, outcome=DisputeOutcome.FULL_REVERSAL, note="",
        idempotency_key="b"))
    assert (balance(payer), balance(payee)) == (0, 0)
    assert dispute.resolution_transfer.reverses_id == transfer.id
    reversal_mails = [m for m in outbox() if "teruggedraaid" in m.get_content()]
    assert sorted(m["To"] for m in reversal_mails) == sorted([payer.user.email, payee.user.email])


@pytest.mark.parametrize("first", ["withdraw", "resolve"])
def test_closed_cases_refuse_every_further_step(trade, coordinator, first):
    transfer, payer, payee = trade
    dispute = open_case(transfer, payer)
    if first == "withdraw":
        services.dispute_withdraw(dispute=dispute, withdrawn_by=payer)
    else:
        run_ledger_transaction(lambda: services.dispute_resolve(
            dispute=dispute, resolved_by=coordinator.user, outcome=DisputeOutcome.AGREEMENT, note="",
            idempotency_key="z"))
    db.session.commit()
    with pytest.raises(DomainError) as error:
        run_ledger_transaction(lambda: services.dispute_resolve(
            dispute=dispute, resolved_by=coordinator.user, outcome=DisputeOutcome.FULL_REVERSAL, note="",
            idempotency_key="y"))
    assert error.value.code == "illegal_transition"
    with pytest.raises(DomainError):
        services.dispute_withdraw(dispute=dispute, withdrawn_by=payer)
    with pytest.raises(DomainError):
        services.dispute_respond(dispute=dispute, author=payee, body="nog iets")
    assert balance(payee) == 120


def test_only_the_opener_withdraws(trade):
    transfer, payer, payee = trade
    dispute = open_case(transfer, payer)
    with pytest.raises(DomainError):
        services.dispute_withdraw(dispute=dispute, withdrawn_by=payee)


def test_stale_cases_are_flagged_after_fourteen_quiet_days(ring, trade):
    transfer, payer, _ = trade
    dispute = open_case(transfer, payer)
    assert not selectors.is_stale(dispute)
    clock.freeze(clock.now() + timedelta(days=15))
    assert selectors.is_stale(dispute)
    assert selectors.dispute_queue(ring=ring)[0].id == dispute.id
