"""Benchmark: the ledger's write path, and the first statement page of a long history.

1. Throughput: transfers per second through the service layer, ``run_ledger_transaction``
   around ``services.transfer_create`` (and around ``services.payment_create``, which also
   notifies the payee in the app and by mail), with 1, 2 and 4 processes, beside a raw-SQL
   baseline run in the same way on the same database: lock both accounts, insert the
   transfer, its two entries, update the two accounts, commit. Printed per database with
   the ratio service/raw; the target is a ratio of at least 50 %.
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
process booking N transfers through the service layer. A run takes about 4 minutes on 2
cores; results and what they mean are in docs/BENCHMARKS.md.
"""

import argparse
import cProfile
import hashlib
import io
import logging
import multiprocessing
import os
import platform
import pstats
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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
    "raw": "raw SQL (DB-API, same rows)",
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
    """The baseline: the same rows as the service writes for a transfer, in hand-written SQL
    on the driver's own connection (psycopg or sqlite3), in one transaction."""

    def __init__(self, ring: Ring):
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
        lock = " FOR UPDATE" if self.postgresql else ""
        cursor.execute(self.sql(f"SELECT id, balance, version FROM accounts WHERE id IN (?, ?) ORDER BY id{lock}"),
                       (payer, payee))
        rows = {account_id: (balance, version) for account_id, balance, version in cursor.fetchall()}
        (payer_balance, payer_version), (payee_balance, payee_version) = rows[payer], rows[payee]
        if payer_balance - amount < self.min or payee_balance + amount > self.max:
            raise RuntimeError("the benchmark's limits are meant to be out of reach")
        payload = hashlib.sha256(f"{payer}:{payee}:{amount}:{key}".encode()).hexdigest()
        cursor.execute(self.sql(
            "INSERT INTO transfers (ring_id, payer_account_id, payee_account_id, amount, kind, description,"
            " reason, idempotency_key, payload_hash, limit_override, occurred_on, created_at)"
            " VALUES (?, ?, ?, ?, 'trade', 'bench', '', ?, ?, ?, ?, ?) RETURNING id"),
            (self.ring_id, payer, payee, amount, key, payload, False, occurred, created))
        transfer_id = cursor.fetchone()[0]
        cursor.execute(self.sql(
            "INSERT INTO entries (transfer_id, account_id, amount, balance_after, account_version,"
            " min_balance, max_balance) VALUES (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?)"),
            (transfer_id, payer, -amount, payer_balance - amount, payer_version + 1, self.min, self.max,
             transfer_id, payee, amount, payee_balance + amount, payee_version + 1, self.min, self.max))
        for account_id, balance, version in ((payer, payer_balance - amount, payer_version + 1),
                                             (payee, payee_balance + amount, payee_version + 1)):
            cursor.execute(self.sql("UPDATE accounts SET balance = ?, version = ? WHERE id = ?"),
                           (balance, version, account_id))
        self.connection.commit()


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
                payer=db.session.get(Account, payer), payee=db.session.get(Account, payee), amount=amount,
                idempotency_key=key, entered_by=None, description="bench"))
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
        if mode == "raw":
            book = RawBooking(ring)
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
    print(f"\n-- {result['backend']} {result['version']}: service / raw SQL "
          f"(target >= {TARGET_RATIO:.0%}; wall clock, and by CPU time per transfer)")
    ok = True
    by = {(run["mode"], run["processes"]): run for run in result["runs"]}
    for processes in sorted({run["processes"] for run in result["runs"]}):
        raw = by[("raw", processes)]
        for mode in ("transfer", "payment"):
            run = by[(mode, processes)]
            ratio, cpu_ratio = run["per_second"] / raw["per_second"], raw["cpu_ms"] / run["cpu_ms"]
            if mode == "transfer":
                ok &= ratio >= TARGET_RATIO
            print(f"   {processes} process{'es' if processes > 1 else '  '} {MODES[mode]:<48} "
                  f"{ratio:6.0%} of raw   (CPU: {cpu_ratio:4.0%})")
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

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, {platform.system()} {platform.release()}; "
          f"load average {os.getloadavg()[0]:.1f}")
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
