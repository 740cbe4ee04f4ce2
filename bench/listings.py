"""Benchmark: the listings search as htmx asks for it, with 20,000 active listings in one ring.

Measures the results-fragment request (GET /kring/<slug>/aanbod-en-vraag with
``HX-Request: true`` and ``HX-Target: results``, signed in as a member) through the Flask
test client, for a mix of realistic searches, on SQLite and on PostgreSQL, and prints p50
and p95 per database. The target is a p95 under 30 ms.

Run it through ``bench/run.sh listings``, which starts a throwaway PostgreSQL server (see
scripts/pg.sh) and passes its URL in ``RUILKRING_TEST_POSTGRES_URL``. Directly:

    .venv/bin/python bench/listings.py --backend sqlite
    RUILKRING_TEST_POSTGRES_URL=postgresql+psycopg://... .venv/bin/python bench/listings.py

The PostgreSQL database it is given is wiped (its public schema is dropped): never point
it at data you want to keep. ``--profile`` adds a cProfile summary of the measured requests.
"""

import argparse
import cProfile
import io
import logging
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import machine_line  # noqa: E402
from flask_migrate import upgrade
from sqlalchemy import event, insert, text
from werkzeug.security import generate_password_hash

from ruilkring import clock, create_app
from ruilkring.auth.models import User
from ruilkring.demo import LISTING_IDEAS
from ruilkring.extensions import db
from ruilkring.listings.models import Listing, ListingKind, ListingPlace, ListingStatus
from ruilkring.listings.services import DEFAULT_CATEGORIES, categories_create_defaults
from ruilkring.members.models import Member, MemberRole, MemberStatus
from ruilkring.rings.models import Municipality, Neighbourhood, Ring

PASSWORD = "benchmark wachtwoord"
TARGET_P95_MS = 30.0
FRAGMENT = {"HX-Request": "true", "HX-Target": "results"}
WIJKEN = ("Binnenstad", "Oosterpark", "De Hoven", "Zuidwijk", "Kralingen-Oost", "Overvecht")

# Pieces that make the demo's listing ideas into 20,000 varied, realistic texts, with the
# accents and diaeresis Dutch uses (café, één, vóór, reünie, ideeën, coöperatie).
TITLE_ENDINGS = (
    "", "", "", " (ook in het weekend)", " in de buurt van het buurthuis", ", één keer per week",
    " vóór de zomer", " na de reünie", " bij het café op de hoek", " voor ouderen", " – ideeën welkom",
    " 's avonds", " in de Oosterpark-wijk", ", liefst op vrijdag", " met crème brûlée na afloop",
)
SENTENCES = (
    "Neem gerust contact op via de site; ik ben meestal 's middags thuis.",
    "Ik heb hier jarenlang ervaring mee, ook als vrijwilliger bij de coöperatie.",
    "Liefst overdag, maar na overleg kan het ook 's avonds of in het weekend.",
    "Mijn ideeën: we spreken eerst af voor een kop koffie in het buurtcafé.",
    "Ik spreek Nederlands, Engels en een beetje Frans; Turks en Arabisch versta ik.",
    "Geïnteresseerd? Stuur mij een bericht, dan bel ik u terug.",
    "Gereedschap neem ik zelf mee; materiaal betaalt u zelf.",
    "Het duurt ongeveer een uur, soms wat langer.",
    "Ik woon vlak bij het station en heb een fiets met krat.",
    "Na de reünie van mijn oude school zoek ik weer iets nieuws om te doen.",
    "Ik ben gepensioneerd en heb tijd over; één keer per week past mij goed.",
    "Geen haast: vóór eind van de maand is prima.",
    "Ik ben rolstoelgebruiker, dus bij mij thuis is het makkelijkst.",
    "Privé-les of in een groepje, wat u prettig vindt.",
    "Mijn dochter helpt soms mee; zij studeert aan de hogeschool.",
    "Het café aan het plein is een goede plek om af te spreken.",
    "Ook hulp bij e-mail, WhatsApp en internetbankieren.",
    "Ik kook graag Surinaams, Marokkaans en Hollands: stamppot, couscous, roti.",
    "Kinderen zijn welkom, de hond ook.",
    "Zie ook mijn andere aanbod in deze kring.",
)

# The searches of the mix: (label, query string). Ids are filled in once the data exists.
WORD_QUERIES = ["fiets", "tuin", "computer", "koken", "hond", "boodschappen", "ziekenhuis", "oppassen",
                "belastingaangifte", "gordijnen", "wandelen", "gitaarles", "verhuizen", "telefoon"]
PREFIX_QUERIES = ["fie", "comp", "bood", "rep", "wan", "zieken", "ta", "kl"]
TWO_WORD_QUERIES = ["hulp computer", "lekke band", "hond uitlaten", "samen wandelen", "koffie praatje",
                    "tuin heg", "naar dokter"]
ACCENT_QUERIES = ["cafe", "café", "creme brulee", "reunie", "ideeen", "cooperatie", "een keer", "voor de zomer"]
RARE_QUERIES = ["xylofoon", "zwemles", "kajak"]


def build_schema() -> None:
    """An empty database with the schema made by the migrations."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    logging.getLogger("alembic").setLevel(logging.WARNING)
    upgrade()


def seed(*, listings: int, members: int, seed_value: int) -> dict:
    """Bulk-insert a ring with ``members`` members in six wijken and ``listings`` active
    listings spread over the last 90 days. SQLite's FTS triggers and PostgreSQL's GIN
    index are filled by the inserts themselves, as in production."""
    rng = random.Random(seed_value)
    now = clock.now()
    municipality = Municipality(name="Gemeente Benchmark")
    wijken = [Neighbourhood(municipality=municipality, name=name) for name in WIJKEN]
    ring = Ring(slug="benchkring", name="Ruilkring Benchmark", municipality=municipality, neighbourhoods=wijken)
    db.session.add_all([municipality, ring, *wijken])
    db.session.flush()
    categories = categories_create_defaults(ring=ring)

    password_hash = generate_password_hash(PASSWORD)
    users = [User(email=f"lid{n}@example.org", name=f"Lid {n} van Dijk-Özdemir", password_hash=password_hash)
             for n in range(members)]
    db.session.add_all(users)
    db.session.flush()
    people = [Member(ring_id=ring.id, user_id=user.id, role=MemberRole.MEMBER, status=MemberStatus.ACTIVE,
                     neighbourhood_id=wijken[n % len(wijken)].id, house_rules_accepted_version=1,
                     approved_at=now, created_at=now)
              for n, user in enumerate(users)]
    db.session.add_all(people)
    db.session.flush()

    help_of = {name: help_kind for name, help_kind, _care in DEFAULT_CATEGORIES}
    owner_ids = [member.id for member in people]
    rows = []
    for _ in range(listings):
        category = rng.choice(categories)
        offers, requests = LISTING_IDEAS[category.name]
        kind = ListingKind.OFFER if rng.random() < 0.6 else ListingKind.REQUEST
        idea = rng.choice(offers if kind == ListingKind.OFFER else requests)
        title = (idea + rng.choice(TITLE_ENDINGS))[:120]
        description = " ".join([f"{idea}."] + rng.sample(SENTENCES, rng.randint(1, 4)))
        created = now - timedelta(days=rng.uniform(0, 90))
        rows.append({
            "ring_id": ring.id, "owner_id": rng.choice(owner_ids), "kind": kind, "title": title,
            "description": description, "category_id": category.id, "help_kind": help_of[category.name],
            "place": rng.choice(list(ListingPlace)), "status": ListingStatus.ACTIVE,
            "time_estimate": rng.choice([None, 30, 60, 90, 120]), "hidden_reason": "",
            "valid_until": (now + timedelta(days=rng.randint(1, 91))).date(),
            "created_at": created, "updated_at": created, "created_by_id": None,
        })
    for start in range(0, len(rows), 2000):
        db.session.execute(insert(Listing), rows[start:start + 2000])
    db.session.commit()
    # Fresh planner statistics (and on PostgreSQL a visibility map), as autovacuum keeps them.
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))  # VACUUM cannot run in a transaction
    else:
        with db.engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    return {
        "slug": ring.slug, "email": users[0].email,
        "categories": [category.id for category in categories], "wijken": [wijk.id for wijk in wijken],
    }


def query_mix(data: dict, rng: random.Random) -> list[tuple[str, dict]]:
    """About 80 searches: words, prefixes, two words, accents, filters, empty, paging."""
    categories, wijken = data["categories"], data["wijken"]
    mix = [("word", {"q": q}) for q in WORD_QUERIES]
    mix += [("prefix", {"q": q}) for q in PREFIX_QUERIES]
    mix += [("two words", {"q": q}) for q in TWO_WORD_QUERIES]
    mix += [("accents", {"q": q}) for q in ACCENT_QUERIES]
    mix += [("no result", {"q": q}) for q in RARE_QUERIES]
    mix += [("empty", {}), ("empty", {"q": ""}), ("empty", {"sort": "nearby"}),
            ("empty", {"page": "2"}), ("empty", {"page": "50"})]
    for q in ["fiets", "hulp", "tuin", "koffie", "", "comp", "café", "hond"]:
        mix.append(("filters", {"q": q, "kind": rng.choice(["offer", "request"])}))
        mix.append(("filters", {"q": q, "category": rng.choice(categories)}))
        mix.append(("filters", {"q": q, "wijk": rng.choice(wijken)}))
        mix.append(("filters", {"q": q, "new": "y"}))
        mix.append(("filters", {"q": q, "kind": "request", "wijk": rng.choice(wijken), "new": "y",
                                "sort": "nearby"}))
    mix += [("paging", {"q": "hulp", "page": "2"}), ("paging", {"q": "de", "page": "3"}),
            ("paging", {"q": "", "kind": "offer", "page": "4"})]
    return mix


class StatementTimer:
    """Counts statements and their time per request, to tell database time from the rest.
    On PostgreSQL it also notes the server processes serving the app's connections, whose
    CPU time ``server_cpu_seconds`` reads (a local server only)."""

    def __init__(self, engine):
        self.count = 0
        self.seconds = 0.0
        self.server_pids: set[int] = set()
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        if engine.dialect.name == "postgresql":
            event.listen(engine, "connect", self._note_server_pid)
            engine.dispose()  # so that every connection from now on is noted

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_start"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        self.count += 1
        self.seconds += time.perf_counter() - conn.info.pop("bench_start")

    def _note_server_pid(self, dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT pg_backend_pid()")
        self.server_pids.add(cursor.fetchone()[0])
        cursor.close()

    def server_cpu_seconds(self) -> float | None:
        """CPU time used so far by the server processes of our connections (Linux)."""
        if not self.server_pids:
            return None
        try:
            return sum(int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
                       for pid in self.server_pids) / 1e9
        except (OSError, ValueError):
            return None

    def reset(self):
        self.count, self.seconds = 0, 0.0


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, int(-(-p * len(ordered) // 100)))  # ceil(p/100 * n)
    return ordered[rank - 1]


def run_backend(backend: str, url: str, *, listings: int, members: int, rounds: int, profile: bool,
                workdir: Path) -> dict:
    app = create_app({
        "ENV": "development", "SECRET_KEY": "benchmark", "DATABASE_URL": url, "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": "ruilkring.test", "OUTBOX_DIR": str(workdir / "outbox"),
        "UPLOAD_DIR": str(workdir / "uploads"),
    })
    started = time.perf_counter()
    with app.app_context():
        build_schema()
        data = seed(listings=listings, members=members, seed_value=20261122)
        timer = StatementTimer(db.engine)
        version = db.session.scalar(text("SELECT sqlite_version()" if backend == "sqlite" else "SHOW server_version"))
    seeded = time.perf_counter() - started

    client = app.test_client()
    response = client.post("/inloggen", data={"email": data["email"], "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    path = f"/kring/{data['slug']}/aanbod-en-vraag"
    rng = random.Random(7)
    mix = query_mix(data, rng)

    def fetch(args: dict) -> dict:
        timer.reset()
        server_before = timer.server_cpu_seconds()
        cpu_before = time.process_time()
        start = time.perf_counter()
        response = client.get(path, query_string=args, headers=FRAGMENT)
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu_before
        server_after = timer.server_cpu_seconds()
        body = response.get_data(as_text=True)
        assert response.status_code == 200 and "<html" not in body and "gevonden" in body, (args, body[:300])
        if server_before is not None and server_after is not None:
            cpu += server_after - server_before
        return {"ms": elapsed * 1000, "cpu_ms": cpu * 1000, "db_ms": timer.seconds * 1000,
                "statements": timer.count}

    for _ in range(2):  # warm-up: caches, compiled statements, the database's own buffers
        for _label, args in mix:
            fetch(args)

    samples: list[dict] = []
    profiler = cProfile.Profile() if profile else None
    load_before = os.getloadavg()[0]
    for _ in range(rounds):
        order = mix[:]
        rng.shuffle(order)
        for label, args in order:
            if profiler:
                profiler.enable()
            sample = fetch(args)
            if profiler:
                profiler.disable()
            samples.append({"label": label, "args": args, **sample})

    def p(key, q, rows=samples):
        return percentile([row[key] for row in rows], q)

    result = {
        "backend": backend, "version": version, "requests": len(samples), "seed_seconds": seeded,
        "load": (load_before, os.getloadavg()[0]),
        "p50": p("ms", 50), "p95": p("ms", 95), "max": max(row["ms"] for row in samples),
        "mean": statistics.fmean(row["ms"] for row in samples),
        "cpu_p50": p("cpu_ms", 50), "cpu_p95": p("cpu_ms", 95),
        "cpu_includes_server": timer.server_cpu_seconds() is not None or backend == "sqlite",
        "db_p50": p("db_ms", 50), "db_p95": p("db_ms", 95),
        "statements": statistics.median(row["statements"] for row in samples),
    }
    by_label = defaultdict(list)
    for row in samples:
        by_label[row["label"]].append(row)
    result["by_label"] = {label: (p("ms", 50, rows), p("ms", 95, rows), p("cpu_ms", 50, rows), p("db_ms", 50, rows),
                                  len(rows))
                          for label, rows in by_label.items()}
    result["slowest"] = sorted(samples, key=lambda row: row["ms"], reverse=True)[:5]
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(35)
        result["profile"] = out.getvalue()
    return result


def report(result: dict) -> None:
    verdict = "met" if result["p95"] < TARGET_P95_MS else "MISSED"
    print(f"\n== {result['backend']} {result['version']}: {result['requests']} requests "
          f"(data built in {result['seed_seconds']:.1f} s; load average {result['load'][0]:.1f} "
          f"-> {result['load'][1]:.1f})")
    print(f"   wall clock  p50 {result['p50']:.1f} ms   p95 {result['p95']:.1f} ms   max {result['max']:.1f} ms   "
          f"mean {result['mean']:.1f} ms   [target p95 < {TARGET_P95_MS:.0f} ms: {verdict}]")
    whose = "app + database server" if result["cpu_includes_server"] else "app only"
    print(f"   CPU time ({whose})  p50 {result['cpu_p50']:.1f} ms   p95 {result['cpu_p95']:.1f} ms"
          "   (close to the wall clock on an idle machine)")
    print(f"   waiting for the database: p50 {result['db_p50']:.1f} ms, p95 {result['db_p95']:.1f} ms; "
          f"{result['statements']:.0f} statements per request")
    print(f"   {'kind of search':<14} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'cpu p50':>8} {'db p50':>8}")
    for label, (p50, p95, cpu50, db50, n) in sorted(result["by_label"].items()):
        print(f"   {label:<14} {n:>4} {p50:>8.1f} {p95:>8.1f} {cpu50:>8.1f} {db50:>8.1f}")
    print("   slowest: " + "; ".join(f"{row['args']} {row['ms']:.1f} ms (db {row['db_ms']:.1f})"
                                     for row in result["slowest"]))
    if "profile" in result:
        print(result["profile"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--listings", type=int, default=20_000)
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=4, help="passes over the ~80 searches of the mix")
    parser.add_argument("--profile", action="store_true", help="print a cProfile summary per database")
    args = parser.parse_args()

    print(machine_line())
    results = []
    with tempfile.TemporaryDirectory(prefix="ruilkring-bench-") as tmp:
        workdir = Path(tmp)
        backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
        for backend in backends:
            if backend == "sqlite":
                url = f"sqlite:///{workdir / 'bench.sqlite'}"
            else:
                url = os.environ.get("RUILKRING_TEST_POSTGRES_URL")
                if not url:
                    print("RUILKRING_TEST_POSTGRES_URL is not set: run bench/run.sh listings", file=sys.stderr)
                    return 2
            result = run_backend(backend, url, listings=args.listings, members=args.members, rounds=args.rounds,
                                 profile=args.profile, workdir=workdir)
            report(result)
            results.append(result)
    return 0 if all(r["p95"] < TARGET_P95_MS for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
