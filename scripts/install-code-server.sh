#!/usr/bin/env bash
# Installs code-server (VS Code's server and web workbench, from npm) into a cache outside the
# repository, keyed by version, and prints the path of its launcher. Pinned to 4.100.3: later
# releases need Node 22+. Idempotent: a finished install leaves a marker and is reused.
# See shared docs real-editor-testing.md for why each npm_config_* below is needed.
set -euo pipefail
version="${CODE_SERVER_VERSION:-4.100.3}"
cache_root="${TOLLGATE_EDITOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tollgate-editor}"
dir="$cache_root/code-server-$version"
bin="$dir/node_modules/.bin/code-server"
if [ -f "$dir/.installed" ] && [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
command -v rg >/dev/null || { echo "ripgrep missing: run scripts/install-editor-deps.sh first" >&2; exit 2; }
rm -rf "$dir"
mkdir -p "$dir"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# @vscode/ripgrep's postinstall downloads ripgrep (no internet here); it accepts a cached tarball,
# so hand it Debian's rg.
export TMPDIR="$work"
mkdir -p "$work/vscode-ripgrep-cache-1.15.11" "$work/rgpack"
cp "$(command -v rg)" "$work/rgpack/rg"
tar czf "$work/vscode-ripgrep-cache-1.15.11/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$work/rgpack" rg
echo '{"private":true}' > "$dir/package.json"
(
  cd "$dir"
  npm_config_yes=true npm_config_nodedir=/usr npm_config_unsafe_perm=true \
    npm install --no-audit --no-fund --loglevel=error "code-server@$version" --unsafe-perm=true >&2
)
[ -x "$bin" ] || { echo "code-server install did not produce $bin" >&2; exit 1; }
touch "$dir/.installed"
echo "$bin"
