#!/usr/bin/env bash
# The tracked-check part of `make bench` (called by scripts/bench.sh with the
# admin database URL; needs bin/syncer). Runs the real binary against
# `syncer sim` and prints a Markdown section on stdout, progress on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
admin=$1
base="${admin%/postgres*}"
db_name=syncer_bench_tracked
tmp=$(mktemp -d)
sim_pid=""
trap '[ -n "$sim_pid" ] && kill $sim_pid 2>/dev/null; rm -rf "$tmp"; psql "$admin" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null' EXIT

freshdb() { psql "$admin" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" -c "CREATE DATABASE $db_name" >/dev/null; echo "$base/$db_name?sslmode=disable"; }
start_sim() {
  [ -n "$sim_pid" ] && kill $sim_pid 2>/dev/null && wait $sim_pid 2>/dev/null || true
  bin/syncer sim --addr 127.0.0.1:0 "$@" >"$tmp/sim.log" 2>&1 &
  sim_pid=$!
  for _ in $(seq 100); do grep -q 'http://' "$tmp/sim.log" && break; sleep 0.1; done
  sim_url=$(grep -o 'http://[0-9.:]*' "$tmp/sim.log" | head -1)
}
# accounts N FILE: N valid national IDs (1, eight digits, Luhn check digit).
accounts() {
  awk -v n="$1" 'BEGIN {
    print "platform,account,label"
    for (i = 0; i < n; i++) {
      body = sprintf("1%08d", i); sum = 0
      for (k = 0; k < 9; k++) {
        d = substr(body, 9 - k, 1) + 0
        if (k % 2 == 0) { d *= 2; if (d > 9) d -= 9 }
        sum += d
      }
      printf "tiktok,%s%d,bench\n", body, (10 - sum % 10) % 10
    }
  }' >"$2"
}
tenv() { # DATABASE_URL, then settings
  echo "DATABASE_URL=$1 SYNCER_HASH_KEY=bench-hash-key-0123456789 SYNCER_LOG_LEVEL=warn
    JOB_MGID_BALANCES_ENABLED=false JOB_MGID_SPEND_ENABLED=false JOB_MAWTHOQ_RECHECK_ENABLED=true
    GMEDIA_TOKEN_URL=$sim_url/gmedia/token GMEDIA_CHECK_URL=$sim_url/gmedia/CheckMawathoq
    GMEDIA_CLIENT_ID=sim-gmedia GMEDIA_CLIENT_SECRET=sim-gmedia-secret GMEDIA_REQUEST_TIMEOUT=30s
    MAWTHOQ_BATCH_SIZE=500 MAWTHOQ_LEASE=10m"
}
# run_seconds DB: how long the latest mawthoq-recheck run took, from the runs table.
run_seconds() { psql "$1" -Atc "SELECT extract(epoch FROM finished_at - started_at) FROM syncer.runs WHERE job = 'mawthoq-recheck' ORDER BY id DESC LIMIT 1"; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", a / b }'; }

echo "## Tracked checks (\`mawthoq-recheck\`) against the simulator"
echo
echo "Each row: a fresh database, \`syncer mawthoq track import\` of N accounts, then \`syncer once mawthoq-recheck\`"
echo "under \`/usr/bin/time -v\` with \`syncer sim\` on 127.0.0.1. Checks/s is checks over the run's own duration in"
echo "syncer.runs; the simulator runs on the same 2 cores as syncer and Postgres."
echo
echo "| case | settings | targets | import | checks | run | checks/s | peak RSS of syncer |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"

# one CASE N SIM_FLAGS SETTINGS: import N accounts, run one round, print a row.
one() {
  local name=$1 n=$2 simflags=$3 settings=$4
  echo "== tracked: $name" >&2
  start_sim $simflags
  local db; db=$(freshdb)
  accounts "$n" "$tmp/accounts.csv"
  env $(tenv "$db") bin/syncer migrate up >/dev/null
  local t0 t1; t0=$(date +%s.%N)
  env $(tenv "$db") bin/syncer mawthoq track import "$tmp/accounts.csv" >&2
  t1=$(date +%s.%N)
  env $(tenv "$db") $settings /usr/bin/time -v bin/syncer once mawthoq-recheck >"$tmp/once.out" 2>"$tmp/once.err"
  cat "$tmp/once.out" >&2
  local checks secs rss
  checks=$(grep -o '[0-9]* rows' "$tmp/once.out" | cut -d' ' -f1)
  secs=$(run_seconds "$db")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f MiB", $2/1024}' "$tmp/once.err")
  import=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f s", b - a }')
  echo "| $name | \`$settings\` | $n | $import | $checks | $(printf '%.2f' "$secs") s | $(div "$checks" "$secs") | $rss |"
  last_checks=$checks last_secs=$secs
}

one "no latency" 100000 "" "MAWTHOQ_CONCURRENCY=16 MAWTHOQ_RATE_LIMIT=0"
one "50 ms latency, limit 200/s" 3000 "--latency 50ms" "MAWTHOQ_CONCURRENCY=32 MAWTHOQ_RATE_LIMIT=200"
achieved=$(awk -v a="$last_checks" -v b="$last_secs" 'BEGIN { printf "%.1f", a / b }')
ratio=$(awk -v a="$last_checks" -v b="$last_secs" 'BEGIN { printf "%.3f", a / b / 200 }')
echo
echo "With 50 ms simulated latency and a limit of 200 requests/s the round achieved $achieved checks/s:"
echo "**$ratio of the limit** (target 0.9)."
echo

echo "== tracked: two replicas" >&2
start_sim
db=$(freshdb)
accounts 10000 "$tmp/accounts.csv"
env $(tenv "$db") bin/syncer migrate up >/dev/null
env $(tenv "$db") bin/syncer mawthoq track import "$tmp/accounts.csv" >&2
settings="MAWTHOQ_CONCURRENCY=8 MAWTHOQ_RATE_LIMIT=0 MAWTHOQ_BATCH_SIZE=100"
env $(tenv "$db") $settings bin/syncer once mawthoq-recheck >"$tmp/r1.out" 2>&1 &
p1=$!
env $(tenv "$db") $settings bin/syncer once mawthoq-recheck >"$tmp/r2.out" 2>&1 &
p2=$!
wait $p1 $p2
cat "$tmp/r1.out" "$tmp/r2.out" >&2
split=$(psql "$db" -Atc "SELECT string_agg(rows_written::text, ' + ' ORDER BY id) FROM syncer.runs WHERE job = 'mawthoq-recheck' AND status = 'succeeded'")
once=$(psql "$db" -Atc "SELECT count(*) FROM syncer.tracked_targets t WHERE (SELECT sum(checks) FROM syncer.tracked_status_history h WHERE h.target_id = t.id) = 1")
rows=$(psql "$db" -Atc "SELECT count(*) FROM syncer.tracked_status_history")
echo "Two replicas: two \`syncer once mawthoq-recheck\` processes started together on one database with 10,000 due"
echo "targets (\`$settings\`). The runs checked $split targets; **$once of 10000 targets were checked exactly once**"
echo "($rows history rows)."
echo
