"""Benchmark: the social-effect statistics on a large ring.

Builds (or reuses) a database with the demo data at scale,

    flask --app ruilkring demo --members 10000 --trades 1000000

(a main ring of 10,000 members with a year of 1,000,000 trades, and a second ring a quarter
of that size), then measures, per database:

1. ``flask --app ruilkring stats refresh``: wall time and the command's peak memory;
2. the coordinator's dashboard (``/kring/<slug>/beheer/dashboard``) signed in as the demo
   coordinator, through the Flask test client: cold (first request, empty figures cache)
   and warm (median of ``--warm`` requests); the same for the htmx panels of another period;
3. the municipality page (``/gemeente/``) signed in as the demo gemeente viewer, cold and
   warm;
4. the peak memory (``resource.getrusage`` maxrss) of this process.

Aims: dashboard pages under 300 ms warm, refresh under 60 s, memory under 1 GB.

Run it through ``bench/run.sh stats``, which starts a throwaway PostgreSQL server (see
scripts/pg.sh) and passes its URL in ``RUILKRING_TEST_POSTGRES_URL``. Directly:

    .venv/bin/python bench/stats.py --backend sqlite
    .venv/bin/python bench/stats.py --postgres-url postgresql+psycopg://...

The SQLite file (``--sqlite-path``, default /tmp/ruilkring-bench-stats.sqlite) is reused
when this script built it with the same ``--members`` and ``--trades`` (it notes them in
a table ``bench_stats_size``), since building takes minutes; a PostgreSQL database is
reused the same way, and otherwise wiped (its public schema is dropped): never point it
at data you want to keep. ``--profile`` prints a cProfile
summary of each cold page.
"""

import argparse
import cProfile
import io
import os
import pstats
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import flask_env, machine_line, run_flask  # noqa: E402
from sqlalchemy import create_engine, func, select, text

from ruilkring import create_app
from ruilkring.demo import DEMO_PASSWORD, RINGS
from ruilkring.extensions import db
from ruilkring.ledger.models import Transfer
from ruilkring.members.models import Member
from ruilkring.rings.models import Ring

AIM_PAGE_MS = 300.0
AIM_REFRESH_S = 60.0
AIM_MEMORY_MB = 1024.0
MAIN_RING_SLUG = RINGS[0][0].lower().replace(" ", "-")
PANELS = {"HX-Request": "true", "HX-Target": "dashboard-panels"}


MARKER = "bench_stats_size"  # a one-row table: the demo arguments the database was built with


def built_size(url: str) -> tuple[int, int] | None:
    """The (members, trades) the database was built with by this script, if it was."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return tuple(connection.execute(text(f"SELECT members, trades FROM {MARKER}")).one())
    except Exception:
        return None
    finally:
        engine.dispose()


def main_ring_size(url: str) -> tuple[int, int]:
    """Members and trades of the demo's main ring (the demo skips trades that would break
    a credit limit, so there are fewer trades than asked for)."""
    engine = create_engine(url)
    with engine.connect() as connection:
        ring_id = connection.scalar(select(Ring.id).where(Ring.slug == MAIN_RING_SLUG))
        members = connection.scalar(select(func.count()).select_from(Member).where(Member.ring_id == ring_id))
        trades = connection.scalar(select(func.count()).select_from(Transfer).where(Transfer.ring_id == ring_id))
    engine.dispose()
    return members, trades


def build(url: str, backend: str, members: int, trades: int, env: dict) -> dict:
    """Reuse the database when this script built it with the same size, else (re)build it."""
    if built_size(url) == (members, trades):
        found = main_ring_size(url)
        print(f"  reusing the demo data: {found[0]:,} members, {found[1]:,} trades in the main ring")
        return {"build_seconds": None, "members": found[0], "trades": found[1]}
    if backend == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    print(f"  building: flask demo --members {members} --trades {trades} (takes minutes) ...", flush=True)
    upgrade_seconds, _, _ = run_flask(["db", "upgrade"], env)
    seconds, peak, output = run_flask(["demo", "--members", str(members), "--trades", str(trades)], env)
    print(f"  {output.splitlines()[-1] if output else ''}")
    print(f"  built in {upgrade_seconds + seconds:.0f} s (demo command peak memory {peak:.0f} MB)")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE {MARKER} (members INTEGER, trades INTEGER)"))
        connection.execute(text(f"INSERT INTO {MARKER} VALUES (:m, :t)"), {"m": members, "t": trades})
    engine.dispose()
    found = main_ring_size(url)
    return {"build_seconds": upgrade_seconds + seconds, "members": found[0], "trades": found[1]}


def timed_get(client, path: str, headers: dict | None = None, profile: bool = False) -> float:
    """One request; milliseconds. Fails loudly on anything but 200."""
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    response = client.get(path, headers=headers or {})
    if profiler:
        profiler.disable()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"GET {path}: {response.status_code}")
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
        print(f"\n--- profile of the cold GET {path}\n{out.getvalue()}")
    return elapsed


def measure_page(client, path: str, warm: int, headers: dict | None = None, profile: bool = False) -> dict:
    from ruilkring.stats import dashboard

    dashboard._CACHE.clear()
    cold = timed_get(client, path, headers, profile)
    warm_times = [timed_get(client, path, headers) for _ in range(warm)]
    return {"cold_ms": cold, "warm_ms": statistics.median(warm_times), "warm_max_ms": max(warm_times)}


def signed_in_client(app, email: str):
    client = app.test_client()
    response = client.post("/inloggen", data={"email": email, "password": DEMO_PASSWORD})
    if response.status_code != 302:
        raise SystemExit(f"could not sign in as {email}")
    return client


def run_backend(backend: str, url: str, args, workdir: str) -> dict:
    print(f"\n== {backend}", flush=True)
    env = flask_env(url, workdir)
    result = {"backend": backend, **build(url, backend, args.members, args.trades, env)}

    refresh_seconds, refresh_peak, output = run_flask(["stats", "refresh"], env)
    print(f"  stats refresh: {refresh_seconds:.1f} s, peak {refresh_peak:.0f} MB ({output.splitlines()[-1]})")
    result.update(refresh_s=refresh_seconds, refresh_peak_mb=refresh_peak)

    app = create_app({"ENV": "development", "SECRET_KEY": "benchmark", "DATABASE_URL": url,
                      "WTF_CSRF_ENABLED": False, "OUTBOX_DIR": str(Path(workdir) / "outbox"),
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        result["version"] = db.session.scalar(
            text("SELECT sqlite_version()" if backend == "sqlite" else "SHOW server_version"))
        db.session.remove()
    coordinator = signed_in_client(app, "coordinator@example.org")
    viewer = signed_in_client(app, "gemeente@example.org")
    base = f"/kring/{MAIN_RING_SLUG}/beheer"
    # Templates and the first database connections are made before anything is timed.
    coordinator.get(f"/kring/{MAIN_RING_SLUG}/start")
    viewer.get("/")

    pages = {
        "dashboard (quarter)": (coordinator, f"{base}/dashboard", None),
        "dashboard panels, htmx (year)": (coordinator, f"{base}/dashboard?periode=jaar", PANELS),
        "dashboard CSV (one table)": (coordinator, f"{base}/dashboard/partners.csv?periode=maand", None),
        "municipality page": (viewer, "/gemeente/", None),
        "municipality CSV report": (viewer, "/gemeente/rapport.csv", None),
    }
    result["pages"] = {}
    for name, (client, path, headers) in pages.items():
        figures = measure_page(client, path, args.warm, headers, profile=args.profile)
        result["pages"][name] = figures
        print(f"  {name:32} cold {figures['cold_ms']:8.0f} ms   warm {figures['warm_ms']:6.1f} ms "
              f"(max {figures['warm_max_ms']:.1f})", flush=True)
    result["memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak memory of this process: {result['memory_mb']:.0f} MB")
    return result


def report(results: list[dict]) -> None:
    print("\n== Summary (aims: warm pages < 300 ms, refresh < 60 s, memory < 1 GB)")
    print(machine_line())
    for result in results:
        print(f"\n{result['backend']} {result['version']}: main ring {result['members']:,} members, "
              f"{result['trades']:,} trades")
        ok = result["refresh_s"] < AIM_REFRESH_S
        print(f"  stats refresh        {result['refresh_s']:7.1f} s   peak {result['refresh_peak_mb']:.0f} MB  "
              f"{'ok' if ok and result['refresh_peak_mb'] < AIM_MEMORY_MB else 'MISSED'}")
        for name, figures in result["pages"].items():
            ok = figures["warm_ms"] < AIM_PAGE_MS
            print(f"  {name:32} cold {figures['cold_ms']:8.0f} ms   warm {figures['warm_ms']:6.1f} ms  "
                  f"{'ok' if ok else 'MISSED'}")
        print(f"  peak memory (pages)  {result['memory_mb']:7.0f} MB  "
              f"{'ok' if result['memory_mb'] < AIM_MEMORY_MB else 'MISSED'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--warm", type=int, default=7, help="warm requests per page (the median is reported)")
    parser.add_argument("--sqlite-path", default="/tmp/ruilkring-bench-stats.sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("RUILKRING_TEST_POSTGRES_URL"))
    parser.add_argument("--profile", action="store_true", help="print a cProfile summary of each cold page")
    args = parser.parse_args()

    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = []
    with tempfile.TemporaryDirectory(prefix="ruilkring-bench-") as workdir:
        for backend in backends:
            if backend == "sqlite":
                url = f"sqlite:///{args.sqlite_path}"
            else:
                url = args.postgres_url
                if not url:
                    print("no PostgreSQL: run bench/run.sh stats, or pass --postgres-url", file=sys.stderr)
                    return 2
            results.append(run_backend(backend, url, args, workdir))
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
