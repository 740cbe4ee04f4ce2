#!/usr/bin/env bash
# Runs the whole test suite on SQLite and PostgreSQL, with the browser tests in Chromium.
# Installs what is missing (Debian's postgresql and chromium), starts a throwaway
# PostgreSQL cluster on a Unix socket and removes it again afterwards.
# Extra arguments go to pytest, e.g.  scripts/test.sh -k ledger -x
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/pg.sh
source scripts/pg.sh

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
[ -n "$(pg_bindir)" ] && [ -x "$(pg_bindir)/initdb" ] || missing+=(postgresql postgresql-contrib)
command -v chromium >/dev/null || missing+=(chromium fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]} with apt-get ..."
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

pg_start  # a throwaway PostgreSQL cluster, see scripts/pg.sh
export RUILKRING_TEST_CHROMIUM="${RUILKRING_TEST_CHROMIUM:-$(command -v chromium)}"

.venv/bin/python -m pytest "$@"
