#!/usr/bin/env bash
# Makes sure a server binary the tests run exists and prints its path:
#   ensure-debian-binary.sh BINARY PACKAGE OVERRIDE_VARIABLE "WHAT TO INSTALL BY HAND"
# Idempotent: an installed binary (named by the override variable, on PATH, or in /usr/bin) is used
# as is; otherwise Debian's package is installed without recommends, refreshing the package lists
# only when apt cannot find it (a clean image ships without lists). A package's own service is never
# used: the tests run their own process on a loopback port.
set -euo pipefail
binary="$1" package="$2" override="$3" manual="$4"
say() { echo "ensure $binary: $*" >&2; }

found() {
  local given="${!override:-}" p
  if [[ -n "$given" && -x "$given" ]]; then echo "$given"; return 0; fi
  p="$(command -v "$binary" 2>/dev/null || true)"
  if [[ -n "$p" ]]; then echo "$p"; return 0; fi
  if [[ -x "/usr/bin/$binary" ]]; then echo "/usr/bin/$binary"; return 0; fi
  return 1
}

if found; then exit 0; fi

if ! command -v apt-get >/dev/null 2>&1; then
  say "not installed and apt-get is not available; $manual and put $binary on PATH (or set $override)"
  exit 1
fi

SUDO=""
if [[ "$(id -u)" != "0" ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    say "missing, and installing it needs root (no sudo); run: apt-get install -y --no-install-recommends $package"
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show "$package" >/dev/null 2>&1 || [[ -z "$(apt-cache policy "$package" | awk '/Candidate:/ {print $2}' | grep -v '(none)')" ]]; then
  $SUDO apt-get update -qq >&2
fi
# A package's postinst may try to start its service; where a policy-rc.d forbids it (containers) it
# stays stopped, and either way the tests never talk to it.
$SUDO apt-get install -y -qq --no-install-recommends "$package" >&2 || {
  say "apt-get install $package failed (see above)"
  exit 1
}

if found; then exit 0; fi
say "still not found after installing $package"
exit 1
