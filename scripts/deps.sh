#!/usr/bin/env bash
# What `make test` needs beyond Go and a Postgres: Debian's chromium for the
# status page test, and Debian's PostgreSQL server binaries (initdb, pg_ctl,
# pg_basebackup under /usr/lib/postgresql/*/bin) for the failover tests,
# which start a primary and a standby of their own. Installs only what is
# missing; needs root (or sudo) and apt the first time, and does nothing
# once both are there.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/pg_basebackup >/dev/null 2>&1 || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "scripts/deps.sh: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "scripts/deps.sh: no apt-get here; install ${missing[*]} yourself (the status page test needs a real headless Chromium; the failover tests, PostgreSQL's server binaries)" >&2
  exit 1
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
