#!/usr/bin/env bash
# The wallet snapshot part of `make bench` (issue 14; called by
# scripts/bench.sh with the admin database URL; needs bin/syncer): an agency's
# first snapshot and a re-read against fetching the same answers with curl
# and against a requests+psycopg2 script, and syncer's peak RSS with
# 1,000,000 clients. Prints a Markdown section on stdout, progress on stderr.
# Installs what it runs (curl, python3-requests, python3-psycopg2) with
# apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
admin=$1
base="${admin%/postgres*}"
db_name=syncer_bench_snapshot
reps=${BENCH_SNAPSHOT_REPS:-3}
# Latency the simulator adds to every request of the 100,000-client runs,
# curl's and syncer's alike: an unthrottled local simulator answers in 0.06 s,
# a fetch no real API gives, and the ratio to curl would then measure process
# start and the database alone. 250 ms is the per-agency API of issue 14.
latency=${BENCH_SNAPSHOT_LATENCY:-250ms}
tmp=$(mktemp -d)
sim_pid="" next_pid=""
trap '[ -n "$sim_pid" ] && kill $sim_pid 2>/dev/null; [ -n "$next_pid" ] && kill $next_pid 2>/dev/null; rm -rf "$tmp"; psql "$admin" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null' EXIT

# Debian's python3, which the python3-* packages install into (a pyenv or
# venv python3 earlier on PATH would not see them).
py=/usr/bin/python3
[ -x "$py" ] || py=python3
missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
"$py" -c 'import requests' 2>/dev/null || missing+=(python3-requests)
"$py" -c 'import psycopg2' 2>/dev/null || missing+=(python3-psycopg2)
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench-snapshot: installing ${missing[*]}" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# benthos core, built from the Go module proxy in a module of its own (not a
# dependency of syncer): the benthos the issue compares with. Its pipeline is
# scripts/bench_snapshot_benthos.yaml. If it cannot be built the table says so.
benthos_version=v4.60.0
benthos=""
build_benthos() {
  local dir=$tmp/benthos-build
  mkdir -p "$dir"
  cat >"$dir/main.go" <<'GO'
package main

import (
	"context"

	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"
)

func main() { service.RunCLI(context.Background()) }
GO
  (cd "$dir" && go mod init benthosbench && go get "github.com/redpanda-data/benthos/v4/public/service@$benthos_version" &&
    go mod tidy && go build -o benthos .) >"$tmp/benthos-build.log" 2>&1 && benthos=$dir/benthos
}
echo "== building benthos $benthos_version (quick after the first time: Go's module and build caches)" >&2
build_benthos || { echo "bench-snapshot: benthos could not be built:" >&2; tail -5 "$tmp/benthos-build.log" >&2; }
script_table="CREATE TABLE script_client_balance (
  agency_id bigint NOT NULL, captured_at timestamptz NOT NULL, client_id bigint NOT NULL,
  email text NOT NULL, balance numeric(18,4), credit numeric(18,4), income numeric(18,4),
  PRIMARY KEY (agency_id, captured_at, client_id))"
# run_script DB: scripts/bench_snapshot.py on a fresh database; prints the
# seconds.
run_script() {
  local t0
  t0=$(now)
  "$py" scripts/bench_snapshot.py "$sim_url" "$login" "$password" "$1" >/dev/null
  secs "$t0" "$(now)"
}
# run_benthos DB: the pipeline into psql's \copy on a fresh database; prints
# the seconds, and fails unless every client landed. Its table (script_table)
# has the shape of the one bench_snapshot.py creates.
run_benthos() {
  psql "$1" -qc "$script_table"
  local t0 t
  t0=$(now)
  MGID_BASE_URL=$sim_url MGID_LOGIN=$login MGID_PASSWORD=$password "$benthos" -c scripts/bench_snapshot_benthos.yaml |
    psql "$1" -v ON_ERROR_STOP=1 -qc '\copy script_client_balance FROM STDIN WITH (FORMAT csv)'
  t=$(secs "$t0" "$(now)")
  [ "$(psql "$1" -Atc "SELECT count(*) FROM script_client_balance")" = "$n" ] ||
    { echo "bench-snapshot: benthos did not write $n rows" >&2; return 1; }
  echo "$t"
}

freshdb() { psql "$admin" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" -c "CREATE DATABASE $db_name" >/dev/null; echo "$base/$db_name?sslmode=disable"; }
start_sim() {
  [ -n "$sim_pid" ] && kill $sim_pid 2>/dev/null && wait $sim_pid 2>/dev/null || true
  bin/syncer sim --addr 127.0.0.1:0 "$@" >"$tmp/sim.log" 2>&1 &
  sim_pid=$!
  for _ in $(seq 100); do grep -q 'http://' "$tmp/sim.log" && break; sleep 0.1; done
  sim_url=$(grep -o 'http://[0-9.:]*' "$tmp/sim.log" | head -1)
}
# A second simulator with the same data an hour ahead (--clock-offset 1h):
# the wallets as they are after their hourly change, for the re-read that
# crosses the hour.
start_next_sim() {
  bin/syncer sim --addr 127.0.0.1:0 --clock-offset 1h "$@" >"$tmp/next.log" 2>&1 &
  next_pid=$!
  for _ in $(seq 100); do grep -q 'http://' "$tmp/next.log" && break; sleep 0.1; done
  next_url=$(grep -o 'http://[0-9.:]*' "$tmp/next.log" | head -1)
}
login=demo-agency; password=demo-password
mgid_env() { echo "DATABASE_URL=$1 MGID_BASE_URL=${2:-$sim_url} MGID_LOGIN=$login MGID_PASSWORD=$password MGID_REQUEST_TIMEOUT=5m SYNCER_LOG_LEVEL=warn"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# curl: the three requests syncer makes (token, agency, clients list), the
# body thrown away. The fetch syncer's snapshot is held against.
fetch() {
  local t0 tok id
  t0=$(now)
  tok=$(curl -sf -X POST -d "login=$login&password=$password" "$sim_url/v1/auth/agencies-token")
  id=$(echo "$tok" | grep -o '"accountId":"[0-9]*"' | grep -o '[0-9]*')
  tok=$(echo "$tok" | grep -o '"token":"[^"]*"' | cut -d'"' -f4)
  curl -sf -o /dev/null -H "Authorization: Bearer $tok" "$sim_url/v1/agencies/$id"
  curl -sf -o /dev/null -H "Authorization: Bearer $tok" "$sim_url/v1/agencies/$id/clients"
  secs "$t0" "$(now)"
}
# once DB [URL]: syncer once mgid-balances under /usr/bin/time; prints "seconds KiB".
once() {
  env $(mgid_env "$1" "${2:-}") /usr/bin/time -f '%e %M' -o "$tmp/time" bin/syncer once mgid-balances >/dev/null 2>"$tmp/once.err" ||
    { cat "$tmp/once.err" >&2; return 1; }
  cat "$tmp/time"
}

n=100000
echo "== snapshot of $n clients: curl, syncer first and re-read, requests+psycopg2" >&2
start_sim --clients "$n" --latency "$latency"
fetch >/dev/null # the simulator's hourly caches are built before timing
start_next_sim --clients "$n" --latency "$latency"
here=$sim_url; sim_url=$next_url; fetch >/dev/null; sim_url=$here # its caches too
curl_t=() first_t=() reread_t=() next_t=() py_t=() bt_t=() changed=() next_changed=()
for r in $(seq "$reps"); do
  curl_t+=("$(fetch)")
  db=$(freshdb); env $(mgid_env "$db") bin/syncer migrate up >/dev/null
  read -r t _ < <(once "$db"); first_t+=("$t")
  read -r t _ < <(once "$db"); reread_t+=("$t")
  changed+=("$(psql "$db" -Atc "SELECT count(*) FROM syncer.mgid_client_wallet")")
  read -r t _ < <(once "$db" "$next_url"); next_t+=("$t")
  next_changed+=("$(( $(psql "$db" -Atc "SELECT count(*) FROM syncer.mgid_client_wallet") - ${changed[-1]} ))")
  db=$(freshdb); t=$(run_script "$db"); py_t+=("$t")
  if [ -n "$benthos" ]; then db=$(freshdb); t=$(run_benthos "$db"); bt_t+=("$t"); fi
done
c=$(echo "${curl_t[*]}" | median); f=$(echo "${first_t[*]}" | median); rr=$(echo "${reread_t[*]}" | median); rn=$(echo "${next_t[*]}" | median); p=$(echo "${py_t[*]}" | median)
if [ -n "$benthos" ]; then
  bt=$(echo "${bt_t[*]}" | median)
  bt_row="| benthos $benthos_version pipeline, COPY through psql | $bt | ${bt_t[*]} | $(ratio "$bt" "$c"); syncer's first snapshot is **$(ratio "$bt" "$f")x** faster (target 5) |"
else
  bt_row="| benthos $benthos_version pipeline | not measured: it could not be built here | | |"
fi

# Snapshots every 15 minutes of wallets that change hourly: three re-reads
# in four find the hour's list unchanged, the fourth finds it changed.
rate=$(awk -v a="$rr" -v b="$rn" 'BEGIN { printf "%.2f", (3 * a + b) / 4 }')
kill $next_pid 2>/dev/null; wait $next_pid 2>/dev/null || true; next_pid=""

# The same first snapshot without the added latency: what each tool costs
# beyond a fetch that takes almost no time.
echo "== first snapshot of $n clients without added latency" >&2
start_sim --clients "$n"
fetch >/dev/null
c0_t=() f0_t=() py0_t=() bt0_t=()
for r in $(seq "$reps"); do
  c0_t+=("$(fetch)")
  db=$(freshdb); env $(mgid_env "$db") bin/syncer migrate up >/dev/null
  read -r t _ < <(once "$db"); f0_t+=("$t")
  db=$(freshdb); t=$(run_script "$db"); py0_t+=("$t")
  if [ -n "$benthos" ]; then db=$(freshdb); t=$(run_benthos "$db"); bt0_t+=("$t"); fi
done
c0=$(echo "${c0_t[*]}" | median); f0=$(echo "${f0_t[*]}" | median); p0=$(echo "${py0_t[*]}" | median)
if [ -n "$benthos" ]; then
  bt0=$(echo "${bt0_t[*]}" | median)
  bt0_row="| benthos pipeline, COPY through psql | $bt0 | ${bt0_t[*]} | **$(ratio "$bt0" "$f0")x** |"
else
  bt0_row="| benthos pipeline | not measured | | |"
fi

echo "== peak RSS with 1,000,000 clients" >&2
start_sim --clients 1000000
fetch >/dev/null
db=$(freshdb); env $(mgid_env "$db") bin/syncer migrate up >/dev/null
read -r big_first_t big_first_kb < <(once "$db")
read -r big_reread_t big_reread_kb < <(once "$db")
big_curl=$(fetch)

cat <<MD
## Wallet snapshot against curl and a requests+psycopg2 script (issue 14)

Each repetition ($reps, medians below; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)):
curl fetching what syncer fetches (token, agency, clients list; body discarded); \`syncer once mgid-balances\`
on a fresh database (the agency's **first** snapshot: every client new), then again on it (a **re-read**);
\`python3 scripts/bench_snapshot.py\` (requests, \`.json()\`, psycopg2 \`execute_values\` into a table of the
per-snapshot shape, one transaction) on a fresh database. \`syncer sim --clients $n --latency $latency\` on
127.0.0.1 (the latency added to every request, curl's, syncer's and the script's alike: a realistic API);
wall times from \`/usr/bin/time\` (0.01 s resolution) and \`date\`, process start included.

| what | $n clients, s | runs | against curl |
|---|---:|---|---:|
| curl: the same three requests | $c | ${curl_t[*]} | 1.00 |
| **syncer, first snapshot** | $f | ${first_t[*]} | **$(ratio "$f" "$c")** (target 1.6) |
| syncer, re-read in the same hour (periods closed: ${changed[*]} of $n) | $rr | ${reread_t[*]} | $(ratio "$rr" "$c") |
| syncer, re-read after the hourly change (periods closed: ${next_changed[*]} of $n) | $rn | ${next_t[*]} | $(ratio "$rn" "$c") |
| **syncer, re-read at the simulator's rate** (15-minute snapshots of hourly changes: (3 x same hour + 1 x changed) / 4) | $rate | | **$(ratio "$rate" "$c")** (target 1.3) |
| requests + psycopg2 script | $p | ${py_t[*]} | $(ratio "$p" "$c"); syncer's first snapshot is **$(ratio "$p" "$f")x** faster (target 5) |
$bt_row

The first re-read runs seconds after the first snapshot, inside the simulator's hour, so no wallet changed;
the second reads a simulator serving the same data an hour ahead (\`--clock-offset 1h\`), after the hourly
change of nearly every wallet. At 15-minute snapshots three re-reads in four are the first kind and one is
the second: their weighted mean is the re-read at the simulator's rate.

benthos is benthos core ($benthos_version, built from the Go module proxy by this script) running
\`scripts/bench_snapshot_benthos.yaml\`: the same three requests, the list mapped to CSV in one bloblang
mapping, piped into \`psql -c '\\copy ... FROM STDIN'\` into a table of the per-snapshot shape on a fresh
database. benthos core has no Postgres output (those are in redpanda-data/connect, whose licence rules it out
here) and COPY is the fastest way in, so this is benthos at its quickest. With $latency on every request no tool
can beat the fetch (curl's column), which bounds how many times faster than benthos syncer can be: the
benthos time divided by curl's.

The same first snapshot with no latency added (\`syncer sim --clients $n\`), $reps repetitions, medians:

| what | $n clients, s | runs | syncer's first snapshot is faster by |
|---|---:|---|---:|
| curl: the same three requests | $c0 | ${c0_t[*]} | |
| **syncer, first snapshot** | $f0 | ${f0_t[*]} | 1.00 |
$bt0_row
| requests + psycopg2 script | $p0 | ${py0_t[*]} | **$(ratio "$p0" "$f0")x** |

Peak RSS of syncer with \`syncer sim --clients 1000000\` (fresh database; curl fetch of the same: $big_curl s):

| run | wall, s | peak RSS |
|---|---:|---:|
| first snapshot (1,000,000 new clients) | $big_first_t | $(awk -v k="$big_first_kb" 'BEGIN { printf "%.1f MiB", k / 1024 }') |
| re-read | $big_reread_t | $(awk -v k="$big_reread_kb" 'BEGIN { printf "%.1f MiB", k / 1024 }') |

MD
