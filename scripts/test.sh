#!/usr/bin/env bash
# Runs the whole test suite on SQLite and PostgreSQL, with the browser tests in Chromium.
# Installs what is missing (Debian's postgresql and chromium), starts a throwaway
# PostgreSQL cluster on a Unix socket and removes it again afterwards.
# Extra arguments go to pytest, e.g.  scripts/test.sh -k ledger -x
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

missing=()
[ -n "$(pg_bindir)" ] && [ -x "$(pg_bindir)/initdb" ] || missing+=(postgresql postgresql-contrib)
command -v chromium >/dev/null || missing+=(chromium fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]} with apt-get ..."
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# A throwaway PostgreSQL cluster. PostgreSQL refuses to run as root, so as root the
# cluster belongs to the postgres user.
bindir="$(pg_bindir)"
pgdir="$(mktemp -d /tmp/ruilkring-pg.XXXXXX)"
port="${RUILKRING_TEST_PG_PORT:-54329}"
run_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" -eq 0 ] && chown postgres: "$pgdir"
stop_pg() {
  run_pg "$bindir/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$pgdir"
}
trap stop_pg EXIT
run_pg "$bindir/initdb" -D "$pgdir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
run_pg "$bindir/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w start \
  -o "-k $pgdir -p $port -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null
run_pg "$bindir/createdb" -h "$pgdir" -p "$port" -U postgres ruilkring_test

export RUILKRING_TEST_POSTGRES_URL="postgresql+psycopg://postgres@/ruilkring_test?host=$pgdir&port=$port"
export RUILKRING_TEST_CHROMIUM="${RUILKRING_TEST_CHROMIUM:-$(command -v chromium)}"

.venv/bin/python -m pytest "$@"
