"""The ledger against a plain Python model, driven by a Hypothesis state machine.

Every rule calls the real services the way the views do (ledger writes through
``run_ledger_transaction``, other writes followed by one commit) and applies the same
operation to a model made of dicts and sets. The model decides on its own whether an
operation must be refused, from the rules in DESIGN.md section 4:

- a debit may not end below the minimum in force, a credit may not end above the maximum
  in force; in force means the personal limit, else the ring's default; a leaving member
  has minimum = maximum = 0; the ring's pot has no limits;
- an idempotency key replayed with the same payload returns the first transfer, with
  another payload it is refused (``idempotency_conflict``);
- a transfer is reversed at most once (``already_reversed``), and past a limit only with
  an override; a bulk booking is all or nothing.

After every step the invariants compare the database with the model and run
``ledger_verify()``.
"""

import os
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from ruilkring.database import run_ledger_transaction
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.ledger import services
from ruilkring.ledger.models import Account, AccountKind, PaymentRequest, Transfer, TransferKind
from ruilkring.ledger.verify import ledger_verify
from ruilkring.members.services import member_mark_leaving, member_reactivate
from tests import factories
from tests.conftest import empty_database

DESCRIPTIONS = ("tuin", "oppas", "fietsband plakken")
MAX_MEMBERS = 6

# Each example does real database work, so on a failure Hypothesis's shrinker may spend its
# full five minutes per database; by default a failure shows the unshrunk steps (at most 30)
# instead. RUILKRING_TEST_SHRINK=1 asks for the smallest failing sequence.
PHASES = [Phase.explicit, Phase.generate]
if os.environ.get("RUILKRING_TEST_SHRINK"):
    PHASES.append(Phase.shrink)

# Measured: about 40 s for both databases together on a busy two-core machine.
SETTINGS = settings(
    max_examples=15,
    stateful_step_count=30,
    derandomize=True,  # the same sequences on every run: deterministic in CI
    database=None,
    deadline=None,
    phases=PHASES,
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@dataclass(frozen=True)
class Payload:
    """What an idempotency key was used for (mirrors the service's payload hash)."""

    payer: int
    payee: int
    amount: int
    kind: TransferKind
    description: str
    reverses: int | None = None


@dataclass
class ModelTransfer:
    id: int
    payer: int
    payee: int
    amount: int
    kind: TransferKind


@dataclass
class ModelRequest:
    id: int
    payer: int  # member index
    payee: int
    amount: int
    description: str
    status: str = "pending"
    transfer_id: int | None = None


@dataclass
class LedgerModel:
    """The ledger as plain Python: balances per account id, limits, keys, reversals."""

    default_min: int
    default_max: int
    pot: int
    balances: dict[int, int] = field(default_factory=dict)
    personal: dict[int, tuple[int | None, int | None]] = field(default_factory=dict)
    leaving: set[int] = field(default_factory=set)
    keys: dict[str, tuple[Payload, int]] = field(default_factory=dict)  # key -> (payload, transfer id)
    transfers: dict[int, ModelTransfer] = field(default_factory=dict)
    reversed: set[int] = field(default_factory=set)

    def limits(self, account: int) -> tuple[int | None, int | None]:
        if account == self.pot:
            return None, None
        if account in self.leaving:
            return 0, 0
        own_min, own_max = self.personal.get(account, (None, None))
        return (own_min if own_min is not None else self.default_min,
                own_max if own_max is not None else self.default_max)

    def room(self, payer: int, payee: int, balances: dict[int, int] | None = None) -> int | None:
        """The largest amount the limits allow from payer to payee (None: no limit)."""
        balances = self.balances if balances is None else balances
        lowest, highest = self.limits(payer)[0], self.limits(payee)[1]
        caps = []
        if lowest is not None:
            caps.append(balances[payer] - lowest)
        if highest is not None:
            caps.append(highest - balances[payee])
        return min(caps) if caps else None

    def refusal(self, payer: int, payee: int, amount: int, balances=None) -> int | None:
        """None when the move is allowed, else the amount that would have been possible."""
        room = self.room(payer, payee, balances)
        if room is None or amount <= room:
            return None
        return max(0, room)

    def book(self, transfer_id: int, key: str, payload: Payload) -> None:
        assert transfer_id not in self.transfers, "a new transfer reused an existing id"
        self.balances[payload.payer] -= payload.amount
        self.balances[payload.payee] += payload.amount
        self.keys[key] = (payload, transfer_id)
        self.transfers[transfer_id] = ModelTransfer(
            transfer_id, payload.payer, payload.payee, payload.amount, payload.kind)
        if payload.reverses is not None:
            self.reversed.add(payload.reverses)


class LedgerMachine(RuleBasedStateMachine):
    """Members of one ring pay, request, reverse, correct and book in bulk; limits change."""

    def __init__(self):
        super().__init__()
        self.model: LedgerModel | None = None
        self.members = []  # Member rows; the model speaks of their account ids
        self.accounts: list[int] = []
        self.requests: list[ModelRequest] = []
        self.counter = 0

    def fresh_key(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    def teardown(self):
        db.session.rollback()
        db.session.expunge_all()  # ids restart after emptying; no stale rows may linger
        empty_database()

    # Set-up

    @initialize(
        default_min=st.sampled_from([-120, -300, -1200, 0]),
        default_max=st.sampled_from([120, 300, 2400]),
    )
    def set_up_ring(self, default_min, default_max):
        self.ring = factories.RingFactory(default_min_balance=default_min, default_max_balance=default_max)
        self.coordinator = factories.UserFactory()
        pot = services.system_account(ring=self.ring, kind=AccountKind.POT)
        db.session.commit()
        self.model = LedgerModel(default_min=default_min, default_max=default_max, pot=pot.id,
                                 balances={pot.id: 0})
        for _ in range(2):
            self.add_member()

    def add_member(self):
        member = factories.MemberFactory(ring=self.ring)
        account = services.account_open(member=member)
        db.session.commit()
        self.members.append(member)
        self.accounts.append(account.id)
        self.model.balances[account.id] = 0

    def pick_pair(self, data, *, with_pot=False):
        """Two different accounts (by id); with_pot lets either be the ring's pot."""
        choices = self.accounts + ([self.model.pot] if with_pot else [])
        first = data.draw(st.sampled_from(choices), label="payer")
        second = data.draw(st.sampled_from([a for a in choices if a != first]), label="payee")
        return first, second

    def member_of(self, account: int):
        return self.members[self.accounts.index(account)]

    def draw_amount(self, data, room: int | None) -> int:
        """Mostly small amounts, often exactly at or one past the limit."""
        edge = data.draw(st.sampled_from(["small", "room", "small", "past", "large"]), label="amount kind")
        if edge == "small" or (room is None and edge != "large"):
            return data.draw(st.integers(1, 90), label="amount")
        if edge == "large":
            return data.draw(st.integers(91, 600), label="amount")
        amount = room if edge == "room" else room + 1
        return min(max(1, amount), services.MAX_AMOUNT)

    def expect_refusal(self, call, why: str) -> DomainError:
        """Run ``call``, which the model says must be refused; return the domain error."""
        try:
            result = call()
        except DomainError as error:
            return error
        raise AssertionError(f"the model predicts a refusal ({why}), the service did it: {result!r}")

    def expect_success(self, call, what: str):
        """Run ``call``, which the model says must succeed; return its result."""
        try:
            return call()
        except DomainError as error:
            raise AssertionError(f"the model allows {what}, the service refused: {error!r}") from error

    def expect_limit_refusal(self, call, possible: int) -> None:
        error = self.expect_refusal(call, "limit")
        assert isinstance(error, services.LimitExceeded), f"refused for another reason: {error}"
        assert error.possible == possible, "the service names another possible amount"

    # Rules

    @precondition(lambda self: len(self.members) < MAX_MEMBERS)
    @rule()
    def create_member(self):
        self.add_member()

    @rule(data=st.data())
    def pay(self, data):
        """A member pays another: booked exactly when the model's limit rule allows it."""
        payer, payee = self.pick_pair(data)
        amount = self.draw_amount(data, self.model.room(payer, payee))
        description = data.draw(st.sampled_from(DESCRIPTIONS))
        key = self.fresh_key("pay")

        def call():
            return run_ledger_transaction(lambda: services.payment_create(
                payer=self.member_of(payer), payee=self.member_of(payee), amount=amount,
                description=description, idempotency_key=key))

        possible = self.model.refusal(payer, payee, amount)
        if possible is not None:
            self.expect_limit_refusal(call, possible)
            return
        transfer = self.expect_success(call, "the payment")
        assert not transfer.replayed
        self.model.book(transfer.id, key, Payload(payer, payee, amount, TransferKind.TRADE, description))

    @precondition(lambda self: any(p.kind == TransferKind.TRADE for p, _ in self.model.keys.values()))
    @rule(data=st.data())
    def replay_key(self, data):
        """The same payload again (a double click, a retried request): the first transfer,
        nothing booked, even when the limits would now refuse it."""
        trade_keys = sorted(k for k, (p, _) in self.model.keys.items() if p.kind == TransferKind.TRADE)
        key = data.draw(st.sampled_from(trade_keys), label="key")
        payload, transfer_id = self.model.keys[key]
        padding = data.draw(st.sampled_from(["", "  "]), label="padding")  # stripped before hashing
        transfer = self.expect_success(lambda: run_ledger_transaction(lambda: services.payment_create(
            payer=self.member_of(payload.payer), payee=self.member_of(payload.payee),
            amount=payload.amount, description=padding + payload.description + padding,
            idempotency_key=key)), "the replay")
        assert transfer.id == transfer_id and transfer.replayed

    @precondition(lambda self: self.model.keys)
    @rule(data=st.data())
    def reuse_key_with_another_payload(self, data):
        """A key already used (by any kind of transfer) with another payload is refused."""
        key = data.draw(st.sampled_from(sorted(self.model.keys)), label="key")
        payload, _ = self.model.keys[key]
        if payload.kind == TransferKind.TRADE:
            change = data.draw(st.sampled_from(["amount", "description", "direction"]), label="change")
            payer, payee = payload.payer, payload.payee
            amount, description = payload.amount, payload.description
            if change == "amount":
                amount = amount + 1 if amount < services.MAX_AMOUNT else amount - 1
            elif change == "description":
                description += " en meer"
            else:
                payer, payee = payee, payer
        else:  # a fee, reversal or correction key used for a trade: another kind of payload
            payer, payee = self.pick_pair(data)
            amount, description = payload.amount, "tuin"
        assert Payload(payer, payee, amount, TransferKind.TRADE, description) != payload
        error = self.expect_refusal(lambda: run_ledger_transaction(lambda: services.payment_create(
            payer=self.member_of(payer), payee=self.member_of(payee), amount=amount,
            description=description, idempotency_key=key)), "key used with another payload")
        assert error.code == "idempotency_conflict", error

    @rule(data=st.data())
    def request_payment(self, data):
        """A payment request books nothing until it is accepted."""
        payee, payer = self.pick_pair(data)
        amount = self.draw_amount(data, self.model.room(payer, payee))
        description = data.draw(st.sampled_from(DESCRIPTIONS))
        request = services.payment_request_create(
            payee=self.member_of(payee), payer=self.member_of(payer), amount=amount, description=description)
        db.session.commit()
        self.requests.append(ModelRequest(request.id, payer, payee, amount, description))

    @precondition(lambda self: self.requests)
    @rule(data=st.data())
    def accept_request(self, data):
        """Accepting books the trade now (limits checked now); accepting again is the same
        transfer; a declined request stays declined."""
        modelled = data.draw(st.sampled_from(self.requests), label="request")
        request = db.session.get(PaymentRequest, modelled.id)

        def call():
            return run_ledger_transaction(lambda: services.payment_request_accept(
                request=request, accepted_by=self.member_of(modelled.payer)))

        if modelled.status == "declined":
            assert self.expect_refusal(call, "declined request").code == "request_closed"
            return
        if modelled.status == "accepted":
            assert self.expect_success(call, "accepting again").id == modelled.transfer_id
            return
        possible = self.model.refusal(modelled.payer, modelled.payee, modelled.amount)
        if possible is not None:
            self.expect_limit_refusal(call, possible)
            assert db.session.get(PaymentRequest, modelled.id).status == "pending"
            return
        transfer = self.expect_success(call, "accepting the request")
        self.model.book(transfer.id, f"payment-request:{modelled.id}", Payload(
            modelled.payer, modelled.payee, modelled.amount, TransferKind.TRADE, modelled.description))
        modelled.status, modelled.transfer_id = "accepted", transfer.id
        assert db.session.get(PaymentRequest, modelled.id).transfer_id == transfer.id

    @precondition(lambda self: self.requests)
    @rule(data=st.data())
    def decline_request(self, data):
        """Only a pending request can be declined; it can never be accepted afterwards."""
        modelled = data.draw(st.sampled_from(self.requests), label="request")
        request = db.session.get(PaymentRequest, modelled.id)
        if modelled.status != "pending":
            error = self.expect_refusal(lambda: services.payment_request_decline(
                request=request, declined_by=self.member_of(modelled.payer), reason="niet gedaan"),
                "request already decided")
            assert error.code == "request_closed", error
            db.session.rollback()
            return
        services.payment_request_decline(request=request, declined_by=self.member_of(modelled.payer),
                                         reason="niet gedaan")
        db.session.commit()
        modelled.status = "declined"

    @precondition(lambda self: self.model.transfers)
    @rule(data=st.data(), override=st.booleans())
    def reverse(self, data, override):
        """Once per transfer, never a reversal itself, past a limit only with an override."""
        transfer_id = data.draw(st.sampled_from(sorted(self.model.transfers)), label="transfer")
        original = self.model.transfers[transfer_id]
        key = self.fresh_key("reverse")

        def call():
            return run_ledger_transaction(lambda: services.transfer_reverse(
                transfer=db.session.get(Transfer, transfer_id), reversed_by=self.coordinator,
                reason="dubbel geboekt", idempotency_key=key, override_limits=override))

        if original.kind == TransferKind.REVERSAL:
            error = self.expect_refusal(call, "a reversal is not reversed")
            assert error.code == "invalid" and not isinstance(error, services.LimitExceeded), error
            return
        if transfer_id in self.model.reversed:
            assert self.expect_refusal(call, "reversed before").code == "already_reversed"
            return
        possible = None if override else self.model.refusal(original.payee, original.payer, original.amount)
        if possible is not None:
            self.expect_limit_refusal(call, possible)
            return
        reversal = self.expect_success(call, "the reversal")
        assert reversal.limit_override == override
        self.model.book(reversal.id, key, Payload(original.payee, original.payer, original.amount,
                                                  TransferKind.REVERSAL, "", reverses=transfer_id))

    @rule(data=st.data(), override=st.booleans())
    def correct(self, data, override):
        """A coordinator's correction between any two accounts, the pot included."""
        payer, payee = self.pick_pair(data, with_pot=True)
        amount = self.draw_amount(data, self.model.room(payer, payee))
        key = self.fresh_key("correct")

        def call():
            return run_ledger_transaction(lambda: services.transfer_correct(
                payer=db.session.get(Account, payer), payee=db.session.get(Account, payee), amount=amount,
                corrected_by=self.coordinator, reason="verkeerd bedrag", idempotency_key=key,
                override_limits=override))

        possible = None if override else self.model.refusal(payer, payee, amount)
        if possible is not None:
            self.expect_limit_refusal(call, possible)
            return
        correction = self.expect_success(call, "the correction")
        self.model.book(correction.id, key,
                        Payload(payer, payee, amount, TransferKind.CORRECTION, "Correctie"))

    @rule(data=st.data())
    def set_limits(self, data):
        """Personal limits, back to the default (None), or tightened past the balance."""
        account = data.draw(st.sampled_from(self.accounts), label="account")
        balance = self.model.balances[account]
        lowest = data.draw(st.one_of(
            st.none(), st.integers(-600, 0),
            st.just(min(0, balance + 1)),  # just above a negative balance: now past it
        ), label="min")
        highest = data.draw(st.one_of(
            st.none(), st.integers(0, 600),
            st.just(max(0, balance - 1)),  # just below a positive balance: now past it
        ), label="max")
        services.limits_set(account=db.session.get(Account, account), min_balance=lowest, max_balance=highest,
                            changed_by=self.coordinator, reason="afspraak met het lid")
        db.session.commit()
        self.model.personal[account] = (lowest, highest)

    @precondition(lambda self: len(self.model.leaving) < len(self.accounts) - 2)
    @rule(data=st.data())
    def mark_leaving(self, data):
        """A leaving member may only trade towards zero (the model's limits 0 and 0)."""
        account = data.draw(st.sampled_from([a for a in self.accounts if a not in self.model.leaving]),
                            label="account")
        member_mark_leaving(member=self.member_of(account), marked_by=self.coordinator, reason="verhuist")
        db.session.commit()
        self.model.leaving.add(account)

    @precondition(lambda self: self.model.leaving)
    @rule(data=st.data())
    def reactivate(self, data):
        """A leaving member stays after all: the ring's or personal limits apply again."""
        account = data.draw(st.sampled_from(sorted(self.model.leaving)), label="account")
        member_reactivate(member=self.member_of(account), reactivated_by=self.coordinator, reason="blijft")
        db.session.commit()
        self.model.leaving.discard(account)

    @rule(data=st.data())
    def bulk_book(self, data):
        """The same amount between each chosen member and the pot (or a member): every
        line is checked against the balances the earlier lines left; one refusal and
        nothing is booked."""
        chosen = data.draw(st.lists(st.sampled_from(self.accounts), min_size=1, max_size=4, unique=True),
                           label="members")
        direction = data.draw(st.sampled_from(["from_members", "to_members"]), label="direction")
        counterpart = data.draw(st.sampled_from([None, *self.accounts]), label="counterpart")
        amount = data.draw(st.integers(1, 300), label="amount")
        other = self.model.pot if counterpart is None else counterpart
        key = self.fresh_key("bulk")

        balances, lines, refused = dict(self.model.balances), [], None
        for account in chosen:
            payer, payee = (account, other) if direction == "from_members" else (other, account)
            if payer == payee:
                refused = "the counterpart is in the list"
                break
            if self.model.refusal(payer, payee, amount, balances) is not None:
                refused = "a line past a limit"
                break
            balances[payer] -= amount
            balances[payee] += amount
            lines.append((account, payer, payee))

        def call():
            return run_ledger_transaction(lambda: services.bulk_book(
                ring=self.ring, members=[self.member_of(a) for a in chosen], amount=amount,
                direction=direction, description="jaarbijdrage", booked_by=self.coordinator,
                idempotency_key=key, counterpart=self.member_of(counterpart) if counterpart else None))

        if refused:
            error = self.expect_refusal(call, f"bulk booking with {refused}")
            assert error.field == "members"
            assert isinstance(error.__cause__, services.LimitExceeded) == (refused == "a line past a limit")
            return
        transfers = self.expect_success(call, "the bulk booking")
        assert len(transfers) == len(chosen)
        for transfer, (account, payer, payee) in zip(transfers, lines, strict=True):
            member_id = self.member_of(account).id
            self.model.book(transfer.id, f"{key}:{member_id}",
                            Payload(payer, payee, amount, TransferKind.FEE, "jaarbijdrage"))

    # Invariants, checked after every step

    @invariant()
    def balances_match_the_model_and_sum_to_zero(self):
        if self.model is None:
            return
        stored = dict(db.session.execute(
            select(Account.id, Account.balance).where(Account.ring_id == self.ring.id)).all())
        assert stored == self.model.balances
        assert sum(stored.values()) == 0

    @invariant()
    def ledger_verifies(self):
        if self.model is None:
            return
        assert ledger_verify() == []

    @invariant()
    def one_transfer_per_modelled_transfer(self):
        if self.model is None:
            return
        count = db.session.scalar(select(func.count()).select_from(Transfer))
        assert count == len(self.model.transfers)


def test_ledger_behaves_like_the_model(app):
    """Random sequences of ledger operations keep the books equal to the model, on both
    databases: 15 sequences of up to 30 steps each."""
    run_state_machine_as_test(LedgerMachine, settings=SETTINGS)


def test_the_machine_notices_a_broken_limit_check(app, monkeypatch):
    """Without the limit check the model's predicted refusals do not happen: the machine
    must fail, so a green run above means something."""
    monkeypatch.setattr(services, "_check_limits_values", lambda *args: None)
    with pytest.raises(AssertionError, match="predicts a refusal"):
        run_state_machine_as_test(LedgerMachine, settings=settings(SETTINGS, phases=[Phase.generate]))


def test_a_refused_bulk_booking_leaves_nothing_for_the_next_commit(ring, coordinator):
    """The machine's find: the first lines of a refused bulk booking were flushed, and the
    next commit in the session (here the next ledger write) saved half the booking."""
    members = [factories.MemberFactory(ring=ring) for _ in range(2)]
    services.limits_set(account=services.account_open(member=members[1]), min_balance=0, max_balance=None,
                        changed_by=coordinator.user, reason="geen schuld")
    db.session.commit()
    with pytest.raises(DomainError) as error:
        run_ledger_transaction(lambda: services.bulk_book(
            ring=ring, members=members, amount=15, direction="from_members", description="bijdrage",
            booked_by=coordinator.user, idempotency_key="bulk"))
    assert error.value.field == "members"
    run_ledger_transaction(lambda: services.payment_create(
        payer=coordinator, payee=members[0], amount=10, description="tuin", idempotency_key="pay"))
    db.session.rollback()
    transfers = db.session.scalars(select(Transfer)).all()
    assert [(t.idempotency_key, t.amount) for t in transfers] == [("pay", 10)]
    pot = services.system_account(ring=ring, kind=AccountKind.POT)
    assert (pot.balance, services.account_open(member=members[0]).balance) == (0, 10)
    assert ledger_verify() == []
