#!/usr/bin/env bash
# Make sure a PostgreSQL server answers and print, as the only line on stdout,
# the async SQLAlchemy URL to use:   postgresql+asyncpg://USER@HOST:PORT/DB
# Diagnostics go to stderr.
#
# Order:
#   a) $OPSCONDUCTOR_TEST_DATABASE_URL, if set, is printed as is.
#   b) a server on $ENSURE_PG_HOST:$ENSURE_PG_PORT (127.0.0.1:5432) that lets
#      $ENSURE_PG_USER (postgres) in; database $ENSURE_PG_DB (test) is created
#      if missing.
#   c) a stopped Debian cluster on that port is started with pg_ctlcluster.
#   d) otherwise a private throwaway cluster (trust auth, 127.0.0.1 only, port
#      $ENSURE_PG_PRIVATE_PORT = 55432) under <repo>/.tmp/pg, run by the
#      `postgres` OS user when we are root; Debian's `postgresql` package is
#      installed first when no initdb is found. A second call reuses it.
#      Stop it with:  runuser -u postgres -- pg_ctl -D <repo>/.tmp/pg/data stop
#
# Overrides for testing the fallbacks: ENSURE_PG_HOST, ENSURE_PG_PORT,
# ENSURE_PG_USER, ENSURE_PG_DB, ENSURE_PG_PRIVATE_PORT, ENSURE_PG_PRIVATE_DIR.
set -euo pipefail

log() { printf 'ensure-postgres: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [[ -n "${OPSCONDUCTOR_TEST_DATABASE_URL:-}" ]]; then
    log "using OPSCONDUCTOR_TEST_DATABASE_URL from the environment"
    printf '%s\n' "$OPSCONDUCTOR_TEST_DATABASE_URL"
    exit 0
fi

HOST=${ENSURE_PG_HOST:-127.0.0.1}
PORT=${ENSURE_PG_PORT:-5432}
PGUSER_NAME=${ENSURE_PG_USER:-postgres}
DB=${ENSURE_PG_DB:-test}
PRIVATE_PORT=${ENSURE_PG_PRIVATE_PORT:-55432}
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PRIVATE_DIR=${ENSURE_PG_PRIVATE_DIR:-$REPO_ROOT/.tmp/pg}

# Connection settings come only from our arguments, never from PG* variables.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGSERVICE PGPASSWORD PGOPTIONS || true
export PGCONNECT_TIMEOUT=5

url_for() { printf 'postgresql+asyncpg://%s@%s:%s/%s\n' "$PGUSER_NAME" "$1" "$2" "$DB"; }

apt_install() {
    command -v apt-get >/dev/null || die "apt-get not found; cannot install $*"
    log "installing Debian package(s): $*"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "$@" >&2
}

# psql and pg_isready live in Debian's postgresql-client; the server package
# brings both, and initdb/pg_ctl too.
ensure_tools() {
    if ! command -v psql >/dev/null || ! command -v pg_isready >/dev/null; then
        apt_install postgresql
    fi
}

# Newest installed server binaries directory, e.g. /usr/lib/postgresql/15/bin.
pg_bindir() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n "$d" && -x "$d/initdb" ]]; then
        printf '%s\n' "$d"
    elif command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(command -v initdb)"
    fi
}

answers() { pg_isready -q -h "$1" -p "$2" -t 3 >/dev/null 2>&1; }

psql_at() { # host port db sql...
    local h=$1 p=$2 d=$3
    shift 3
    psql -X -w -q -At -v ON_ERROR_STOP=1 -h "$h" -p "$p" -U "$PGUSER_NAME" -d "$d" "$@" </dev/null
}

# Succeeds when $PGUSER_NAME can log in and database $DB exists (created if needed).
usable() {
    local h=$1 p=$2 exists
    if ! exists=$(psql_at "$h" "$p" postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DB'" 2>&1); then
        log "server on $h:$p answers, but user $PGUSER_NAME cannot connect: $exists"
        return 1
    fi
    if [[ "$exists" != 1 ]]; then
        log "creating database $DB on $h:$p"
        # Tolerate a concurrent creator.
        psql_at "$h" "$p" postgres -c "CREATE DATABASE \"$DB\"" >&2 2>&1 ||
            [[ "$(psql_at "$h" "$p" postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" == 1 ]] ||
            return 1
    fi
    psql_at "$h" "$p" "$DB" -c 'SELECT 1' >/dev/null || return 1
}

wait_ready() { # host port seconds
    local i
    for ((i = 0; i < $3 * 2; i++)); do
        answers "$1" "$2" && return 0
        sleep 0.5
    done
    return 1
}

try_configured() {
    if answers "$HOST" "$PORT" && usable "$HOST" "$PORT"; then
        log "PostgreSQL on $HOST:$PORT is up"
        url_for "$HOST" "$PORT"
        exit 0
    fi
}

try_debian_cluster() {
    command -v pg_lsclusters >/dev/null || return 0
    local ver name port status rest
    while read -r ver name port status rest; do
        [[ "$port" == "$PORT" && "$status" != online* ]] || continue
        log "starting stopped Debian cluster $ver/$name on port $port"
        pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start >&2 ||
            log "pg_ctlcluster $ver $name start failed"
        if wait_ready "$HOST" "$PORT" 30; then
            try_configured
        fi
    done < <(pg_lsclusters -h 2>/dev/null || true)
}

as_pg() { # run a command as the postgres OS user when we are root
    if [[ $EUID -eq 0 ]]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

private_cluster() {
    local bindir data logf
    bindir=$(pg_bindir)
    if [[ -z "$bindir" ]]; then
        apt_install postgresql
        bindir=$(pg_bindir)
        [[ -n "$bindir" ]] || die "no initdb found even after installing postgresql"
        # Installing may have created (and started) a Debian cluster on $PORT.
        try_configured
        try_debian_cluster
    fi

    if [[ $EUID -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
        log "creating OS user postgres"
        useradd --system --user-group --no-create-home --shell /usr/sbin/nologin postgres
    fi

    mkdir -p "$PRIVATE_DIR"
    if [[ $EUID -eq 0 ]]; then
        chown postgres: "$PRIVATE_DIR"
        # initdb and the server need to reach the directory as postgres; if a
        # parent folder is closed to it (a repo under /root, say), use /tmp.
        if ! as_pg test -w "$PRIVATE_DIR"; then
            PRIVATE_DIR=${TMPDIR:-/tmp}/opsconductor-pg-$(printf '%s' "$REPO_ROOT" | md5sum | cut -c1-12)
            log "postgres cannot write under the repo; using $PRIVATE_DIR"
            mkdir -p "$PRIVATE_DIR"
            chown postgres: "$PRIVATE_DIR"
            chmod 700 "$PRIVATE_DIR"
        fi
    fi
    data=$PRIVATE_DIR/data
    logf=$PRIVATE_DIR/postgres.log

    # Serialise concurrent callers on the private cluster.
    if command -v flock >/dev/null; then
        exec 9>"$PRIVATE_DIR/.lock"
        flock -w 120 9 || die "timed out waiting for the lock on $PRIVATE_DIR"
    fi

    if as_pg "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        log "private cluster in $data is already running"
    else
        if [[ ! -s "$data/PG_VERSION" ]]; then
            log "initialising private cluster in $data"
            rm -rf "$data"
            as_pg "$bindir/initdb" -D "$data" -U postgres --auth=trust \
                --encoding=UTF8 --no-locale --no-sync >&2
            # Throwaway server: no durability, loopback only, no Unix socket
            # (the repo path may be too long for one).
            cat >>"$data/postgresql.conf" <<EOF

# --- added by scripts/ensure-postgres.sh (throwaway test cluster) ---
listen_addresses = '127.0.0.1'
port = $PRIVATE_PORT
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
        fi
        if answers 127.0.0.1 "$PRIVATE_PORT"; then
            log "something else already listens on 127.0.0.1:$PRIVATE_PORT; trying to use it"
        else
            log "starting private cluster on 127.0.0.1:$PRIVATE_PORT (log: $logf)"
            # 9>&-: the server must not inherit (and so hold) the lock.
            as_pg "$bindir/pg_ctl" -D "$data" -l "$logf" -w -t 60 start >&2 9>&- ||
                { tail -n 20 "$logf" >&2 || true; die "private cluster did not start"; }
        fi
    fi

    wait_ready 127.0.0.1 "$PRIVATE_PORT" 30 || die "private cluster on port $PRIVATE_PORT does not answer"
    usable 127.0.0.1 "$PRIVATE_PORT" ||
        die "cannot use PostgreSQL on 127.0.0.1:$PRIVATE_PORT (set ENSURE_PG_PRIVATE_PORT to another port?)"
    log "private PostgreSQL on 127.0.0.1:$PRIVATE_PORT is up"
    url_for 127.0.0.1 "$PRIVATE_PORT"
    exit 0
}

ensure_tools
try_configured
try_debian_cluster
log "no usable PostgreSQL on $HOST:$PORT; falling back to a private cluster"
private_cluster
