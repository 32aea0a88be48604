#!/usr/bin/env bash
# Makes sure a prometheus binary exists for the metrics tests and prints its path.
# Idempotent: an installed binary (named by PROMETHEUS, on PATH, or in /usr/bin) is used as is;
# otherwise Debian's `prometheus` package is installed, refreshing the package lists only when apt
# cannot find it. The package's own service is never started here: the tests run their own
# prometheus process on a loopback port with a temporary config and storage dir.
set -euo pipefail

found() {
  if [[ -n "${PROMETHEUS:-}" && -x "${PROMETHEUS}" ]]; then echo "${PROMETHEUS}"; return 0; fi
  local p
  p="$(command -v prometheus 2>/dev/null || true)"
  if [[ -n "$p" ]]; then echo "$p"; return 0; fi
  if [[ -x /usr/bin/prometheus ]]; then echo /usr/bin/prometheus; return 0; fi
  return 1
}

if found; then exit 0; fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-prometheus: prometheus is not installed and apt-get is not available; install Prometheus >= 2.40 and put prometheus on PATH (or set PROMETHEUS)" >&2
  exit 1
fi

SUDO=""
if [[ "$(id -u)" != "0" ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "ensure-prometheus: prometheus is missing and installing it needs root (no sudo); run: apt-get install -y --no-install-recommends prometheus" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
# Only refresh the lists when the package is unknown (a clean image ships without lists).
if ! apt-cache show prometheus >/dev/null 2>&1 || [[ -z "$(apt-cache policy prometheus | awk '/Candidate:/ {print $2}' | grep -v '(none)')" ]]; then
  $SUDO apt-get update -qq >&2
fi
# --no-install-recommends leaves out prometheus-node-exporter, which the tests do not need. The
# package's postinst may try to start its service; where a policy-rc.d forbids it (containers), it
# stays stopped, and either way the tests never talk to it.
$SUDO apt-get install -y -qq --no-install-recommends prometheus >&2 || {
  echo "ensure-prometheus: apt-get install prometheus failed (see above)" >&2
  exit 1
}

if found; then exit 0; fi
echo "ensure-prometheus: prometheus still not found after installing the package" >&2
exit 1
