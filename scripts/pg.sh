#!/usr/bin/env bash
# Finds or starts a PostgreSQL server and prints an admin connection URL.
# Order: DATABASE_URL's server; a server on 127.0.0.1:5432; `docker compose`
# when a Docker engine runs; else this machine's Debian cluster (installed
# with apt-get when missing). Progress goes to stderr; the URL to stdout.
set -euo pipefail
log() { echo "pg: $*" >&2; }

local_url="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

if ready; then
  log "using the server on 127.0.0.1:5432"
  echo "$local_url"; exit 0
fi

if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  log "starting postgres with docker compose"
  docker compose up -d postgres >&2
  for _ in $(seq 60); do ready && break; sleep 1; done
  echo "postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable"; exit 0
fi

if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  log "installing Debian's postgresql"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2
  ver=$(ls /etc/postgresql | sort -V | tail -1)
  # A fresh cluster asks for passwords over TCP; trust loopback for this machine's tests.
  sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' /etc/postgresql/"$ver"/main/pg_hba.conf
fi
ver=$(ls /etc/postgresql | sort -V | tail -1)
log "starting the Debian cluster $ver/main"
pg_ctlcluster --skip-systemctl-redirect "$ver" main start >&2 || true
for _ in $(seq 30); do ready && break; sleep 1; done
ready || { log "PostgreSQL did not start"; exit 1; }
echo "$local_url"
