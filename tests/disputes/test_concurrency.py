"""Two coordinators resolve the same dispute at the same moment, each in their own process.

The harness is the ledger's (``tests/ledger/test_concurrency.py``): worker processes
started by a forkserver build their own app on the same database and are released
together by a barrier. On PostgreSQL the two really race for the dispute's row lock; on
SQLite ``BEGIN IMMEDIATE`` serialises them. Either way exactly one resolution and at most
one reversal may come out, the other coordinator gets a clear refusal, and the books stay
right.
"""

import uuid

from flask import current_app
from sqlalchemy import func, select

from ruilkring.database import run_ledger_transaction
from ruilkring.disputes import services
from ruilkring.disputes.models import (
    Dispute,
    DisputeEvent,
    DisputeOutcome,
    DisputeStatus,
    EventKind,
)
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.ledger import services as ledger
from ruilkring.ledger.models import Account, Transfer, TransferKind
from ruilkring.ledger.selectors import ring_balance_sum
from ruilkring.ledger.verify import ledger_verify
from ruilkring.members.models import MemberRole
from tests import factories
from tests.ledger.test_concurrency import _run_processes, _worker_app

# Several cases, each raced for by both workers, so one run gives several real races.
CASES = 5


def _resolve_worker(job: dict, barrier) -> dict:
    """Resolve every case of the job as one coordinator, waiting for the other one at the
    barrier before each case, so both hit the same case at the same moment."""
    app = _worker_app(job["url"], job["outbox"])
    acks, refusals, errors = [], [], []
    with app.app_context():
        from ruilkring.auth.models import User

        coordinator = db.session.get(User, job["coordinator_user_id"])
        disputes = [db.session.get(Dispute, dispute_id) for dispute_id in job["dispute_ids"]]
        db.session.commit()
        for dispute in disputes:
            barrier.wait(timeout=60)
            try:
                resolved = run_ledger_transaction(lambda: services.dispute_resolve(
                    dispute=dispute, resolved_by=coordinator, outcome=DisputeOutcome.FULL_REVERSAL,
                    note="Samen besloten: terugdraaien.", idempotency_key=f"resolve-{job['worker']}-{dispute.id}"))
                acks.append((dispute.id, resolved.resolution_transfer_id))
            except DomainError as error:
                refusals.append((dispute.id, error.code))
            except Exception as error:
                db.session.rollback()
                errors.append(f"case {dispute.id}: {type(error).__name__}: {error}")
        db.engine.dispose()
    return {"worker": job["worker"], "acks": acks, "refusals": refusals, "errors": errors}


def test_two_coordinators_resolving_one_case_at_once_give_one_resolution(app, tmp_path):
    ring = factories.RingFactory()
    anna, bert = factories.MemberFactory(ring=ring), factories.MemberFactory(ring=ring)
    coordinators = [factories.MemberFactory(ring=ring, role=MemberRole.COORDINATOR) for _ in range(2)]
    transfers, disputes = [], []
    for n in range(CASES):
        transfer = run_ledger_transaction(lambda: ledger.payment_create(
            payer=anna, payee=bert, amount=30 + n, description=f"klus {n}", idempotency_key=uuid.uuid4().hex))
        transfers.append(transfer)
        disputes.append(services.dispute_open(transfer=transfer, opened_by=anna, reason="not_delivered",
                                              asked="full_reversal", explanation="Niet gekomen."))
    db.session.commit()
    setting = {"url": current_app.config["SQLALCHEMY_DATABASE_URI"], "outbox": str(tmp_path / "worker-outbox"),
               "dispute_ids": [d.id for d in disputes]}
    jobs = [{**setting, "worker": n, "coordinator_user_id": c.user_id} for n, c in enumerate(coordinators)]

    outcomes = _run_processes(_resolve_worker, jobs)

    assert [e for o in outcomes for e in o["errors"]] == []
    db.session.rollback()  # a fresh snapshot: read what the workers committed
    for dispute, transfer in zip(disputes, transfers, strict=True):
        wins = [a for o in outcomes for a in o["acks"] if a[0] == dispute.id]
        losses = [r for o in outcomes for r in o["refusals"] if r[0] == dispute.id]
        assert len(wins) == 1, (dispute.id, outcomes)
        assert losses == [(dispute.id, "illegal_transition")]

        dispute = db.session.get(Dispute, dispute.id)
        assert (dispute.status, dispute.outcome) == (DisputeStatus.RESOLVED, DisputeOutcome.FULL_REVERSAL)
        reversals = db.session.scalars(select(Transfer).where(Transfer.reverses_id == transfer.id)).all()
        assert len(reversals) == 1 and reversals[0].kind == TransferKind.REVERSAL
        assert dispute.resolution_transfer_id == reversals[0].id == wins[0][1]
        resolutions = db.session.scalar(select(func.count(DisputeEvent.id)).where(
            DisputeEvent.dispute_id == dispute.id, DisputeEvent.kind == EventKind.RESOLVED))
        assert resolutions == 1

    # Every trade was reversed exactly once: both are back at zero.
    balances = db.session.scalars(select(Account.balance).where(Account.member_id.in_([anna.id, bert.id]))).all()
    assert balances == [0, 0]
    assert ring_balance_sum(ring=ring) == 0
    assert ledger_verify() == []
