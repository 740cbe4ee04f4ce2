"""The ledger's write path: payments, limits, idempotency, reversals, requests, bulk."""

from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from ruilkring import clock
from ruilkring.database import run_ledger_transaction
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.audit.models import AuditEvent
from ruilkring.ledger import selectors, services
from ruilkring.ledger.models import Entry, PaymentRequest, PaymentRequestStatus, Transfer, TransferKind
from ruilkring.ledger.verify import ledger_verify
from ruilkring.listings.models import Listing
from ruilkring.members.models import MemberStatus
from tests import factories
from tests.helpers import balance


@pytest.fixture
def pair(ring):
    return factories.MemberFactory(ring=ring), factories.MemberFactory(ring=ring)


def pay(payer, payee, amount, key="k1", description="tuin"):
    return run_ledger_transaction(lambda: services.payment_create(
        payer=payer, payee=payee, amount=amount, description=description, idempotency_key=key))


def test_payment_moves_balances_writes_two_entries_and_keeps_invariants(pair, outbox):
    payer, payee = pair
    transfer = pay(payer, payee, 90)
    assert (balance(payer), balance(payee)) == (-90, 90)
    entries = db.session.scalars(select(Entry).where(Entry.transfer_id == transfer.id).order_by(Entry.amount)).all()
    assert [(e.amount, e.balance_after, e.account_version) for e in entries] == [(-90, -90, 1), (90, 90, 1)]
    assert ledger_verify() == []
    [mail] = outbox()
    assert mail["To"] == payee.user.email and "1:30" in mail["Subject"]


def test_a_member_admitted_before_accounts_existed_gets_one_when_paid(pair):
    payer, payee = pair
    db.session.delete(payee.account)
    db.session.commit()
    assert services.account_ids(payer, payee).keys() == {payer.id, payee.id}
    pay(payer, payee, 30)
    assert (balance(payer), balance(payee)) == (-30, 30) and ledger_verify() == []


def test_the_sessions_objects_follow_what_the_write_path_wrote(pair):
    """transfer_create writes in SQL past the ORM: the accounts in the session and the
    transfer it returns must still be what the database holds, before and after commit."""
    payer, payee = (services.account_open(member=member) for member in pair)
    transfer = services.transfer_create(payer_id=payer.id, payee_id=payee.id, amount=45, idempotency_key="s1",
                                        entered_by=pair[0].user, description="boodschappen")
    assert (payer.balance, payer.version, payee.balance, payee.version) == (-45, 1, 45, 1)
    assert transfer in db.session and transfer.payer is payer and transfer.payee is payee
    assert (transfer.amount, transfer.description, transfer.entered_by) == (45, "boodschappen", pair[0].user)
    assert sorted(entry.amount for entry in transfer.entries) == [-45, 45]
    db.session.commit()
    assert (payer.balance, payee.balance, transfer.kind) == (-45, 45, TransferKind.TRADE)
    assert ledger_verify() == []


def test_a_transfer_after_a_rolled_back_one_is_its_own_object(pair):
    """SQLite gives a rolled-back transfer's id to the next one; the session must not hand
    back the rolled-back object for it."""
    payer, payee = (services.account_open(member=member) for member in pair)
    db.session.commit()
    refused = []  # held, as a caller may hold it: the identity map keeps only referenced objects

    def refused_after_booking():
        refused.append(services.transfer_create(payer_id=payer.id, payee_id=payee.id, amount=30,
                                                idempotency_key="gone", entered_by=None, description="teruggerold"))
        raise DomainError("stop")

    with pytest.raises(DomainError):
        run_ledger_transaction(refused_after_booking)
    transfer = run_ledger_transaction(lambda: services.transfer_create(
        payer_id=payer.id, payee_id=payee.id, amount=45, idempotency_key="kept", entered_by=None,
        description="blijft"))
    assert (transfer.amount, transfer.description, transfer.idempotency_key) == (45, "blijft", "kept")
    assert db.session.get(Transfer, transfer.id) is transfer
    assert (balance(pair[0]), balance(pair[1])) == (-45, 45)


def test_an_unknown_account_is_refused(pair):
    payer = services.account_open(member=pair[0])
    with pytest.raises(DomainError) as error:
        services.transfer_create(payer_id=payer.id, payee_id=payer.id + 1000, amount=30, idempotency_key="k",
                                 entered_by=None, description="niemand")
    assert error.value.field == "payee"


def test_replayed_key_returns_the_first_transfer_and_pays_once(pair, outbox):
    payer, payee = pair
    first = pay(payer, payee, 60)
    again = pay(payer, payee, 60)
    assert again.id == first.id and again.replayed
    assert balance(payee) == 60
    assert len(outbox()) == 1
    assert db.session.scalar(select(db.func.count()).select_from(Transfer)) == 1


def test_same_key_with_another_payload_is_refused(pair):
    payer, payee = pair
    pay(payer, payee, 60)
    with pytest.raises(DomainError) as error:
        pay(payer, payee, 61)
    assert error.value.code == "idempotency_conflict"
    assert balance(payee) == 60


def test_a_replay_is_answered_with_the_first_transfer_even_where_limits_now_refuse(ring, pair, outbox):
    """The second click of a payment that took the payer to the limit is the same payment,
    not a refused one; a new key at the limit is refused."""
    payer, payee = pair
    ring.default_min_balance = -60
    db.session.commit()
    first = pay(payer, payee, 60, key="a")
    again = pay(payer, payee, 60, key="a")
    assert again.id == first.id and again.replayed
    with pytest.raises(services.LimitExceeded):
        pay(payer, payee, 60, key="b")
    with pytest.raises(DomainError) as error:
        pay(payer, payee, 45, key="a")
    assert error.value.code == "idempotency_conflict"
    assert balance(payer) == -60 and len(outbox()) == 1


def test_limits_refuse_and_say_how_much_is_possible(ring, pair):
    payer, payee = pair
    ring.default_min_balance = -120
    db.session.commit()
    pay(payer, payee, 100, key="a")
    with pytest.raises(services.LimitExceeded) as error:
        pay(payer, payee, 30, key="b")
    assert error.value.possible == 20
    assert "0:20" in str(error.value.message)
    assert balance(payer) == -100


def test_payee_maximum_is_checked(ring, pair):
    payer, payee = pair
    ring.default_max_balance = 60
    db.session.commit()
    with pytest.raises(services.LimitExceeded) as error:
        pay(payer, payee, 90)
    assert error.value.possible == 60


def test_account_past_a_tightened_limit_may_move_back_only(ring, pair, coordinator):
    payer, payee = pair
    pay(payer, payee, 300, key="a")
    account = services.account_open(member=payer)
    services.limits_set(account=account, min_balance=-120, max_balance=None,
                        changed_by=coordinator.user, reason="te veel schuld")
    db.session.commit()
    with pytest.raises(services.LimitExceeded) as error:
        pay(payer, payee, 1, key="b")
    assert error.value.possible == 0
    pay(payee, payer, 60, key="c")  # towards the limit is fine
    assert balance(payer) == -240
    assert ledger_verify() == []


def test_leaving_member_may_only_trade_towards_zero(pair, coordinator):
    payer, payee = pair
    pay(payer, payee, 120, key="a")
    payee.status = MemberStatus.LEAVING
    db.session.commit()
    with pytest.raises(services.LimitExceeded):
        pay(payer, payee, 10, key="b")  # payee would go further from zero
    pay(payee, payer, 120, key="c")  # back to zero: allowed
    with pytest.raises(services.LimitExceeded):
        pay(payee, payer, 1, key="d")  # past zero: refused
    assert balance(payee) == 0


@pytest.mark.parametrize("amount", [0, -5])
def test_amount_must_be_positive(pair, amount):
    with pytest.raises(DomainError) as error:
        pay(*pair, amount)
    assert error.value.field == "amount"


def test_cannot_pay_yourself_or_another_ring(pair):
    payer, _ = pair
    with pytest.raises(DomainError):
        pay(payer, payer, 10)
    stranger = factories.MemberFactory()
    with pytest.raises(DomainError):
        pay(payer, stranger, 10)


def test_inactive_member_cannot_be_paid(pair):
    payer, payee = pair
    payee.status = MemberStatus.INACTIVE
    db.session.commit()
    with pytest.raises(DomainError):
        pay(payer, payee, 10)


def test_reversal_swaps_accounts_once_and_notifies(pair, coordinator, outbox):
    payer, payee = pair
    transfer = pay(payer, payee, 45)
    reversal = run_ledger_transaction(lambda: services.transfer_reverse(
        transfer=transfer, reversed_by=coordinator.user, reason="dubbel", idempotency_key="r1"))
    assert (reversal.payer_account_id, reversal.payee_account_id) == (transfer.payee_account_id, transfer.payer_account_id)
    assert reversal.reverses_id == transfer.id and reversal.kind == TransferKind.REVERSAL
    assert (balance(payer), balance(payee)) == (0, 0)
    with pytest.raises(DomainError) as error:
        run_ledger_transaction(lambda: services.transfer_reverse(
            transfer=transfer, reversed_by=coordinator.user, reason="nog eens", idempotency_key="r2"))
    assert error.value.code == "already_reversed"
    recipients = sorted(m["To"] for m in outbox())
    assert payer.user.email in recipients and payee.user.email in recipients
    assert ledger_verify() == []


def test_reversal_past_a_limit_needs_a_logged_override(ring, pair, coordinator):
    payer, payee = pair
    transfer = pay(payer, payee, 100, key="a")
    run_ledger_transaction(lambda: services.payment_create(
        payer=payee, payee=factories.MemberFactory(ring=ring), amount=100, description="door", idempotency_key="b"))
    ring.default_min_balance = -50
    db.session.commit()
    with pytest.raises(services.LimitExceeded):
        run_ledger_transaction(lambda: services.transfer_reverse(
            transfer=transfer, reversed_by=coordinator.user, reason="fout", idempotency_key="r"))
    reversal = run_ledger_transaction(lambda: services.transfer_reverse(
        transfer=transfer, reversed_by=coordinator.user, reason="fout", idempotency_key="r",
        override_limits=True))
    assert reversal.limit_override
    assert balance(payee) == -100
    assert ledger_verify() == []


def test_correction_needs_a_reason(pair, coordinator):
    payer, payee = pair
    transfer = pay(payer, payee, 60)
    with pytest.raises(DomainError):
        services.transfer_correct(payer=transfer.payee, payee=transfer.payer, amount=30,
                                  corrected_by=coordinator.user, reason=" ", idempotency_key="c")
    run_ledger_transaction(lambda: services.transfer_correct(
        payer=transfer.payee, payee=transfer.payer, amount=30, corrected_by=coordinator.user,
        reason="half", idempotency_key="c", related=transfer))
    assert balance(payee) == 30


def test_coordinator_booking_records_who_and_for_whom(pair, coordinator):
    payer, payee = pair
    with pytest.raises(DomainError) as error:
        services.coordinator_book(payer=payer, payee=payee, amount=60, description="klus", note="",
                                  booked_by=coordinator.user, idempotency_key="b")
    assert error.value.field == "note"
    transfer = run_ledger_transaction(lambda: services.coordinator_book(
        payer=payer, payee=payee, amount=60, description="klus", note="briefje",
        booked_by=coordinator.user, idempotency_key="b"))
    assert transfer.entered_by_id == coordinator.user_id
    assert transfer.on_behalf_of_id == payer.id and transfer.reason == "briefje"


def test_bulk_booking_is_all_or_nothing(ring, coordinator):
    members = [factories.MemberFactory(ring=ring) for _ in range(3)]
    ring.default_min_balance = -30
    db.session.commit()
    pay(members[0], coordinator, 20, key="pre")
    preview = services.bulk_preview(ring=ring, members=members, amount=15, direction="from_members")
    assert [line.possible for line in preview] == [False, True, True]
    with pytest.raises(DomainError):
        run_ledger_transaction(lambda: services.bulk_book(
            ring=ring, members=members, amount=15, direction="from_members", description="bijdrage",
            booked_by=coordinator.user, idempotency_key="bulk"))
    assert [balance(m) for m in members] == [-20, 0, 0]
    transfers = run_ledger_transaction(lambda: services.bulk_book(
        ring=ring, members=members[1:], amount=15, direction="from_members", description="bijdrage",
        booked_by=coordinator.user, idempotency_key="bulk2"))
    assert len(transfers) == 2
    pot = services.system_account(ring=ring, kind=services.AccountKind.POT)
    assert pot.balance == 30
    assert ledger_verify() == []


def test_bulk_preview_moves_the_counterpart_line_by_line(ring, coordinator):
    """A member paying everyone reaches their limit part-way: the preview says where."""
    members = [factories.MemberFactory(ring=ring) for _ in range(3)]
    ring.default_min_balance = -30
    db.session.commit()
    preview = services.bulk_preview(ring=ring, members=members[1:], amount=20, direction="to_members",
                                    counterpart=members[0])
    assert [line.possible for line in preview] == [True, False]
    assert "0:10" in preview[1].problem
    with pytest.raises(DomainError):
        run_ledger_transaction(lambda: services.bulk_book(
            ring=ring, members=members[1:], amount=20, direction="to_members", description="dank",
            booked_by=coordinator.user, idempotency_key="bulk", counterpart=members[0]))


def test_a_bulk_booking_sent_twice_books_and_logs_once(ring, coordinator):
    members = [factories.MemberFactory(ring=ring) for _ in range(2)]
    db.session.commit()
    for _ in range(2):
        run_ledger_transaction(lambda: services.bulk_book(
            ring=ring, members=members, amount=15, direction="from_members", description="bijdrage",
            booked_by=coordinator.user, idempotency_key="bulk"))
    assert [balance(member) for member in members] == [-15, -15]
    assert db.session.scalar(select(db.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "transfer.bulk_book")) == 1


def test_a_leaving_member_is_followed_up_until_their_balance_is_zero(ring, pair):
    payer, payee = pair
    pay(payer, payee, 60)
    payer.status = MemberStatus.LEAVING
    db.session.commit()
    assert [account.member_id for account, _ in selectors.accounts_at_or_past_limit(ring=ring)] == [payer.id]
    status = selectors.limit_status(services.account_open(member=payer))
    assert status.past and not status.near_min
    pay(payee, payer, 60, key="back")
    assert selectors.accounts_at_or_past_limit(ring=ring) == []
    status = selectors.limit_status(services.account_open(member=payer))
    assert not (status.past or status.near_min or status.near_max)  # nothing to warn about at zero


def test_a_request_form_racing_itself_sends_one_request(pair, monkeypatch, outbox):
    """Two submits of one request form at once: the second one's insert meets the key's
    unique index (its look-up came too early to see the first) and answers with the first."""
    payer, payee = pair
    first = services.payment_request_create(payee=payee, payer=payer, amount=30, description="oppas",
                                            idempotency_key="r1")
    db.session.commit()
    looked_up = services._request_sent_before
    calls = []
    monkeypatch.setattr(services, "_request_sent_before",
                        lambda request: looked_up(request) if calls.append(request) or len(calls) > 1 else None)
    again = services.payment_request_create(payee=payee, payer=payer, amount=30, description="oppas",
                                            idempotency_key="r1")
    db.session.commit()
    assert again.id == first.id and again.replayed and len(calls) == 2
    assert db.session.scalar(select(db.func.count()).select_from(PaymentRequest)) == 1
    assert len(outbox()) == 1


def test_payment_request_accept_decline_cancel_expire(ring, pair):
    payer, payee = pair
    request = services.payment_request_create(payee=payee, payer=payer, amount=30, description="oppas")
    db.session.commit()
    with pytest.raises(DomainError):
        services.payment_request_accept(request=request, accepted_by=payee)
    transfer = run_ledger_transaction(lambda: services.payment_request_accept(request=request, accepted_by=payer))
    assert request.status == PaymentRequestStatus.ACCEPTED and request.transfer_id == transfer.id
    again = run_ledger_transaction(lambda: services.payment_request_accept(request=request, accepted_by=payer))
    assert again.id == transfer.id and balance(payee) == 30

    declined = services.payment_request_create(payee=payee, payer=payer, amount=30, description="x")
    with pytest.raises(DomainError):
        services.payment_request_decline(request=declined, declined_by=payer, reason="")
    services.payment_request_decline(request=declined, declined_by=payer, reason="niet gedaan")
    assert declined.status == PaymentRequestStatus.DECLINED

    cancelled = services.payment_request_create(payee=payee, payer=payer, amount=30, description="y")
    services.payment_request_cancel(request=cancelled, cancelled_by=payee)
    with pytest.raises(DomainError):
        services.payment_request_cancel(request=cancelled, cancelled_by=payee)

    old = services.payment_request_create(payee=payee, payer=payer, amount=30, description="z")
    db.session.commit()
    clock.freeze(clock.now() + timedelta(days=ring.payment_request_days + 1))
    with pytest.raises(DomainError) as error:
        run_ledger_transaction(lambda: services.payment_request_accept(request=old, accepted_by=payer))
    assert error.value.code == "request_expired"
    assert balance(payee) == 30


def test_verify_names_what_is_wrong(pair):
    payer, payee = pair
    pay(payer, payee, 60)
    # Corrupt the cache behind the services' back (accounts are not guarded by triggers).
    db.session.execute(text("UPDATE accounts SET balance = balance + 5 WHERE member_id = :m"), {"m": payee.id})
    db.session.commit()
    problems = ledger_verify()
    assert any(p.startswith("ring_sum_zero") for p in problems)
    assert any(p.startswith("cached_balance") for p in problems)


def test_postgresql_refuses_to_edit_transfers_and_entries(app, pair):
    if db.engine.dialect.name != "postgresql":
        assert db.engine.dialect.name == "sqlite"  # the guards are PostgreSQL triggers
        return
    transfer = pay(*pair, 60)
    for statement in ("UPDATE transfers SET amount = 1", "DELETE FROM entries",
                      f"DELETE FROM transfers WHERE id = {transfer.id}"):
        with pytest.raises(Exception, match="immutable"):
            db.session.execute(text(statement))
        db.session.rollback()


def test_postgresql_refuses_an_unbalanced_transfer_at_commit(app, pair):
    if db.engine.dialect.name != "postgresql":
        return
    transfer = pay(*pair, 60)
    db.session.execute(text(
        "INSERT INTO transfers (ring_id, payer_account_id, payee_account_id, amount, kind, description, reason,"
        " idempotency_key, payload_hash, limit_override, occurred_on, created_at)"
        " SELECT ring_id, payer_account_id, payee_account_id, 5, 'trade', '', '', 'lonely', 'x', false,"
        " occurred_on, created_at FROM transfers WHERE id = :id"), {"id": transfer.id})
    with pytest.raises(Exception, match="not 2 summing to 0"):
        db.session.commit()
    db.session.rollback()


def test_postgresql_refuses_an_entry_added_later_to_a_transfer(app, pair):
    if db.engine.dialect.name != "postgresql":
        return
    transfer = pay(*pair, 60)
    third = services.account_open(member=factories.MemberFactory(ring=pair[0].ring))
    db.session.commit()
    db.session.execute(text(
        "INSERT INTO entries (transfer_id, account_id, amount, balance_after, account_version)"
        " VALUES (:transfer, :account, 5, 5, 1)"), {"transfer": transfer.id, "account": third.id})
    with pytest.raises(Exception, match="has 3 entries"):
        db.session.commit()
    db.session.rollback()
    assert ledger_verify() == []


def test_expire_requests_command_marks_only_overdue_pending_requests(app, ring, pair):
    payer, payee = pair
    overdue = services.payment_request_create(payee=payee, payer=payer, amount=30, description="oud")
    db.session.commit()
    clock.freeze(clock.now() + timedelta(days=ring.payment_request_days + 1))
    fresh = services.payment_request_create(payee=payee, payer=payer, amount=30, description="nieuw")
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["ledger", "expire-requests"])
    assert result.exit_code == 0 and "1 payment requests expired" in result.output
    db.session.expire_all()
    assert (overdue.status, fresh.status) == (PaymentRequestStatus.EXPIRED, PaymentRequestStatus.PENDING)
    assert app.test_cli_runner().invoke(args=["ledger", "expire-requests"]).output.startswith("0 ")


@pytest.mark.parametrize("key", ["r2", None])
def test_a_request_refused_by_the_database_for_another_reason_is_not_taken_for_a_replay(ring, pair, key):
    payer, payee = pair
    services.payment_request_create(payee=payee, payer=payer, amount=30, description="oppas")  # no key
    db.session.commit()
    gone = Listing(id=10**6, ring_id=ring.id)  # a listing that is not there: the foreign key refuses it
    with pytest.raises(IntegrityError):
        services.payment_request_create(payee=payee, payer=payer, amount=30, description="oppas", listing=gone,
                                        idempotency_key=key)
    db.session.rollback()
