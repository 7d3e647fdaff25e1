#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser tests (tests/web/ drive it with
# Playwright at /usr/bin/chromium; Playwright's own browser download is never used).
# Installs the `chromium` package when it is missing (needs root and apt-get). Idempotent.
#
# Prints one line on stdout, the path of chromium; diagnostics go to stderr.
set -euo pipefail

log() { printf 'ensure-chromium: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

CHROMIUM=/usr/bin/chromium

if [[ ! -x "$CHROMIUM" ]]; then
    command -v apt-get >/dev/null || die "$CHROMIUM is missing and apt-get is not available"
    [[ $(id -u) -eq 0 ]] || die "$CHROMIUM is missing; installing it needs root (apt-get install chromium)"
    log "installing Debian's chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq chromium >&2
fi
[[ -x "$CHROMIUM" ]] || die "$CHROMIUM is still missing after the install"
# Debian's wrapper script runs `[ ... ]` on the memory size and may print noise on stderr.
"$CHROMIUM" --version 2>/dev/null | head -n 1 >&2
echo "$CHROMIUM"
