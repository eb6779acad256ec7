#!/usr/bin/env bash
# make bench: measures syncer's write paths and jobs on this machine and
# writes the figures, with the commands that produced them, to BENCHMARKS.md.
# Every ratio is taken between figures of this one run.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
admin=$(scripts/pg.sh)
base="${admin%/postgres*}"
out=BENCHMARKS.md
tmp=$(mktemp -d)
sim_pid=""
trap '[ -n "$sim_pid" ] && kill $sim_pid 2>/dev/null; rm -rf "$tmp"' EXIT

go build -o bin/syncer ./cmd/syncer

freshdb() { psql "$admin" -qc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null; echo "$base/$1?sslmode=disable"; }
start_sim() { # args: sim flags
  [ -n "$sim_pid" ] && kill $sim_pid 2>/dev/null && wait $sim_pid 2>/dev/null || true
  bin/syncer sim --addr 127.0.0.1:0 "$@" >"$tmp/sim.log" 2>&1 &
  sim_pid=$!
  for _ in $(seq 100); do grep -q 'http://' "$tmp/sim.log" && break; sleep 0.1; done
  sim_url=$(grep -o 'http://[0-9.:]*' "$tmp/sim.log" | head -1)
}
mgid_env() { echo "DATABASE_URL=$1 MGID_BASE_URL=$sim_url MGID_LOGIN=demo-agency MGID_PASSWORD=demo-password MGID_REQUEST_TIMEOUT=5m SYNCER_LOG_LEVEL=warn"; }

# The hand-kept record of one-off before/after measurements survives a rerun,
# and so does the section `make bench-bi` writes (between its markers).
# (bench-bi-year: the year-scale section, issue 15.)
bi=$(sed -n '/^<!-- bench-bi\(-year\)\{0,1\}:begin -->/,/^<!-- bench-bi\(-year\)\{0,1\}:end -->/p' "$out" 2>/dev/null || true)
history=$(sed '/^<!-- bench-bi\(-year\)\{0,1\}:begin -->/,/^<!-- bench-bi\(-year\)\{0,1\}:end -->/d' "$out" 2>/dev/null | sed -n '/^## Changes measured side by side/,$p' || true)

{
echo "# Benchmarks"
echo
echo "Written by \`make bench\` (scripts/bench.sh) on $(date -u +%F): $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs),"
echo "$(psql "$admin" -Atc 'SHOW server_version') PostgreSQL on 127.0.0.1, default settings. Figures vary by ±20% between runs"
echo "on this shared machine; ratios are taken within one run."
echo
} >"$out"

echo "== write paths (go test -bench)" >&2
bench_cmd="go test -run XXX -bench Write -benchtime 3x -count 1 ./internal/store/"
$bench_cmd | tee "$tmp/write.txt" >&2
# rows/s over all iterations from ns/op; each op writes 200,000 rows (10,000 for the insert loop).
rate() { awk -v name="$1" -v rows="$2" '$1 ~ name"-[0-9]+$" { printf "%.0f", rows / $3 * 1e9 }' "$tmp/write.txt"; }
raw=$(rate 'BenchmarkWriteRawCopy/same-shape' 200000)
heap=$(rate 'BenchmarkWriteRawCopy/heap' 200000)
stock=$(rate 'BenchmarkWriteRawCopy/heap-stock-numeric' 200000)
rawspend=$(rate 'BenchmarkWriteRawCopySpend' 200000)
append=$(rate 'BenchmarkWriteSnapshotAppend/quarter-changed' 200000)
append_same=$(rate 'BenchmarkWriteSnapshotAppend/unchanged' 200000)
append_all=$(rate 'BenchmarkWriteSnapshotAppend/all-changed' 200000)
first=$(rate 'BenchmarkWriteSnapshotFirst' 200000)
new=$(rate 'BenchmarkWriteSpendUpsert/new' 200000)
same=$(rate 'BenchmarkWriteSpendUpsert/unchanged' 200000)
restated=$(rate 'BenchmarkWriteSpendUpsert/restated' 200000)
loop=$(rate 'BenchmarkWriteInsertLoop' 10000)
written=$(awk '/SpendUpsert\/unchanged/ { for (i=1;i<=NF;i++) if ($(i+1)=="rows-written") print $i }' "$tmp/write.txt")
r() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
{
echo "## Write paths"
echo
echo "Command: \`$bench_cmd\` (200,000 rows an operation, 3 operations; rows/s from ns/op)."
echo
echo "| path | rows/s | ratio |"
echo "|---|---:|---|"
echo "| raw COPY, empty table of the per-snapshot client table's shape (00002: columns + primary key) | $raw | baseline |"
echo "| raw COPY, empty index-free heap | $heap | $(r "$heap" "$raw") of baseline |"
echo "| raw COPY, index-free heap, pgx stock numeric encoding | $stock | scaled-integer encoder is $(r "$heap" "$stock")x faster |"
echo "| **snapshot append**, a quarter of wallets changed, the simulator's rate (mgid-balances: agency row, staging COPY, diff against open periods) | $append | **$(r "$append" "$raw")** of baseline (target 0.7); $(r "$append" "$heap") of the heap |"
echo "| snapshot append, no wallet changed | $append_same | $(r "$append_same" "$raw") of baseline |"
echo "| snapshot append, every wallet changed (a period closed and opened per client) | $append_all | $(r "$append_all" "$raw") of baseline |"
echo "| **snapshot, an agency's first** (every client new: COPY into the clients table; no email history until an email changes) | $first | **$(r "$first" "$raw")** of baseline |"
echo "| raw COPY, empty table of the spend table's shape | $rawspend | spend baseline |"
echo "| **spend, new days** (direct COPY path) | $new | **$(r "$new" "$rawspend")** of spend baseline (target 0.35) |"
echo "| spend, stored days unchanged (read back and compared; nothing staged; rows written: $written) | $same | $(r "$same" "$rawspend") of spend baseline |"
echo "| spend, stored days all restated (read back, staging + ON CONFLICT, a revision row each: two rows written per row) | $restated | $(r "$restated" "$rawspend") of spend baseline |"
echo "| row-at-a-time INSERT loop | $loop | snapshot append is $(r "$append" "$loop")x, new spend days $(r "$new" "$loop")x, restated $(r "$restated" "$loop")x |"
echo
echo "Spend rows on days already stored are read back in key order and compared in Go; only new or changed"
echo "rows go through a staging table and INSERT ... ON CONFLICT, which also writes the replaced value as a revision."
echo
} >>"$out"

echo "== once mgid-balances" >&2
{
echo "## \`syncer once mgid-balances\` against the simulator"
echo
echo "| clients | wall time | peak RSS of syncer | rows |"
echo "|---:|---:|---:|---:|"
} >>"$out"
for n in 100000 1000000; do
  start_sim --clients "$n"
  db=$(freshdb syncer_bench_bal)
  env $(mgid_env "$db") bin/syncer migrate up >/dev/null
  # A warm-up run so the simulator's hourly caches are built before timing.
  env $(mgid_env "$db") bin/syncer once mgid-balances >/dev/null
  env $(mgid_env "$db") /usr/bin/time -v bin/syncer once mgid-balances >"$tmp/once.out" 2>"$tmp/once.err"
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$tmp/once.err")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f MiB", $2/1024}' "$tmp/once.err")
  rows=$(grep -o '[0-9]* rows' "$tmp/once.out" | head -1)
  echo "| $n | $wall | $rss | $rows |" >>"$out"
done
{
echo
echo "Command: \`/usr/bin/time -v syncer once mgid-balances\` with \`syncer sim --clients N\` on 127.0.0.1 (second run; the first warms the simulator)."
echo
} >>"$out"

echo "== backfill mgid-spend" >&2
{
echo "## \`syncer backfill mgid-spend\`: 90 days, 10,000 clients"
echo
echo "| concurrency | days/s | rows/s | wall |"
echo "|---:|---:|---:|---:|"
} >>"$out"
start_sim --clients 10000
for c in 1 2 4 8; do
  db=$(freshdb syncer_bench_bf)
  env $(mgid_env "$db") bin/syncer migrate up >/dev/null
  env $(mgid_env "$db") bin/syncer backfill mgid-spend --from 2026-01-01 --to 2026-03-31 --concurrency "$c" >"$tmp/bf.out"
  line=$(tail -1 "$tmp/bf.out")
  days=$(echo "$line" | grep -o '[0-9.]* days/s' | cut -d' ' -f1)
  rows=$(echo "$line" | grep -o '[0-9.]* rows/s' | cut -d' ' -f1)
  wall=$(echo "$line" | grep -o 'rows in [^ ]*' | cut -d' ' -f3)
  echo "| $c | $days | $rows | $wall |" >>"$out"
done
{
echo
echo "Command: \`syncer backfill mgid-spend --from 2026-01-01 --to 2026-03-31 --concurrency C\` on a fresh database, \`syncer sim --clients 10000\`."
echo
} >>"$out"

if [ -x scripts/bench-tracked.sh ]; then
  echo "== tracked checks" >&2
  scripts/bench-tracked.sh "$admin" >>"$out"
fi

# Issue 14 part A: agencies per second on 1, 2 and 3 replicas.
echo "== many agencies" >&2
scripts/bench-agencies.sh "$admin" >>"$out"

echo "== wallet snapshot against curl and a script" >&2
scripts/bench-snapshot.sh "$admin" >>"$out"

for d in syncer_bench_bal syncer_bench_bf; do psql "$admin" -qc "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null; done
[ -n "$bi" ] && printf '\n%s\n' "$bi" >>"$out"
[ -n "$history" ] && printf '\n%s\n' "$history" >>"$out"
echo "wrote $out" >&2
