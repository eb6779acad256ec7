#!/usr/bin/env bash
# make demo: on a fresh machine, find a Postgres, build, migrate, start the
# simulator, run every job once and show what the bi views hold.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

if [ -z "${DATABASE_URL:-}" ]; then
  admin=$(scripts/pg.sh)
  # A database of its own, made anew, so the demo shows one clean run.
  psql "$admin" -qc "DROP DATABASE IF EXISTS syncer_demo WITH (FORCE)" -c "CREATE DATABASE syncer_demo"
  export DATABASE_URL="${admin%/postgres*}/syncer_demo?sslmode=disable"
fi

echo "== build"
go build -o bin/syncer ./cmd/syncer

workdir=$(mktemp -d)
echo "== simulator"
bin/syncer sim --addr 127.0.0.1:0 --clients 2000 >"$workdir/sim.log" 2>&1 &
sim_pid=$!
trap 'kill $sim_pid 2>/dev/null || true; rm -rf "$workdir"' EXIT
for _ in $(seq 50); do grep -q 'http://' "$workdir/sim.log" && break; sleep 0.1; done
sim_url=$(grep -o 'http://[0-9.:]*' "$workdir/sim.log" | head -1)
echo "simulator at $sim_url"

export MGID_BASE_URL="$sim_url" MGID_LOGIN=demo-agency MGID_PASSWORD=demo-password MGID_TIMEZONE=UTC
export SYNCER_LOG_LEVEL=warn

echo "== migrate"
bin/syncer migrate up

echo "== run every job once"
bin/syncer once mgid-balances mgid-spend

echo "== backfill mgid-spend for the 14 days before the lookback window"
bin/syncer backfill mgid-spend --from "$(date -u -d '-21 days' +%F)" --to "$(date -u -d '-8 days' +%F)"

echo "== jobs"
bin/syncer jobs

echo "== rows per bi view"
bin/syncer views

echo "== a taste of bi.mgid_client_balance_latest"
psql "$DATABASE_URL" -c "SELECT * FROM bi.mgid_client_balance_latest ORDER BY client_id LIMIT 3"
