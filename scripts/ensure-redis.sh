#!/usr/bin/env bash
# Makes sure a redis-server binary exists for the team-mode tests and prints its path.
# Idempotent: an installed binary (on PATH, in /usr/bin, or named by REDIS_SERVER) is used as is;
# otherwise Debian's package is installed, refreshing the package lists only when apt cannot find it.
set -euo pipefail

found() {
  if [[ -n "${REDIS_SERVER:-}" && -x "${REDIS_SERVER}" ]]; then echo "${REDIS_SERVER}"; return 0; fi
  local p
  p="$(command -v redis-server 2>/dev/null || true)"
  if [[ -n "$p" ]]; then echo "$p"; return 0; fi
  if [[ -x /usr/bin/redis-server ]]; then echo /usr/bin/redis-server; return 0; fi
  return 1
}

if found; then exit 0; fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-redis: redis-server is not installed and apt-get is not available; install Redis >= 6.2 and put redis-server on PATH (or set REDIS_SERVER)" >&2
  exit 1
fi

SUDO=""
if [[ "$(id -u)" != "0" ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "ensure-redis: redis-server is missing and installing it needs root (no sudo); run: apt-get install -y redis-server" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
# Only refresh the lists when the package is unknown (a clean image ships without lists).
if ! apt-cache show redis-server >/dev/null 2>&1 || [[ -z "$(apt-cache policy redis-server | awk '/Candidate:/ {print $2}' | grep -v '(none)')" ]]; then
  $SUDO apt-get update -qq >&2
fi
# redis-server's postinst tries to start a service; policy-rc.d keeps containers quiet either way.
$SUDO apt-get install -y -qq --no-install-recommends redis-server >&2 || {
  echo "ensure-redis: apt-get install redis-server failed (see above)" >&2
  exit 1
}

if found; then exit 0; fi
echo "ensure-redis: redis-server still not found after installing the package" >&2
exit 1
