"""Benchmark: importing a long history in the generic CSV format.

Writes, in a temporary folder, a generic-format ``members.csv`` (``--members``, default
10,000, each with the balance the history gives them) and ``transfers.csv``
(``--transfers``, default 1,000,000 over three years, 15 minutes to 4 hours, each member
paying one of a circle of 12 partners), then, per database, into an empty ring with a coordinator, runs the real command
as an operator would, each in its own process:

1. ``flask import --dry-run`` (read, check everything, write nothing);
2. ``flask import`` (the real run: one transaction);
3. ``flask import`` again (re-run: everything "already imported", nothing written);

and prints each one's wall time and peak memory (the child's ``ru_maxrss``), and checks
the books with ``ledger_verify``. The aim (issue 7): a million transactions within a few
minutes.

Run it through ``bench/run.sh import``, which starts a throwaway PostgreSQL server (see
scripts/pg.sh) and passes its URL in ``RUILKRING_TEST_POSTGRES_URL``. Directly:

    .venv/bin/python bench/import.py --backend sqlite --transfers 100000

The PostgreSQL database it is given is wiped (its public schema is dropped): never point it
at data you want to keep. The SQLite database is a new file in the temporary folder.
"""

import argparse
import csv
import logging
import os
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import flask_env, machine_line, run_flask  # noqa: E402
from flask_migrate import upgrade
from sqlalchemy import func, select, text

from ruilkring import create_app
from ruilkring.auth.models import User
from ruilkring.extensions import db
from ruilkring.ledger.models import Transfer
from ruilkring.ledger.verify import ledger_verify
from ruilkring.members.models import Member, MemberRole, MemberStatus
from ruilkring.rings.models import Municipality, Ring

SLUG = "import-bench"
PARTNERS = 12  # each member's circle of trading partners
AIM_SECONDS = 300.0  # "within a few minutes"


def write_files(folder: Path, *, members: int, transfers: int, seed: int) -> list[Path]:
    """The generic-format files of a ring with ``members`` members and ``transfers``
    transfers; each member's balance in members.csv is what the history gives them."""
    rng = random.Random(seed)
    balances = [0] * members
    start = date(2023, 1, 1)
    days = 3 * 365
    dates = sorted(rng.randrange(days) for _ in range(transfers))
    # People trade with a circle of partners, not with the whole ring at random.
    partners = [[(member + 1 + rng.randrange(members - 1)) % members for _ in range(PARTNERS)]
                for member in range(members)]
    with (folder / "transfers.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "occurred_on", "payer_id", "payee_id", "amount_minutes", "kind", "description"])
        for number, day in enumerate(dates, start=1):
            payer = rng.randrange(members)
            payee = rng.choice(partners[payer])
            amount = 15 * rng.randint(1, 16)
            balances[payer] -= amount
            balances[payee] += amount
            writer.writerow([f"t{number}", (start + timedelta(days=day)).isoformat(), payer + 1, payee + 1,
                             amount, "trade", f"Ruil {number}"])
    with (folder / "members.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "email", "status", "joined_on", "balance_minutes"])
        for number in range(members):
            writer.writerow([number + 1, f"Lid {number + 1}", f"lid{number + 1}@example.org", "active",
                             start.isoformat(), balances[number]])
    return [folder / "members.csv", folder / "transfers.csv"]


def prepare(url: str, workdir: str) -> str:
    """An empty schema with one ring (wide limits: the random history is not a healthy ring)
    and its coordinator; returns the database's version."""
    app = create_app({"ENV": "development", "SECRET_KEY": "benchmark", "DATABASE_URL": url,
                      "OUTBOX_DIR": str(Path(workdir) / "outbox")})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        logging.getLogger("alembic").setLevel(logging.WARNING)
        upgrade()
        municipality = Municipality(name="Benchmark")
        ring = Ring(slug=SLUG, name="Import benchmark", municipality=municipality,
                    default_min_balance=-10**6, default_max_balance=10**6)
        user = User(email="coordinator@example.org", name="Coördinator")
        db.session.add_all([municipality, ring, user])
        db.session.flush()
        db.session.add(Member(ring_id=ring.id, user_id=user.id, role=MemberRole.COORDINATOR,
                              status=MemberStatus.ACTIVE))
        db.session.commit()
        version = db.session.scalar(text("SELECT sqlite_version()" if url.startswith("sqlite")
                                         else "SHOW server_version"))
        db.engine.dispose()
    return version


def verify(url: str, workdir: str) -> tuple[int, list[str], float]:
    app = create_app({"ENV": "development", "SECRET_KEY": "benchmark", "DATABASE_URL": url,
                      "OUTBOX_DIR": str(Path(workdir) / "outbox")})
    with app.app_context():
        transfers = db.session.scalar(select(func.count()).select_from(Transfer))
        started = time.perf_counter()
        problems = ledger_verify()
        return transfers, problems, time.perf_counter() - started


def run_backend(backend: str, url: str, files: list[Path], workdir: str, transfers: int) -> bool:
    version = prepare(url, workdir)
    print(f"\n== {backend} {version}", flush=True)
    ok = True
    for label, extra in (("dry run", ("--dry-run",)), ("real run", ()), ("re-run", ())):
        seconds, peak_mb, output = run_flask(
            ["import", "--ring", SLUG, "--format", "generic", *extra, *map(str, files)], flask_env(url, workdir))
        summary = next((line for line in output.splitlines() if line.startswith("Transacties")), "")
        print(f"   {label:<9} {seconds:7.1f} s  peak {peak_mb:6.0f} MB   {summary}", flush=True)
        if label == "real run":
            ok &= seconds < AIM_SECONDS
            print(f"             {transfers / seconds:,.0f} transfers/s  [aim < {AIM_SECONDS:.0f} s: "
                  f"{'met' if seconds < AIM_SECONDS else 'MISSED'}]", flush=True)
    count, problems, seconds = verify(url, workdir)
    print(f"   {count:,} transfers in the ring; ledger_verify {seconds:.1f} s: "
          f"{'no problems' if not problems else problems[:3]}", flush=True)
    return ok and not problems and count == transfers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--postgres-url", default=os.environ.get("RUILKRING_TEST_POSTGRES_URL"),
                        help="a throwaway database: it is wiped (default: $RUILKRING_TEST_POSTGRES_URL)")
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--transfers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261202)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and not args.postgres_url:
        print("no PostgreSQL: pass --postgres-url or run bench/run.sh import", file=sys.stderr)
        return 2

    print(machine_line())
    ok = True
    with tempfile.TemporaryDirectory(prefix="ruilkring-bench-import-") as workdir:
        started = time.perf_counter()
        files = write_files(Path(workdir), members=args.members, transfers=args.transfers, seed=args.seed)
        size = sum(path.stat().st_size for path in files) / 2**20
        print(f"{args.members:,} members and {args.transfers:,} transfers written in "
              f"{time.perf_counter() - started:.1f} s ({size:.0f} MB of CSV)")
        for backend in backends:
            url = f"sqlite:///{Path(workdir) / 'import.sqlite'}" if backend == "sqlite" else args.postgres_url
            ok &= run_backend(backend, url, files, workdir, args.transfers)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
