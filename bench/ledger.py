"""Benchmark: the ledger's write path, and the first statement page of a long history.

1. Throughput: transfers per second through the service layer, ``run_ledger_transaction``
   around ``services.transfer_create`` (and around ``services.payment_create``, which also
   notifies the payee in the app and by mail), with 1, 2 and 4 processes, beside two
   raw-SQL baselines run in the same way on the same database. "Minimal": lock both
   accounts, insert the transfer, its two entries, update the two accounts, commit. "Same
   rows": what ``transfer_create`` reads and writes, in one transaction: lock both accounts
   joined with their members' status and the ring's default limits, look up the
   idempotency key, check status and limits, insert the transfer and its entries, update
   the accounts, upsert the pair's tie and the payer's and payee's member-month rollups.
   Printed per database with the ratio service/raw for both; the target, a ratio of at
   least 50 %, is checked against "same rows".
2. Statement: ``ledger.selectors.account_statement(account=..., limit=25)`` for an account
   with 100,000 entries (written by ``services.transfers_bulk_load``, then checked with
   ``ledger_verify``): median of repeated warm runs, each in a fresh session, as a request
   would have. The target is under 20 ms.

Run it through ``bench/run.sh ledger``, which starts a throwaway PostgreSQL server (see
scripts/pg.sh) and passes its URL in ``RUILKRING_TEST_POSTGRES_URL``. Directly:

    .venv/bin/python bench/ledger.py --backend sqlite
    .venv/bin/python bench/ledger.py --postgres-url postgresql+psycopg://... --sqlite-path /tmp/l.sqlite

The PostgreSQL database it is given is wiped (its public schema is dropped): never point
it at data you want to keep. ``--sqlite-path`` must not exist yet (default: a temporary
file). The machine may be shared: besides wall-clock figures the script prints CPU time
per transfer (the processes' own, plus PostgreSQL's server processes when the server is
local), which a busy machine disturbs much less. ``--profile N`` adds a cProfile of one
process booking N transfers through the service layer. A run takes about 5 minutes on 2
cores; results and what they mean are in docs/BENCHMARKS.md.
"""

import argparse
import cProfile
import hashlib
import io
import logging
import multiprocessing
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import machine_line  # noqa: E402
from flask_migrate import upgrade
from sqlalchemy import event, select, text

from ruilkring import create_app
from ruilkring.auth.models import User
from ruilkring.database import run_ledger_transaction
from ruilkring.extensions import db
from ruilkring.ledger import services
from ruilkring.ledger.models import Account, AccountKind
from ruilkring.ledger.selectors import account_statement
from ruilkring.ledger.verify import ledger_verify
from ruilkring.members.models import Member, MemberRole, MemberStatus
from ruilkring.rings.models import Municipality, Ring

TARGET_RATIO = 0.50
TARGET_STATEMENT_MS = 20.0
WIDE = 10**6  # minutes: limits nobody reaches, so every transfer of the throughput runs is written
MODES = {
    "raw_minimal": "raw SQL, minimal (DB-API)",
    "raw": "raw SQL, same rows (DB-API)",
    "transfer": "service: transfer_create",
    "payment": "service: payment_create (+ notification, mail)",
}


# Set-up


def make_app(url: str, workdir: str):
    return create_app({
        "ENV": "development", "SECRET_KEY": "benchmark", "DATABASE_URL": url, "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": "ruilkring.test", "OUTBOX_DIR": str(Path(workdir) / "outbox"),
    })


def build_schema() -> None:
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    logging.getLogger("alembic").setLevel(logging.WARNING)
    upgrade()


def make_ring(*, slug: str, members: int, min_balance: int = -WIDE, max_balance: int = WIDE) -> Ring:
    """A ring with ``members`` active members, each with an account."""
    municipality = Municipality(name=f"Gemeente {slug}")
    ring = Ring(slug=slug, name=f"Ruilkring {slug}", municipality=municipality,
                default_min_balance=min_balance, default_max_balance=max_balance)
    db.session.add_all([municipality, ring])
    db.session.flush()
    users = [User(email=f"{slug}-{n}@example.org", name=f"Lid {n}", password_hash="x") for n in range(members)]
    db.session.add_all(users)
    db.session.flush()
    people = [Member(ring_id=ring.id, user_id=user.id, role=MemberRole.MEMBER, status=MemberStatus.ACTIVE,
                     house_rules_accepted_version=1) for user in users]
    db.session.add_all(people)
    db.session.flush()
    db.session.add_all([Account(ring_id=ring.id, member_id=member.id, kind=AccountKind.MEMBER) for member in people])
    db.session.commit()
    return ring


# Throughput workers (each a separate process)


class RawBooking:
    """The baselines, in hand-written SQL on the driver's own connection (psycopg or
    sqlite3), in one transaction. ``same_rows=False``: only the transfer, its entries and
    the two balances. ``same_rows=True``: also the reads and writes ``transfer_create`` does
    (status and limits, idempotency key, tie, member-month rollups)."""

    def __init__(self, ring: Ring, *, same_rows: bool):
        self.same_rows = same_rows
        self.postgresql = db.engine.dialect.name == "postgresql"
        self.connection = db.engine.raw_connection()  # with the app's SQLite pragmas
        self.cursor = self.connection.cursor()
        self.ring_id, self.min, self.max = ring.id, ring.default_min_balance, ring.default_max_balance

    def sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.postgresql else statement

    def __call__(self, payer: int, payee: int, amount: int, key: str) -> None:
        for attempt in range(8):  # like run_ledger_transaction: a busy SQLite is tried again
            try:
                return self._book(payer, payee, amount, key)
            except Exception as error:
                self.connection.rollback()
                if "locked" not in str(error) or attempt == 7:
                    raise
                time.sleep(random.uniform(0, 0.01 * 2**attempt))

    def _book(self, payer: int, payee: int, amount: int, key: str) -> None:
        cursor, now = self.cursor, datetime.now(UTC).replace(tzinfo=None)
        created, occurred = (now, now.date()) if self.postgresql else (now.isoformat(" "), now.date().isoformat())
        if not self.postgresql:
            cursor.execute("BEGIN IMMEDIATE")
        payload = hashlib.sha256(f"{payer}:{payee}:{amount}:{key}".encode()).hexdigest()
        if self.same_rows:
            accounts = self._lock_and_check(payer, payee, amount, key, payload)
            if accounts is None:
                return  # a replayed key
        else:
            lock = " FOR UPDATE" if self.postgresql else ""
            cursor.execute(
                self.sql(f"SELECT id, balance, version FROM accounts WHERE id IN (?, ?) ORDER BY id{lock}"),
                (payer, payee))
            accounts = {account_id: (balance, version, None, self.min, self.max)
                        for account_id, balance, version in cursor.fetchall()}
            if accounts[payer][0] - amount < self.min or accounts[payee][0] + amount > self.max:
                raise RuntimeError("the benchmark's limits are meant to be out of reach")
        (payer_balance, payer_version, payer_member, payer_min, payer_max) = accounts[payer]
        (payee_balance, payee_version, payee_member, payee_min, payee_max) = accounts[payee]
        cursor.execute(self.sql(
            "INSERT INTO transfers (ring_id, payer_account_id, payee_account_id, amount, kind, description,"
            " reason, idempotency_key, payload_hash, limit_override, occurred_on, created_at)"
            " VALUES (?, ?, ?, ?, 'trade', 'bench', '', ?, ?, ?, ?, ?) RETURNING id"),
            (self.ring_id, payer, payee, amount, key, payload, False, occurred, created))
        transfer_id = cursor.fetchone()[0]
        cursor.execute(self.sql(
            "INSERT INTO entries (transfer_id, account_id, amount, balance_after, account_version,"
            " min_balance, max_balance) VALUES (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?)"),
            (transfer_id, payer, -amount, payer_balance - amount, payer_version + 1, payer_min, payer_max,
             transfer_id, payee, amount, payee_balance + amount, payee_version + 1, payee_min, payee_max))
        for account_id, balance, version in ((payer, payer_balance - amount, payer_version + 1),
                                             (payee, payee_balance + amount, payee_version + 1)):
            cursor.execute(self.sql("UPDATE accounts SET balance = ?, version = ? WHERE id = ?"),
                           (balance, version, account_id))
        if self.same_rows:
            self._record_stats(transfer_id, payer_member, payee_member, amount, occurred)
        self.connection.commit()

    def _lock_and_check(self, payer: int, payee: int, amount: int, key: str, payload: str) -> dict | None:
        """Lock both accounts, reading what the service's limit and status checks read;
        returns account id -> (balance, version, member id, min, max), or None for a replay."""
        cursor = self.cursor
        lock = " FOR UPDATE OF a" if self.postgresql else ""
        cursor.execute(self.sql(
            "SELECT a.id, a.balance, a.version, a.status, a.min_balance, a.max_balance, a.member_id, m.status,"
            " r.default_min_balance, r.default_max_balance FROM accounts a"
            " JOIN members m ON m.id = a.member_id JOIN rings r ON r.id = a.ring_id"
            f" WHERE a.id IN (?, ?) ORDER BY a.id{lock}"), (payer, payee))
        accounts = {}
        for (account_id, balance, version, status, own_min, own_max, member_id, member_status,
             ring_min, ring_max) in cursor.fetchall():
            if status != "active" or member_status not in ("active", "leaving"):
                raise RuntimeError("the benchmark's members are meant to be able to trade")
            low, high = (0, 0) if member_status == "leaving" else (
                ring_min if own_min is None else own_min, ring_max if own_max is None else own_max)
            accounts[account_id] = (balance, version, member_id, low, high)
        cursor.execute(self.sql("SELECT payload_hash FROM transfers WHERE idempotency_key = ?"), (key,))
        existing = cursor.fetchone()
        if existing is not None:
            if existing[0] != payload:
                raise RuntimeError("idempotency key replayed with another payload")
            self.connection.commit()
            return None
        if accounts[payer][0] - amount < accounts[payer][3] or accounts[payee][0] + amount > accounts[payee][4]:
            raise RuntimeError("the benchmark's limits are meant to be out of reach")
        return accounts

    def _record_stats(self, transfer_id: int, payer_member: int, payee_member: int, amount: int, occurred) -> None:
        """The pair's tie and the two member-month rollups, as tie_record_trade and
        rollup_record keep them, each as one upsert."""
        low, high = sorted((payer_member, payee_member))
        greatest = "GREATEST" if self.postgresql else "MAX"
        self.cursor.execute(self.sql(
            "INSERT INTO ties (ring_id, member_low_id, member_high_id, first_transfer_id, first_date, last_date,"
            " trade_count, minutes) VALUES (?, ?, ?, ?, ?, ?, 1, ?)"
            " ON CONFLICT (ring_id, member_low_id, member_high_id) DO UPDATE SET"
            " trade_count = ties.trade_count + 1, minutes = ties.minutes + excluded.minutes,"
            " first_transfer_id = CASE WHEN ties.trade_count = 0 THEN excluded.first_transfer_id"
            " ELSE ties.first_transfer_id END,"
            " first_date = CASE WHEN ties.trade_count = 0 THEN excluded.first_date ELSE ties.first_date END,"
            f" last_date = {greatest}(COALESCE(ties.last_date, excluded.last_date), excluded.last_date)"),
            (self.ring_id, low, high, transfer_id, occurred, occurred, amount))
        month = occurred.replace(day=1) if self.postgresql else occurred[:8] + "01"
        self.cursor.execute(self.sql(
            "INSERT INTO stats_member_months (ring_id, member_id, month, trades_given, trades_received,"
            " minutes_given, minutes_received) VALUES (?, ?, ?, 1, 0, ?, 0), (?, ?, ?, 0, 1, 0, ?)"
            " ON CONFLICT (ring_id, member_id, month) DO UPDATE SET"
            " trades_given = stats_member_months.trades_given + excluded.trades_given,"
            " trades_received = stats_member_months.trades_received + excluded.trades_received,"
            " minutes_given = stats_member_months.minutes_given + excluded.minutes_given,"
            " minutes_received = stats_member_months.minutes_received + excluded.minutes_received"),
            (self.ring_id, payer_member, month, amount, self.ring_id, payee_member, month, amount))


def server_pid() -> int | None:
    if db.engine.dialect.name != "postgresql":
        return None
    return db.session.scalar(text("SELECT pg_backend_pid()"))


def server_cpu(pid: int | None) -> float | None:
    """CPU seconds used so far by a local PostgreSQL server process (Linux), else None."""
    if pid is None:
        return None
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError):
        return None


def service_booking(mode: str, members: dict[int, int]):
    """A function booking one transfer through the service layer, starting from account ids
    as a request starts from ids in its URL and form (``members``: account id -> member id)."""

    def book(payer: int, payee: int, amount: int, key: str) -> None:
        if mode == "transfer":
            run_ledger_transaction(lambda: services.transfer_create(
                payer_id=payer, payee_id=payee, amount=amount, idempotency_key=key, entered_by=None,
                description="bench"))
        else:
            run_ledger_transaction(lambda: services.payment_create(
                payer=db.session.get(Member, members[payer]), payee=db.session.get(Member, members[payee]),
                amount=amount, description="bench", idempotency_key=key))

    return book


def throughput_worker(job: dict, barrier, results) -> None:
    try:
        results.put(_throughput_worker(job, barrier))
    except BaseException as error:
        results.put({"error": f"{type(error).__name__}: {error}"})
        barrier.abort()


def _throughput_worker(job: dict, barrier) -> dict:
    app = make_app(job["url"], job["workdir"])
    with app.app_context():
        ring = db.session.get(Ring, job["ring_id"])
        # Ids only, as a request starts: the service calls below load their own objects,
        # and the session's identity map stays as small as a request's.
        members = dict(db.session.execute(
            select(Account.id, Account.member_id).where(Account.ring_id == ring.id).order_by(Account.id)).all())
        mode, pid = job["mode"], None
        if mode in ("raw", "raw_minimal"):
            book = RawBooking(ring, same_rows=mode == "raw")
            if book.postgresql:
                book.cursor.execute("SELECT pg_backend_pid()")
                pid = book.cursor.fetchone()[0]
                book.connection.commit()
        else:
            pid = server_pid()
            db.session.commit()
            book = service_booking(mode, members)
        ids = list(members)
        db.session.close()
        rng = random.Random(f"{mode}-{job['processes']}-{job['worker']}")
        count = 0
        barrier.wait(timeout=120)
        cpu_before, server_before = time.process_time(), server_cpu(pid)
        start = time.perf_counter()
        deadline = start + job["seconds"]
        while time.perf_counter() < deadline:
            payer, payee = rng.sample(ids, 2)
            book(payer, payee, rng.randint(15, 120), f"{job['tag']}-{job['worker']}-{count}")
            count += 1
        elapsed = time.perf_counter() - start
        cpu, server_after = time.process_time() - cpu_before, server_cpu(pid)
        if server_before is not None and server_after is not None:
            cpu += server_after - server_before
        complete = server_before is not None or db.engine.dialect.name == "sqlite"
        db.engine.dispose()
    return {"count": count, "elapsed": elapsed, "cpu": cpu, "cpu_complete": complete}


def run_throughput(url: str, workdir: str, ring_id: int, *, mode: str, processes: int, seconds: float) -> dict:
    context = multiprocessing.get_context("forkserver")
    barrier = context.Barrier(processes)
    results = context.Queue()
    tag = f"{mode}{processes}-{time.monotonic_ns()}"
    jobs = [{"url": url, "workdir": workdir, "ring_id": ring_id, "mode": mode, "processes": processes,
             "worker": n, "seconds": seconds, "tag": tag} for n in range(processes)]
    workers = [context.Process(target=throughput_worker, args=(job, barrier, results)) for job in jobs]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=seconds + 300) for _ in workers]
    for worker in workers:
        worker.join()
    errors = [o["error"] for o in outcomes if "error" in o]
    if errors:
        raise RuntimeError(f"{mode} with {processes} processes failed: {errors}")
    count = sum(o["count"] for o in outcomes)
    return {
        "mode": mode, "processes": processes, "transfers": count,
        "per_second": count / max(o["elapsed"] for o in outcomes),
        "cpu_ms": 1000 * sum(o["cpu"] for o in outcomes) / count,
        "cpu_complete": all(o["cpu_complete"] for o in outcomes),
    }


# Statement page


def build_history(*, entries: int, counterparts: int, seed: int = 20261122) -> int:
    """A ring where one account has ``entries`` entries (one per transfer with a counterpart),
    written by the service's bulk loader; returns that account's id."""
    ring = make_ring(slug="statement", members=counterparts + 1)
    accounts = db.session.scalars(select(Account).where(Account.ring_id == ring.id).order_by(Account.id)).all()
    target, others = accounts[0], accounts[1:]
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(days=5 * 365)
    step = timedelta(days=5 * 365) / entries

    def history():
        balance = 0
        for n in range(entries):
            amount = rng.randint(15, 180)
            pays = rng.random() < (0.5 + max(-0.4, min(0.4, balance / 6000)))  # drift back towards 0
            other = rng.choice(others).id
            balance += -amount if pays else amount
            yield services.HistoricalTransfer(
                payer_id=target.id if pays else other, payee_id=other if pays else target.id, amount=amount,
                occurred_at=start + n * step, description=rng.choice(["tuin", "boodschappen", "oppas", "fiets"]))

    written, skipped = run_ledger_transaction(lambda: services.transfers_bulk_load(
        ring=ring, transfers=history(), on_limit="raise"))
    assert (written, skipped) == (entries, 0), (written, skipped)
    return target.id


class StatementTimer:
    """Counts the statements and the time spent waiting for the database."""

    def __init__(self, engine):
        self.count, self.seconds = 0, 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_start"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        self.count += 1
        self.seconds += time.perf_counter() - conn.info.pop("bench_start")

    def remove(self, engine):
        event.remove(engine, "before_cursor_execute", self._before)
        event.remove(engine, "after_cursor_execute", self._after)


def time_statement(account_id: int, *, repeat: int, before_version: int | None = None) -> dict:
    """Median (and more) of ``repeat`` warm runs of one statement page, by the wall clock and
    by CPU time (this process, plus the PostgreSQL server process when it is local)."""
    timer = StatementTimer(db.engine)

    def once() -> tuple[float, float, float, int]:
        db.session.close()  # a fresh session, as a request has; the connection pool stays warm
        account = db.session.get(Account, account_id)
        pid = server_pid()
        timer.count, timer.seconds = 0, 0.0
        cpu, server = time.process_time(), server_cpu(pid)
        start = time.perf_counter()
        lines = account_statement(account=account, limit=25, before_version=before_version)
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu + ((server_cpu(pid) - server) if server is not None else 0)
        assert len(lines) == 25 and lines[0].entry.account_id == account_id
        return elapsed * 1000, cpu * 1000, timer.seconds * 1000, timer.count

    try:
        for _ in range(5):
            once()
        samples = [once() for _ in range(repeat)]
    finally:
        timer.remove(db.engine)
        db.session.close()
    walls = sorted(sample[0] for sample in samples)
    return {"median": statistics.median(walls), "p95": walls[int(0.95 * (len(walls) - 1))], "min": walls[0],
            "cpu_median": statistics.median(sample[1] for sample in samples),
            "db_median": statistics.median(sample[2] for sample in samples), "statements": samples[-1][3]}


# Profile


def profile_service(ring_id: int, transfers: int) -> str:
    """cProfile of this process booking ``transfers`` as the throughput runs do, through
    run_ledger_transaction + transfer_create, with the statements per transfer."""
    members = dict(db.session.execute(
        select(Account.id, Account.member_id).where(Account.ring_id == ring_id).order_by(Account.id)).all())
    db.session.close()
    book, ids, rng = service_booking("transfer", members), list(members), random.Random(5)
    timer = StatementTimer(db.engine)
    profiler = cProfile.Profile()
    profiler.enable()
    for n in range(transfers):
        payer, payee = rng.sample(ids, 2)
        book(payer, payee, 30, f"profile-{n}")
    profiler.disable()
    timer.remove(db.engine)
    out = io.StringIO()
    out.write(f"   {timer.count / transfers:.1f} statements per transfer, "
              f"{1000 * timer.seconds / transfers:.2f} ms per transfer in cursor.execute\n")
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(r"ruilkring|session.py:\d+\((commit|flush|get)\)|_emit_", 40)
    stats.sort_stats("tottime").print_stats(15)
    return out.getvalue()


# Running it all


def run_backend(backend: str, url: str, args, workdir: str) -> dict:
    app = make_app(url, workdir)
    with app.app_context():
        build_schema()
        version = db.session.scalar(text("SELECT sqlite_version()" if backend == "sqlite" else "SHOW server_version"))
        ring_id = make_ring(slug="throughput", members=args.accounts).id
        db.session.commit()
    print(f"\n== {backend} {version}", flush=True)

    runs = []
    for processes in args.processes:
        for mode in MODES:
            load = os.getloadavg()[0]
            run = run_throughput(url, workdir, ring_id, mode=mode, processes=processes, seconds=args.seconds)
            run["load"] = load
            runs.append(run)
            print(f"   {processes} process{'es' if processes > 1 else '  '} {MODES[mode]:<48} "
                  f"{run['per_second']:7.0f} transfers/s  {run['cpu_ms']:6.2f} ms CPU/transfer"
                  f"{'' if run['cpu_complete'] else ' (app only)'}  [load {load:.1f}]", flush=True)

    with app.app_context():
        started = time.perf_counter()
        account_id = build_history(entries=args.entries, counterparts=args.counterparts)
        built = time.perf_counter() - started
        problems = ledger_verify()
        verified = time.perf_counter() - started - built
        if backend == "postgresql":
            with db.engine.begin() as connection:  # fresh planner statistics, as autovacuum would make
                connection.execute(text("ANALYZE"))
        first = time_statement(account_id, repeat=args.repeat)
        middle = time_statement(account_id, repeat=args.repeat, before_version=args.entries // 2)
        profile = profile_service(ring_id, args.profile) if args.profile else None
    return {"backend": backend, "version": version, "runs": runs, "built": built, "verified": verified,
            "problems": problems, "first": first, "middle": middle, "profile": profile}


def report(result: dict, entries: int) -> bool:
    print(f"\n-- {result['backend']} {result['version']}: service / raw SQL, same rows (target >= "
          f"{TARGET_RATIO:.0%}) and service / raw SQL, minimal; wall clock, and by CPU time per transfer")
    ok = True
    by = {(run["mode"], run["processes"]): run for run in result["runs"]}
    for processes in sorted({run["processes"] for run in result["runs"]}):
        same, minimal = by[("raw", processes)], by[("raw_minimal", processes)]
        for mode in ("raw", "transfer", "payment"):
            run = by[(mode, processes)]
            ratios = []
            for label, raw in (("same rows", same), ("minimal", minimal)):
                if raw is not run:
                    ratios.append(f"{run['per_second'] / raw['per_second']:5.0%} of raw {label} "
                                  f"(CPU: {raw['cpu_ms'] / run['cpu_ms']:4.0%})")
            if mode == "transfer":
                ok &= run["per_second"] / same["per_second"] >= TARGET_RATIO
            print(f"   {processes} process{'es' if processes > 1 else '  '} {MODES[mode]:<48} {'   '.join(ratios)}")
    print(f"   {entries:,} entries for one account: built in {result['built']:.1f} s, ledger_verify "
          f"{result['verified']:.1f} s: {'no problems' if not result['problems'] else result['problems'][:3]}")
    for label, timing in (("first page", result["first"]), ("page halfway back", result["middle"])):
        verdict = ("met" if timing["median"] < TARGET_STATEMENT_MS else "MISSED") if label == "first page" else ""
        print(f"   statement {label:<17} median {timing['median']:6.2f} ms  p95 {timing['p95']:6.2f} ms  "
              f"min {timing['min']:6.2f} ms  CPU median {timing['cpu_median']:6.2f} ms  "
              f"({timing['statements']} statement{'s' if timing['statements'] != 1 else ''}, "
              f"{timing['db_median']:.2f} ms in cursor.execute)"
              + (f"  [target < {TARGET_STATEMENT_MS:.0f} ms: {verdict}]" if verdict else ""))
    ok &= result["first"]["median"] < TARGET_STATEMENT_MS and not result["problems"]
    if result["profile"]:
        print(f"\n-- profile: one process, transfer_create\n{result['profile']}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--postgres-url", default=os.environ.get("RUILKRING_TEST_POSTGRES_URL"),
                        help="a throwaway database: it is wiped (default: $RUILKRING_TEST_POSTGRES_URL)")
    parser.add_argument("--sqlite-path", type=Path, help="a new file (default: in a temporary directory)")
    parser.add_argument("--processes", type=lambda s: [int(n) for n in s.split(",")], default=[1, 2, 4])
    parser.add_argument("--seconds", type=float, default=8.0, help="per throughput measurement")
    parser.add_argument("--accounts", type=int, default=200, help="member accounts the transfers spread over")
    parser.add_argument("--entries", type=int, default=100_000, help="entries of the statement's account")
    parser.add_argument("--counterparts", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=50, help="timed statement runs (after 5 warm-up runs)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also profile N transfers through transfer_create in one process")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and not args.postgres_url:
        print("no PostgreSQL: pass --postgres-url or run bench/run.sh ledger", file=sys.stderr)
        return 2
    if args.sqlite_path and args.sqlite_path.exists():
        print(f"{args.sqlite_path} exists; the benchmark writes a new database, give a new path", file=sys.stderr)
        return 2

    print(machine_line())
    ok = True
    with tempfile.TemporaryDirectory(prefix="ruilkring-bench-") as workdir:
        for backend in backends:
            if backend == "sqlite":
                url = f"sqlite:///{(args.sqlite_path or Path(workdir) / 'ledger.sqlite').resolve()}"
            else:
                url = args.postgres_url
            ok &= report(run_backend(backend, url, args, workdir), args.entries)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
