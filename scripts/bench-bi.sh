#!/usr/bin/env bash
# make bench-bi: writes 30 days of client wallet history (10,000 clients, 96
# snapshots a day) and a year of daily spend through syncer's store write
# path on a fresh database, measures storage layouts against each other and
# times the dashboard questions of issue 10. The figures replace the marked
# "bench-bi" section of BENCHMARKS.md; the rest of the file is left alone
# (scripts/bench.sh keeps this section when it rewrites the file).
# BENCH_BI_CLIENTS and BENCH_BI_DAYS change the scale.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
out=BENCHMARKS.md
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
admin=$(scripts/pg.sh)

cmd="go test -run XXX -bench BIDashboards -benchtime 1x -timeout 60m ./internal/store/"
echo "== $cmd" >&2
start=$(date +%s)
BENCH_BI_OUT="$tmp/bi.md" $cmd >&2
took=$(( $(date +%s) - start ))

{
echo "<!-- bench-bi:begin -->"
echo "## BI storage and dashboard questions (issue 10)"
echo
echo "Written by \`make bench-bi\` (scripts/bench-bi.sh) on $(date -u +%F): $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs),"
echo "$(psql "$admin" -Atc 'SHOW server_version') PostgreSQL, default settings; load average at the end $(cut -d' ' -f1-3 /proc/loadavg)."
if [ -n "${BENCH_BI_DSN:-}" ]; then
  where="on a database of its own given by BENCH_BI_DSN, kept for EXPLAIN afterwards"
else
  where="on a fresh database the run creates and drops"
fi
echo "Command: \`$cmd\` (${took}s in all, $where)."
echo
cat "$tmp/bi.md"
echo "<!-- bench-bi:end -->"
} >"$tmp/section.md"

# Replace the marked section where it is; else put it before the hand-kept
# record at the end, or at the end.
touch "$out"
if grep -q '^<!-- bench-bi:begin -->' "$out"; then
  awk -v sec="$tmp/section.md" '
    /^<!-- bench-bi:begin -->/ { while ((getline l < sec) > 0) print l; skip = 1; next }
    /^<!-- bench-bi:end -->/ { skip = 0; next }
    !skip { print }' "$out" >"$tmp/new.md"
elif grep -q '^## Changes measured side by side' "$out"; then
  awk -v sec="$tmp/section.md" '
    /^## Changes measured side by side/ { while ((getline l < sec) > 0) print l; print "" }
    { print }' "$out" >"$tmp/new.md"
else
  { cat "$out"; echo; cat "$tmp/section.md"; } >"$tmp/new.md"
fi
cp "$tmp/new.md" "$out"
echo "wrote $out" >&2
