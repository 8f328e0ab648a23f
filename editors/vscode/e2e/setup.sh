#!/usr/bin/env bash
# Installs what the VS Code end-to-end test needs: Chromium and ripgrep from Debian, then
# code-server and playwright-core from npm (see shared/EDITOR-TESTING.md for the why of each
# work-around). Safe to run again: each step is skipped when its result is there.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v chromium >/dev/null || ! command -v rg >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium ripgrep libkrb5-dev
    else
        echo "editors: chromium/ripgrep missing and apt-get unavailable (not root?)." \
             "The VS Code test will skip." >&2
        exit 0
    fi
fi
if ! command -v npm >/dev/null; then
    echo "editors: npm missing (Node.js 20 is needed). The VS Code test will skip." >&2
    exit 0
fi
if cmp -s package-lock.json node_modules/.lspilot-installed-lock.json; then
    exit 0
fi
# @vscode/ripgrep downloads rg from GitHub at install time; seed its cache with Debian's rg.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/vscode-ripgrep-cache-1.15.11"
cp "$(command -v rg)" "$tmp/rg"
tar -C "$tmp" -czf "$tmp/vscode-ripgrep-cache-1.15.11/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" rg
# code-server's postinstall refuses root without unsafe-perm; node-pty's asks to run npx.
TMPDIR="$tmp" npm_config_unsafe_perm=true npm_config_yes=true \
    npm ci --no-audit --no-fund --foreground-scripts --loglevel=error
cp package-lock.json node_modules/.lspilot-installed-lock.json
