#!/usr/bin/env bash
# Runs one benchmark script, bench/<name>.py, with a throwaway PostgreSQL server (see
# scripts/pg.sh) whose URL it finds in RUILKRING_TEST_POSTGRES_URL. Extra arguments go
# to the script, e.g.  bench/run.sh listings --backend postgresql --rounds 6
set -euo pipefail
cd "$(dirname "$0")/.."

name="${1:?usage: bench/run.sh <name> [arguments], e.g. bench/run.sh listings}"
shift
[ -f "bench/$name.py" ] || { echo "no such benchmark: bench/$name.py" >&2; exit 2; }

# shellcheck source=scripts/pg.sh
source scripts/pg.sh
export RUILKRING_TEST_PG_PORT="${RUILKRING_TEST_PG_PORT:-54339}"  # not the test suite's port
pg_start

.venv/bin/python "bench/$name.py" "$@"
