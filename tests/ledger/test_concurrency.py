"""The ledger's write path under real concurrency: many processes, few hot accounts.

Each worker is a separate process (started by a forkserver, so nothing is shared but the
database) that builds its own app on the same database and books transfers through the
services, as gunicorn workers would. Afterwards the test process checks the books over
the whole history: the ring sums to zero, ``ledger_verify()`` finds nothing (limits in
force at every entry, cached balances, running balances, two entries per transfer),
every acknowledged idempotency key is stored exactly once with what was acknowledged,
nothing is stored that no worker acknowledged, and no worker saw an unexpected error
(a deadlock or serialization failure escaping the retry loop counts as one).

To show that these checks can fail, the same harness runs a deliberately naive write
path (read without locks, check in Python, write from the stale read) on PostgreSQL.
"""

import multiprocessing
import queue
import random
import sqlite3
import sys
import threading
import time
import traceback
from collections import defaultdict

import pytest
from flask import current_app
from sqlalchemy import event, select, text

from ruilkring import clock, create_app
from ruilkring.auth.models import User
from ruilkring.database import run_ledger_transaction
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.ledger import services
from ruilkring.ledger.models import Entry, Transfer, TransferKind
from ruilkring.ledger.selectors import ring_balance_sum
from ruilkring.ledger.verify import ledger_verify
from ruilkring.members.models import Member
from ruilkring.rings.models import Ring
from tests import factories

# 8 x 500 takes about 30 s on each database on a 2-core machine (most of it the service
# layer's own CPU time); the whole file a little over a minute.
WORKERS = 8
TRANSFERS_PER_WORKER = 500
NAIVE_TRANSFERS_PER_WORKER = 100
# Few enough that most transfers contend for an account, enough that two transfers on
# disjoint accounts can run at once (with 4, the row locks serialise nearly everything).
HOT_MEMBERS = 6
MIN_BALANCE, MAX_BALANCE = -60, 60  # minutes: tight, so limits are hit all the time
REPLAY_SHARE = 0.10
REVERSERS = 10
DEADLINE = 900  # seconds for one harness run: only a guard against a hang (a busy machine is slow)


# Running workers


def _context():
    """Forkserver: each worker starts from a clean interpreter that already imported the app,
    every module of it that the test process has loaded (so fast), and that inherits no
    connection or lock from the test process."""
    context = multiprocessing.get_context("forkserver")
    app_modules = sorted(name for name in sys.modules if name.startswith("ruilkring."))
    context.set_forkserver_preload([__name__, *app_modules])
    return context


def _worker_app(url: str, outbox_dir: str):
    return create_app({
        "ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": url,
        "OUTBOX_DIR": outbox_dir,
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": "ruilkring.test",
    })


def _process_main(target, job: dict, barrier, results) -> None:
    """Run ``target(job, barrier)`` in the worker and always report back, even on a crash."""
    try:
        outcome = target(job, barrier)
    except BaseException:
        outcome = {"worker": job["worker"], "acks": [], "refusals": [],
                   "errors": [f"worker crashed: {traceback.format_exc()}"]}
    results.put(outcome)


def _run_processes(target, jobs: list[dict]) -> list[dict]:
    """Start one process per job, release them together and collect their outcomes."""
    context = _context()
    barrier = context.Barrier(len(jobs))
    results = context.Queue()
    processes = [context.Process(target=_process_main, args=(target, job, barrier, results))
                 for job in jobs]
    for process in processes:
        process.start()
    outcomes, deadline = [], time.monotonic() + DEADLINE
    try:
        for _ in jobs:
            outcomes.append(results.get(timeout=max(1, deadline - time.monotonic())))
    except queue.Empty:
        pytest.fail(f"only {len(outcomes)} of {len(jobs)} workers reported within {DEADLINE} s")
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    return outcomes


# The transfer harness


def _hot_ring(tmp_path) -> dict:
    """A ring with a few members and tight limits, committed so the workers see it."""
    ring = factories.RingFactory(default_min_balance=MIN_BALANCE, default_max_balance=MAX_BALANCE)
    members = [factories.MemberFactory(ring=ring) for _ in range(HOT_MEMBERS)]
    db.session.commit()
    return {
        "ring_id": ring.id,
        "accounts": {m.id: services.account_open(member=m).id for m in members},
        "url": current_app.config["SQLALCHEMY_DATABASE_URI"],
        "outbox": str(tmp_path / "worker-outbox"),
    }


def _plans(setting: dict, *, workers: int, per_worker: int, seed: int = 20261122) -> list[list[tuple]]:
    """Per worker, a list of (key, payer member, payee member, amount, description).

    About ``REPLAY_SHARE`` of the operations repeat an earlier operation with its key and
    payload, half of them one planned for another worker, so a replay may even reach
    the database before its original does.
    """
    rng = random.Random(seed)
    members = sorted(setting["accounts"])
    plans = [[] for _ in range(workers)]
    for n in range(per_worker):
        for worker, plan in enumerate(plans):
            if n > 0 and rng.random() < REPLAY_SHARE:
                source = rng.randrange(workers) if rng.random() < 0.5 else worker
                plan.append(plans[source][rng.randrange(len(plans[source]))])
                continue
            payer, payee = rng.sample(members, 2)
            key = f"w{worker}-{n}"
            plan.append((key, payer, payee, rng.randint(10, 45), f"hulp {key}"))
    return plans


def _transfer_worker(job: dict, barrier) -> dict:
    """Book the job's plan, one transfer per transaction, recording what was acknowledged."""
    app = _worker_app(job["url"], job["outbox"])
    acks, refusals, errors = [], [], []
    with app.app_context():
        members = {m.id: m for m in db.session.scalars(select(Member).where(Member.id.in_(job["accounts"])))}
        db.session.commit()
        book = _service_booking if job["mode"] == "service" else _naive_booking
        barrier.wait(timeout=60)
        for key, payer, payee, amount, description in job["plan"]:
            try:
                transfer_id, replayed = book(job, members, key, payer, payee, amount, description)
            except services.LimitExceeded:
                refusals.append(key)
            except Exception as error:
                db.session.rollback()
                errors.append(f"{key}: {type(error).__name__}: {error}")
            else:
                acks.append((key, transfer_id, amount, job["accounts"][payer], job["accounts"][payee], replayed))
        db.engine.dispose()
    return {"worker": job["worker"], "acks": acks, "refusals": refusals, "errors": errors}


def _service_booking(job, members, key, payer, payee, amount, description):
    def work():
        transfer = services.payment_create(payer=members[payer], payee=members[payee], amount=amount,
                                           description=description, idempotency_key=key)
        return transfer.id, transfer.replayed

    return run_ledger_transaction(work)


def _naive_booking(job, members, key, payer, payee, amount, description):
    """The write path done wrong, on purpose: a plain transaction reads the balances without
    locks, checks the limits in Python and writes the new balance it computed from that
    (possibly stale) read. Never use this outside this test."""
    session = db.session
    payer_id, payee_id = job["accounts"][payer], job["accounts"][payee]
    existing = session.scalar(text("SELECT id FROM transfers WHERE idempotency_key = :k"), {"k": key})
    if existing is not None:
        session.commit()
        return existing, True
    rows = {row.id: row for row in session.execute(text(
        "SELECT a.id, a.balance, a.version, r.default_min_balance AS min_balance,"
        " r.default_max_balance AS max_balance FROM accounts a JOIN rings r ON r.id = a.ring_id"
        " WHERE a.id IN (:payer, :payee)"), {"payer": payer_id, "payee": payee_id})}
    payer_row, payee_row = rows[payer_id], rows[payee_id]
    if payer_row.balance - amount < payer_row.min_balance or payee_row.balance + amount > payee_row.max_balance:
        session.rollback()
        raise services.LimitExceeded("naive", possible=0)
    transfer_id = session.scalar(
        Transfer.__table__.insert().returning(Transfer.__table__.c.id),
        {"ring_id": job["ring_id"], "payer_account_id": payer_id, "payee_account_id": payee_id,
         "amount": amount, "kind": TransferKind.TRADE, "description": description, "reason": "",
         "idempotency_key": key, "payload_hash": "naive", "limit_override": False,
         "occurred_on": clock.now().date(), "created_at": clock.now()})
    # Written in ascending account id order, as the real path locks: the naive code would
    # otherwise mostly produce deadlocks, which PostgreSQL detects and refuses loudly.
    for row, signed in sorted(((payer_row, -amount), (payee_row, amount)), key=lambda pair: pair[0].id):
        computed = row.balance + signed
        if job["naive"] == "stale_version":
            # Everything from the stale read: balance and version.
            version = row.version + 1
            session.execute(Entry.__table__.insert(), _naive_entry(transfer_id, row, signed, computed, version))
            session.execute(text("UPDATE accounts SET balance = :b, version = :v WHERE id = :id"),
                            {"b": computed, "v": version, "id": row.id})
        else:
            # The version is counted by the database, the balance still comes from the read.
            version = session.scalar(text(
                "UPDATE accounts SET balance = :b, version = version + 1 WHERE id = :id RETURNING version"),
                {"b": computed, "id": row.id})
            session.execute(Entry.__table__.insert(), _naive_entry(transfer_id, row, signed, computed, version))
    session.commit()
    return transfer_id, False


def _naive_entry(transfer_id, row, signed, computed, version):
    return {"transfer_id": transfer_id, "account_id": row.id, "amount": signed, "balance_after": computed,
            "account_version": version, "min_balance": row.min_balance, "max_balance": row.max_balance}


def _run_transfers(setting: dict, *, per_worker: int, mode: str = "service", naive: str | None = None,
                   workers: int = WORKERS) -> list[dict]:
    plans = _plans(setting, workers=workers, per_worker=per_worker)
    jobs = [{**setting, "worker": worker, "plan": plan, "mode": mode, "naive": naive}
            for worker, plan in enumerate(plans)]
    return _run_processes(_transfer_worker, jobs)


def _problems(setting: dict, outcomes: list[dict]) -> list[str]:
    """Everything that is wrong with the books after a run, as readable lines."""
    problems = [f"worker {o['worker']}: {error}" for o in outcomes for error in o["errors"]]
    db.session.rollback()  # a fresh snapshot: read what the workers committed
    if (total := ring_balance_sum(ring=_ring(setting))) != 0:
        problems.append(f"the ring sums to {total}, not 0")
    problems += ledger_verify()

    stored = {key: (transfer_id, amount, payer, payee) for key, transfer_id, amount, payer, payee in
              db.session.execute(select(Transfer.idempotency_key, Transfer.id, Transfer.amount,
                                        Transfer.payer_account_id, Transfer.payee_account_id)
                                 .where(Transfer.ring_id == setting["ring_id"]))}
    acknowledged = defaultdict(set)
    for outcome in outcomes:
        for key, transfer_id, amount, payer, payee, _replayed in outcome["acks"]:
            acknowledged[key].add((transfer_id, amount, payer, payee))
    for key, answers in sorted(acknowledged.items()):
        if len(answers) > 1:
            problems.append(f"key {key} was acknowledged as different transfers: {sorted(answers)}")
        if key not in stored:
            problems.append(f"key {key} was acknowledged but is not stored")
        elif stored[key] not in answers:
            problems.append(f"key {key} is stored as {stored[key]}, acknowledged as {sorted(answers)}")
    for key in sorted(set(stored) - set(acknowledged)):
        problems.append(f"transfer {stored[key][0]} (key {key}) is stored but no worker acknowledged it")
    return problems


def _ring(setting) -> Ring:
    return db.session.get(Ring, setting["ring_id"])


# Tests


def test_many_processes_keep_the_books_right(app, tmp_path):
    setting = _hot_ring(tmp_path)
    outcomes = _run_transfers(setting, per_worker=TRANSFERS_PER_WORKER)

    assert _problems(setting, outcomes) == []
    acks = [ack for o in outcomes for ack in o["acks"]]
    refusals = [key for o in outcomes for key in o["refusals"]]
    assert len(acks) + len(refusals) == WORKERS * TRANSFERS_PER_WORKER
    # The run really exercised what it is meant to: limits hit, keys replayed, also
    # across processes (a key answered by a worker whose plan did not create it).
    assert len(refusals) > 200 and len(acks) > 1000
    assert sum(1 for ack in acks if ack[5]) > 100
    assert any(ack[5] and not ack[0].startswith(f"w{o['worker']}-") for o in outcomes for ack in o["acks"])
    balances = db.session.execute(text("SELECT balance FROM accounts WHERE ring_id = :r"),
                                  {"r": setting["ring_id"]}).scalars().all()
    assert all(MIN_BALANCE <= balance <= MAX_BALANCE for balance in balances)


@pytest.mark.parametrize("naive", ["stale_version", "database_version"])
def test_the_checks_catch_a_naive_write_path(app, tmp_path, naive):
    # PostgreSQL only. SQLite lets one writer at a time hold its database-wide lock, and in
    # WAL mode a transaction that read a snapshot and then wants to write after another
    # writer committed fails at once (SQLITE_BUSY_SNAPSHOT) instead of writing from its
    # stale read: even naive code cannot lose an update there. PostgreSQL's row-level
    # concurrency under READ COMMITTED is where a naive read-check-write really interleaves.
    if db.engine.dialect.name != "postgresql":
        assert db.engine.dialect.name == "sqlite"
        return
    setting = _hot_ring(tmp_path)
    outcomes = _run_transfers(setting, mode="naive", naive=naive, per_worker=NAIVE_TRANSFERS_PER_WORKER)

    problems = _problems(setting, outcomes)
    assert problems, "the naive write path went unnoticed: the harness proves nothing"
    if naive == "stale_version":
        # The unique (account_id, account_version) of entries turns a stale write into an
        # error that the naive code does not handle: the "no unexpected error" check.
        assert any("entries" in p and "account_version" in p for p in problems), problems[:5]
    else:
        # With the version counted by the database the stale balances are committed:
        # lost updates that only the history checks of ledger_verify find.
        assert any(p.startswith(("running_balance", "cached_balance", "ring_sum_zero", "the ring sums"))
                   for p in problems), problems[:5]


def _reversal_worker(job: dict, barrier) -> dict:
    app = _worker_app(job["url"], job["outbox"])
    acks, refusals, errors = [], [], []
    with app.app_context():
        transfer = db.session.get(Transfer, job["transfer_id"])
        coordinator = db.session.get(User, job["coordinator_user_id"])
        db.session.commit()
        barrier.wait(timeout=60)
        key = f"reverse-{job['worker']}"
        try:
            reversal = run_ledger_transaction(lambda: services.transfer_reverse(
                transfer=transfer, reversed_by=coordinator, reason="dubbel geboekt", idempotency_key=key))
            acks.append((key, reversal.id))
        except DomainError as error:
            refusals.append(error.code)
        except Exception as error:
            errors.append(f"{type(error).__name__}: {error}")
        db.engine.dispose()
    return {"worker": job["worker"], "acks": acks, "refusals": refusals, "errors": errors}


def test_coordinators_reversing_one_transfer_at_once_give_one_reversal(app, tmp_path):
    setting = _hot_ring(tmp_path)
    payer, payee = sorted(setting["accounts"])[:2]
    transfer = run_ledger_transaction(lambda: services.payment_create(
        payer=db.session.get(Member, payer), payee=db.session.get(Member, payee), amount=45,
        description="tuin", idempotency_key="original"))
    coordinator = factories.MemberFactory(ring=_ring(setting), role="coordinator")
    db.session.commit()
    jobs = [{**setting, "worker": n, "transfer_id": transfer.id, "coordinator_user_id": coordinator.user_id}
            for n in range(REVERSERS)]

    outcomes = _run_processes(_reversal_worker, jobs)

    assert [e for o in outcomes for e in o["errors"]] == []
    assert len([a for o in outcomes for a in o["acks"]]) == 1
    assert sorted(r for o in outcomes for r in o["refusals"]) == ["already_reversed"] * (REVERSERS - 1)
    db.session.rollback()
    reversals = db.session.scalars(select(Transfer).where(Transfer.reverses_id == transfer.id)).all()
    assert len(reversals) == 1 and reversals[0].kind == TransferKind.REVERSAL
    assert ring_balance_sum(ring=_ring(setting)) == 0
    assert ledger_verify() == []


def test_a_busy_sqlite_at_begin_immediate_is_retried(app):
    # The busy error is SQLite's: PostgreSQL queues for row locks instead of failing.
    if db.engine.dialect.name != "sqlite":
        assert db.engine.dialect.name == "postgresql"
        return
    payer = factories.MemberFactory()
    payee = factories.MemberFactory(ring=payer.ring)
    db.session.commit()
    begins = []

    def short_busy_timeout(dbapi_connection, record, proxy):
        begins.append(time.monotonic())  # each attempt checks a connection out anew
        dbapi_connection.execute("PRAGMA busy_timeout = 100")

    # Another process holds the write lock for 0.3 s: longer than one busy timeout, much
    # shorter than the retries together.
    holder = sqlite3.connect(db.engine.url.database, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, holder.execute, args=("ROLLBACK",))
    event.listen(db.engine, "checkout", short_busy_timeout)
    try:
        release.start()
        transfer = run_ledger_transaction(lambda: services.payment_create(
            payer=payer, payee=payee, amount=30, description="boodschappen", idempotency_key="busy"))
    finally:
        release.join()
        holder.close()
        event.remove(db.engine, "checkout", short_busy_timeout)
        db.engine.dispose()  # no connection keeps the short timeout

    assert len(begins) >= 2, "the lock was never met: the test proves nothing"
    assert transfer.amount == 30 and services.account_open(member=payee).balance == 30
    assert ledger_verify() == []
