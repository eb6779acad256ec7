#!/usr/bin/env bash
# Prints the go test build tags for this machine: "testcontainers" only when
# no Postgres is configured or answers on 127.0.0.1:5432 and a Docker engine
# does. Compiling testcontainers' Docker client is most of a cold make test,
# and internal/testdb uses it only in that case.
set -uo pipefail

[ -n "${TEST_DATABASE_URL:-}" ] && exit 0
pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && exit 0
timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/5432' 2>/dev/null && exit 0

if [ -n "${DOCKER_HOST:-}" ] || [ -S /var/run/docker.sock ] || [ -S "${XDG_RUNTIME_DIR:-/nonexistent}/docker.sock" ] ||
  { command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1; }; then
  echo testcontainers
fi
