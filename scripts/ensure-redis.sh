#!/usr/bin/env bash
# Make sure a Redis server answers and print, as the only line on stdout, the
# URL to use:   redis://127.0.0.1:6379/0
# Diagnostics go to stderr.
#
# Order:
#   a) $OPSCONDUCTOR_TEST_REDIS_URL, if set, is printed as is.
#   b) `redis-cli ping` on $ENSURE_REDIS_HOST:$ENSURE_REDIS_PORT (127.0.0.1:6379).
#   c) otherwise redis-server is started there (nothing kept on disk), after
#      installing Debian's `redis-server` package if it is missing.
set -euo pipefail

log() { printf 'ensure-redis: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [[ -n "${OPSCONDUCTOR_TEST_REDIS_URL:-}" ]]; then
    log "using OPSCONDUCTOR_TEST_REDIS_URL from the environment"
    printf '%s\n' "$OPSCONDUCTOR_TEST_REDIS_URL"
    exit 0
fi

HOST=${ENSURE_REDIS_HOST:-127.0.0.1}
PORT=${ENSURE_REDIS_PORT:-6379}
DB=${ENSURE_REDIS_DB:-0}
DIR=${ENSURE_REDIS_DIR:-/var/lib/redis}
LOGDIR=${ENSURE_REDIS_LOGDIR:-/var/log/redis}

url() { printf 'redis://%s:%s/%s\n' "$HOST" "$PORT" "$DB"; }

ping_ok() { [[ "$(timeout 5 redis-cli -h "$HOST" -p "$PORT" ping 2>/dev/null)" == PONG ]]; }

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    command -v apt-get >/dev/null || die "redis-server is missing and apt-get is not available"
    log "installing Debian package redis-server"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends redis-server >&2
fi

if ping_ok; then
    log "Redis on $HOST:$PORT is up"
    url
    exit 0
fi

logfile=$LOGDIR/ci.log
[[ "$PORT" == 6379 ]] || logfile=$LOGDIR/ci-$PORT.log
log "Redis on $HOST:$PORT does not answer; starting redis-server (log: $logfile)"
mkdir -p "$DIR" "$LOGDIR"
redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$PORT" --save "" \
    --appendonly no --dir "$DIR" --logfile "$logfile" >&2 </dev/null

for ((i = 0; i < 40; i++)); do
    if ping_ok; then
        log "Redis on $HOST:$PORT is up"
        url
        exit 0
    fi
    sleep 0.25
done
tail -n 20 "$logfile" >&2 || true
die "redis-server on $HOST:$PORT did not answer within 10 s"
