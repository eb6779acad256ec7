#!/usr/bin/env bash
# Puts promtool at $1 (make lint checks and unit-tests the shipped alert
# rules with it). A promtool on PATH is used as is; otherwise promtool is
# taken out of Debian's prometheus package without installing the package
# (apt-get download + dpkg-deb -x: no service started, nothing else
# installed, about 19 MB fetched once).
set -euo pipefail
dest=$(realpath -m "$1")
mkdir -p "$(dirname "$dest")"
if p=$(command -v promtool 2>/dev/null); then
  ln -sf "$p" "$dest"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "scripts/promtool.sh: no promtool on PATH and no apt-get: install Prometheus' promtool (make lint checks deploy/prometheus with it)" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
if ! apt-get download prometheus >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  apt-get download prometheus >/dev/null
fi
dpkg-deb -x prometheus_*.deb x
mv x/usr/bin/promtool "$dest"
echo "scripts/promtool.sh: $("$dest" --version 2>&1 | head -1)" >&2
