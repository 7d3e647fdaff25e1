#!/usr/bin/env bash
# Make sure axe-core (the accessibility checker the browser tests load into the page) is in
# tests/web/node_modules, installed from the npm registry at the version of
# tests/web/package-lock.json. It is for the tests only: the page never loads it.
#
# Prints one line on stdout, the path of axe.min.js; diagnostics go to stderr.
set -euo pipefail

log() { printf 'ensure-axe: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

cd "$(dirname "${BASH_SOURCE[0]}")/../tests/web"
AXE="$PWD/node_modules/axe-core/axe.min.js"

if [[ ! -f "$AXE" ]]; then
    if ! command -v npm >/dev/null; then
        command -v apt-get >/dev/null || die "npm is missing and apt-get is not available"
        [[ $(id -u) -eq 0 ]] || die "npm is missing; installing it needs root (apt-get install npm)"
        log "installing Debian's npm"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >&2
    fi
    log "installing axe-core from the npm registry (tests/web/package-lock.json)"
    npm ci --no-audit --no-fund --silent >&2
fi
[[ -f "$AXE" ]] || die "$AXE is still missing after npm ci"
echo "$AXE"
