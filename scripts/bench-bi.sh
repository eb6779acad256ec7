#!/usr/bin/env bash
# make bench-bi: writes 30 days of client wallet history (10,000 clients, 96
# snapshots a day) and a year of daily spend through syncer's store write
# path on a fresh database, measures storage layouts against each other and
# times the dashboard questions of issue 10. The figures replace the marked
# "bench-bi" section of BENCHMARKS.md; the rest of the file is left alone
# (scripts/bench.sh keeps this section when it rewrites the file).
# BENCH_BI_CLIENTS and BENCH_BI_DAYS change the scale. BENCH_BI_SCALE=year
# (make bench-bi-year) is 1,000 clients x 365 days and writes its own marked
# section, "bench-bi-year", so both scales stay in the file. Only the marked
# section is ever rewritten: notes written by hand go outside the markers.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
out=BENCHMARKS.md
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
admin=$(scripts/pg.sh)
mark=bench-bi
title="BI storage and dashboard questions (issues 10 and 15)"
if [ "${BENCH_BI_SCALE:-}" = year ]; then
  export BENCH_BI_CLIENTS=${BENCH_BI_CLIENTS:-1000} BENCH_BI_DAYS=${BENCH_BI_DAYS:-365}
  mark=bench-bi-year
  title="BI questions on a year of history (issue 15): ${BENCH_BI_CLIENTS} clients x ${BENCH_BI_DAYS} days"
elif [ -n "${BENCH_BI_SCALE:-}" ]; then
  echo "BENCH_BI_SCALE=${BENCH_BI_SCALE}: want year or nothing" >&2
  exit 2
fi

cmd="go test -run XXX -bench BIDashboards -benchtime 1x -timeout 60m ./internal/store/"
echo "== $cmd" >&2
start=$(date +%s)
BENCH_BI_OUT="$tmp/bi.md" $cmd >&2
took=$(( $(date +%s) - start ))

{
echo "<!-- $mark:begin -->"
echo "## $title"
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
echo "<!-- $mark:end -->"
} >"$tmp/section.md"

# Replace the marked section where it is; else put it before the hand-kept
# record at the end, or at the end. Nothing outside the markers changes.
touch "$out"
if grep -q "^<!-- $mark:begin -->" "$out"; then
  awk -v sec="$tmp/section.md" -v b="<!-- $mark:begin -->" -v e="<!-- $mark:end -->" '
    $0 == b { while ((getline l < sec) > 0) print l; skip = 1; next }
    $0 == e { skip = 0; next }
    !skip { print }' "$out" >"$tmp/new.md"
elif grep -q '^## Changes measured side by side' "$out"; then
  awk -v sec="$tmp/section.md" '
    /^## Changes measured side by side/ && !done { while ((getline l < sec) > 0) print l; print ""; done = 1 }
    { print }' "$out" >"$tmp/new.md"
else
  { cat "$out"; echo; cat "$tmp/section.md"; } >"$tmp/new.md"
fi
cp "$tmp/new.md" "$out"
echo "wrote $out" >&2
