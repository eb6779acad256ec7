#!/usr/bin/env bash
# make demo: on a fresh machine, find a Postgres, build, migrate, start the
# simulator, run every job once and show what the bi views hold.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

# A database of its own, made anew so the demo shows one clean run. The demo
# marks the database it creates and drops only a database carrying that
# mark: never one it did not create. With DATABASE_URL set it uses that
# database as it is and drops nothing.
demo_db=${DEMO_DATABASE:-syncer_demo}
demo_mark="created by syncer make demo; dropped and recreated by the next make demo"
if [ -z "${DATABASE_URL:-}" ]; then
  case "$demo_db" in *[!a-z0-9_]*|"") echo "demo: DEMO_DATABASE=$demo_db: use lower-case letters, digits and _" >&2; exit 2;; esac
  admin=$(scripts/pg.sh)
  exists=$(psql "$admin" -Atc "SELECT count(*) FROM pg_database WHERE datname = '$demo_db'")
  if [ "$exists" = 1 ]; then
    mark=$(psql "$admin" -Atc "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = '$demo_db'")
    if [ "$mark" != "$demo_mark" ]; then
      echo "demo: database $demo_db exists and was not created by make demo; not touching it." >&2
      echo "demo: drop it yourself if it is yours to drop, or run: DEMO_DATABASE=another_name make demo" >&2
      exit 1
    fi
    psql "$admin" -qc "DROP DATABASE $demo_db WITH (FORCE)"
  fi
  psql "$admin" -qc "CREATE DATABASE $demo_db" -c "COMMENT ON DATABASE $demo_db IS '$demo_mark'"
  export DATABASE_URL="${admin%/postgres*}/$demo_db?sslmode=disable"
fi

echo "== build"
make -s build

workdir=$(mktemp -d)
# What the demo runs, the hand-off at the end runs too: the same simulator
# flags, and every setting in .demo/next.env. The hand-off's ports are these
# variables (the demo itself uses free ports).
sim_flags="--clients 2000"
next_sim_addr=${DEMO_SIM_ADDR:-127.0.0.1:8089}
next_http_addr=${DEMO_HTTP_ADDR:-127.0.0.1:9188}
demo_dir="$PWD/.demo"
mkdir -p "$demo_dir"
echo "== simulator"
# shellcheck disable=SC2086 # sim_flags is a list of flags
bin/syncer sim --addr 127.0.0.1:0 $sim_flags >"$workdir/sim.log" 2>&1 &
sim_pid=$!
trap 'kill $sim_pid 2>/dev/null || true; rm -rf "$workdir"' EXIT
for _ in $(seq 50); do grep -q 'http://' "$workdir/sim.log" && break; sleep 0.1; done
sim_url=$(grep -o 'http://[0-9.:]*' "$workdir/sim.log" | head -1)
echo "simulator at $sim_url"

export MGID_BASE_URL="$sim_url" MGID_LOGIN=demo-agency MGID_PASSWORD=demo-password MGID_TIMEZONE=UTC
export SYNCER_LOG_LEVEL=warn
# The tracked checks: the simulator's Gmedia and Firstlight credentials, a
# key for the account hashes in the bi views, and one user token, named by
# a reference (VIEWER) and read from a file at run time; never stored.
export SYNCER_HASH_KEY=demo-hash-key-not-for-production
export GMEDIA_TOKEN_URL="$sim_url/gmedia/token" GMEDIA_CHECK_URL="$sim_url/gmedia/CheckMawathoq"
export GMEDIA_CLIENT_ID=sim-gmedia GMEDIA_CLIENT_SECRET=sim-gmedia-secret
export FIRSTLIGHT_URL="$sim_url/media/content/checkredeem" FIRSTLIGHT_IAM_TOKEN=sim-iam-token
export FIRSTLIGHT_USER_TOKEN_DIR="$demo_dir/user-tokens"
export JOB_MAWTHOQ_RECHECK_ENABLED=true JOB_FIRSTLIGHT_REDEEM_ENABLED=true JOB_MGID_TOPUP_ENABLED=true
mkdir -p "$FIRSTLIGHT_USER_TOKEN_DIR"
printf 'ut-demo-viewer-token\n' >"$FIRSTLIGHT_USER_TOKEN_DIR/VIEWER"
# The auto top-up policy lives in YAML; dry_run is the default, spelt out here.
cat >"$demo_dir/syncer.yaml" <<'YAML'
topup:
  dry_run: true
  account_type: personal
  max_per_transfer: 150.00
  max_per_client_day: 300.00
  max_per_agency_day: 5000.00
  default: {min: 50.00, target: 200.00}
YAML
export SYNCER_CONFIG="$demo_dir/syncer.yaml"

echo "== migrate"
bin/syncer migrate up

echo "== track a few Mawthoq accounts and Firstlight checks"
cat >"$workdir/accounts.csv" <<'CSV'
platform,account,label
tiktok,1000000008,demo shop
x,2000000006,demo news
youtube,1234567897,demo channel
instagram,2345678904,demo studio
CSV
bin/syncer mawthoq track import "$workdir/accounts.csv"
bin/syncer mawthoq track add --platform snapchat --account 1999999996 --label "added by hand"
for n in 1 2 3; do
  bin/syncer firstlight track add --name "demo-check-$n" --device-id "demo-device-$n" --content-id "demo-content-$n" \
    --content-type vod --catalog-type movie --delivery streaming --user-token-ref VIEWER
done

echo "== run every job once (mgid-topup is a dry run: it journals a plan and sends nothing)"
bin/syncer once mgid-balances mgid-spend mawthoq-recheck firstlight-redeem
bin/syncer once mgid-topup

echo "== backfill mgid-spend for 12 of the 14 days before the lookback window"
bin/syncer backfill mgid-spend --from "$(date -u -d '-21 days' +%F)" --to "$(date -u -d '-10 days' +%F)"

echo "== syncer gaps: the two days left out are missing"
bin/syncer gaps
echo "== syncer backfill mgid-spend --gaps fills exactly those"
bin/syncer backfill mgid-spend --gaps
bin/syncer gaps

echo "== jobs"
bin/syncer jobs

echo "== rows per bi view"
bin/syncer views

echo "== a taste of bi.mgid_client_balance_latest"
psql "$DATABASE_URL" -c "SELECT * FROM bi.mgid_client_balance_latest ORDER BY client_id LIMIT 3"

echo "== the dry-run top-up plan: mgid transfers list --limit 8"
bin/syncer mgid transfers list --limit 8

echo "== bi.mawthoq_status_current"
psql "$DATABASE_URL" -c "SELECT platform, account_masked, left(account_hash, 12) AS account_hash, label, status, license_number, expiry_date, last_check_outcome, last_check_at FROM bi.mawthoq_status_current ORDER BY target_id"

echo "== bi.firstlight_redeem_current"
psql "$DATABASE_URL" -c "SELECT check_name, content_id, entitlement, tracking_id, last_check_outcome, last_error_code, last_check_at FROM bi.firstlight_redeem_current ORDER BY target_id"

echo "== bi.source_freshness (expected_interval is recorded when the daemon starts)"
psql "$DATABASE_URL" -c "SELECT job, last_success_at, age, expected_interval, stale FROM bi.source_freshness ORDER BY job"

echo "== bi.coverage, the last 5 days"
psql "$DATABASE_URL" -c "SELECT source, agency_id, day, state, last_observed_at FROM bi.coverage WHERE day > current_date - 5 ORDER BY source, agency_id, day"

db_name=$(psql "$DATABASE_URL" -Atc "SELECT current_database()")
# Every setting the jobs shown above need, for the daemon of the hand-off.
cat >"$demo_dir/next.env" <<EOF
DATABASE_URL=$DATABASE_URL
MGID_BASE_URL=http://$next_sim_addr
MGID_LOGIN=$MGID_LOGIN
MGID_PASSWORD=$MGID_PASSWORD
MGID_TIMEZONE=$MGID_TIMEZONE
SYNCER_HASH_KEY=$SYNCER_HASH_KEY
GMEDIA_TOKEN_URL=http://$next_sim_addr/gmedia/token
GMEDIA_CHECK_URL=http://$next_sim_addr/gmedia/CheckMawathoq
GMEDIA_CLIENT_ID=$GMEDIA_CLIENT_ID
GMEDIA_CLIENT_SECRET=$GMEDIA_CLIENT_SECRET
FIRSTLIGHT_URL=http://$next_sim_addr/media/content/checkredeem
FIRSTLIGHT_IAM_TOKEN=$FIRSTLIGHT_IAM_TOKEN
FIRSTLIGHT_USER_TOKEN_DIR=$FIRSTLIGHT_USER_TOKEN_DIR
JOB_MAWTHOQ_RECHECK_ENABLED=$JOB_MAWTHOQ_RECHECK_ENABLED
JOB_FIRSTLIGHT_REDEEM_ENABLED=$JOB_FIRSTLIGHT_REDEEM_ENABLED
JOB_MGID_TOPUP_ENABLED=$JOB_MGID_TOPUP_ENABLED
SYNCER_CONFIG=$SYNCER_CONFIG
SYNCER_HTTP_ADDR=$next_http_addr
EOF
# The hand-off must hold: its configuration validates and keeps every job
# the demo ran enabled (a demo whose next step turns jobs off fails here).
(set -a; . "$demo_dir/next.env"; set +a
 bin/syncer config check >/dev/null
 jobs_json=$(bin/syncer jobs --json)
 for job in mgid-balances mgid-spend mgid-topup mawthoq-recheck firstlight-redeem; do
   grep -A1 "\"job\": \"$job\"" <<<"$jobs_json" | grep -q '"enabled": true' ||
     { echo "demo: the hand-off would run $job disabled" >&2; exit 1; }
 done)
cat <<EOF

== what next
1. Start the simulator (the same flags as above) and the daemon with every
   setting the jobs above used (.demo/next.env; ports: DEMO_SIM_ADDR and
   DEMO_HTTP_ADDR, default 127.0.0.1:8089 and 127.0.0.1:9188):
     bin/syncer sim --addr $next_sim_addr $sim_flags &
     (set -a; . .demo/next.env; set +a; exec bin/syncer run)
   It records the job schedules (freshness gains its expected intervals),
   reconciles transfers every mgid-balances period, and serves the status page.
2. Open the status page: http://$next_http_addr/  (metrics: /metrics, health: /healthz, /readyz)
   A verdict for cron or CI: (set -a; . .demo/next.env; set +a; bin/syncer check)
3. Connect a BI tool (Metabase, Grafana) as a login in the read-only role syncer_bi:
     psql '$DATABASE_URL' -c "CREATE ROLE metabase LOGIN PASSWORD 'choose-a-password'"
     psql '$DATABASE_URL' -c "GRANT syncer_bi TO metabase"
     psql '$DATABASE_URL' -c "ALTER ROLE metabase SET search_path = bi"
   then point the tool at database $db_name, schema bi, user metabase
   (README: "Which view for which question").
EOF
