#!/usr/bin/env bash
# Installs the Debian packages the real-editor tests need: chromium (driven by playwright-core)
# and what code-server's native modules build against. Idempotent: runs apt-get only when a package
# is missing, and `apt-get update` only then, so a warm machine pays nothing.
set -euo pipefail
packages=(libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev ripgrep chromium g++ make python3)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then missing+=("$p"); fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "editor deps: all present"
  exit 0
fi
echo "editor deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
