#!/usr/bin/env bash
# The many-agencies part of `make bench` (called by scripts/bench.sh with the
# admin database URL; needs bin/syncer): 1,000 MGID agencies behind a
# simulator that adds 50 ms to every request, snapshotted by mgid-balances on
# 1, 2 and 3 replicas (`syncer run` processes sharing one database and one
# tick). Prints a Markdown section on stdout, progress on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
admin=$1
base="${admin%/postgres*}"
db_name=syncer_bench_agencies
agencies=${BENCH_AGENCIES:-1000}
clients=${BENCH_AGENCY_CLIENTS:-100}
latency=${BENCH_AGENCY_LATENCY:-50ms}
tmp=$(mktemp -d)
sim_pid=""
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null
  rm -rf "$tmp"
  psql "$admin" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null
}
trap cleanup EXIT

bin/syncer sim --addr 127.0.0.1:0 --agencies "$agencies" --clients "$clients" --latency "$latency" >"$tmp/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do grep -q 'http://' "$tmp/sim.log" && break; sleep 0.1; done
sim_url=$(grep -o 'http://[0-9.:]*' "$tmp/sim.log" | head -1)

# The agencies the simulator generated (sim.GeneratedAgency), as a config file.
{
  echo "mgid:"
  echo "  agencies:"
  for i in $(seq 1 "$agencies"); do
    l=$(printf 'agency-%04d' "$i")
    echo "    - {login: $l, password: pw-$l}"
  done
} >"$tmp/syncer.yaml"

echo "## Many agencies: \`mgid-balances\` over $agencies agencies on 1, 2 and 3 replicas"
echo
echo "| replicas | agencies/s | tick wall time | agencies done | done twice | failed | done by each replica |"
echo "|---:|---:|---:|---:|---:|---:|---|"
# alive: every replica of this row ($r of them, $pids) still runs. One that
# exited (a taken port, a bad setting) would leave the others to do its share,
# and the row would measure fewer replicas than it says.
alive() {
  for i in $(seq 1 "$r"); do
    kill -0 "${pids[$((i - 1))]}" 2>/dev/null ||
      { echo "bench-agencies: replica $i of $r exited early:" >&2; tail -5 "$tmp/run$i.log" >&2; return 1; }
  done
}

for r in ${BENCH_AGENCY_REPLICAS:-1 2 3}; do
  echo "== $agencies agencies, $r replica(s)" >&2
  psql "$admin" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" -c "CREATE DATABASE $db_name" >/dev/null
  url="$base/$db_name?sslmode=disable"
  DATABASE_URL=$url bin/syncer migrate up >/dev/null
  pids=()
  # Each replica starts with a catch-up of the job's latest tick; they share
  # it through the claims. An hourly schedule keeps the next tick away.
  for i in $(seq 1 "$r"); do
    env DATABASE_URL="$url" SYNCER_CONFIG="$tmp/syncer.yaml" MGID_BASE_URL="$sim_url" SYNCER_HTTP_ADDR=off \
      SYNCER_LOG_LEVEL=warn JOB_MGID_SPEND_ENABLED=false JOB_MGID_BALANCES_SCHEDULE='@every 1h' \
      JOB_MGID_BALANCES_TIMEOUT=10m bin/syncer run --no-migrate >"$tmp/run$i.log" 2>&1 &
    pids+=($!)
  done
  for _ in $(seq 1200); do
    alive
    n=$(psql "$url" -Atc "SELECT count(DISTINCT agency_login) FROM syncer.agency_runs" 2>/dev/null || echo 0)
    [ "$n" -ge "$agencies" ] && break
    sleep 0.5
  done
  sleep 1
  alive
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  pids=()
  read -r done twice failed secs < <(psql "$url" -AtF' ' -c "
    SELECT count(DISTINCT agency_login),
           count(*) - count(DISTINCT agency_login),
           count(*) FILTER (WHERE status <> 'succeeded'),
           extract(epoch FROM max(finished_at) - min(started_at))
    FROM syncer.agency_runs")
  IFS='|' read -r working shares < <(psql "$url" -AtF'|' -c "
    SELECT count(*), string_agg(n::text, ' + ' ORDER BY n DESC) FROM (
      SELECT count(*) AS n FROM syncer.agency_runs a JOIN syncer.runs r ON r.id = a.run_id GROUP BY r.replica) s")
  [ "$working" = "$r" ] ||
    { echo "bench-agencies: not every one of the $r replicas snapshotted an agency ($shares)" >&2; exit 1; }
  rate=$(awk -v n="$done" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
  echo "| $r | $rate | $(printf '%.1f' "$secs") s | $done | $twice | $failed | $shares |"
done
echo
echo "Command: \`scripts/bench-agencies.sh\` (part of \`make bench\`): \`syncer sim --agencies $agencies --clients $clients --latency $latency\`,"
echo "then R \`syncer run\` processes on one fresh database (MGID_AGENCY_CONCURRENCY at its default, 4), timed from the first"
echo "agency's start to the last agency's end in \`syncer.agency_runs\`; the bench fails unless every replica ran to the end and took a share."
echo "Each agency costs a login, then two requests at once (agency, clients list), each $latency, plus its transaction. Load at the time: \`$(uptime | sed 's/.*load/load/')\`."
echo
