# Sourced by scripts/test.sh and bench/run.sh: a throwaway PostgreSQL cluster on a Unix
# socket, removed again when the calling script exits. Afterwards
# RUILKRING_TEST_POSTGRES_URL points at its database ruilkring_test.
# PostgreSQL refuses to run as root, so as root the cluster belongs to the postgres user.

pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

pg_start() {
  bindir="$(pg_bindir)"
  pgdir="$(mktemp -d /tmp/ruilkring-pg.XXXXXX)"
  port="${RUILKRING_TEST_PG_PORT:-54329}"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$pgdir"
  trap pg_stop EXIT
  run_pg "$bindir/initdb" -D "$pgdir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  run_pg "$bindir/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w start \
    -o "-k $pgdir -p $port -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null
  run_pg "$bindir/createdb" -h "$pgdir" -p "$port" -U postgres ruilkring_test
  export RUILKRING_TEST_POSTGRES_URL="postgresql+psycopg://postgres@/ruilkring_test?host=$pgdir&port=$port"
}

run_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_stop() {
  run_pg "$bindir/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$pgdir"
}
