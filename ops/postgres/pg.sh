#!/usr/bin/env bash
# A throw-away PostgreSQL test server on 127.0.0.1 from the machine's binaries (PostgreSQL 15 on Debian).
#
# Usage: bash ops/postgres/pg.sh start|stop|status
#   start   initdb once (trust auth, locale C, UTF8, fsync off), starts the server in the background,
#           creates the database `treasury`, then prints its URL
#           (postgresql://postgres@127.0.0.1:15432/treasury) as the last line on stdout.
#           Already running: prints the URL.
#   stop    fast shutdown (SIGINT), wait, then SIGKILL. Not running: does nothing.
#   status  exit 0 and print the URL if running, else exit 3.
# Progress and errors go to stderr; stdout carries only the URL.
# As root, initdb and postgres run as the unprivileged system user `postgres` (created if missing),
# which then owns the data directory.
#
# Environment:
#   TREASURY_PG_DATA      cluster directory; the socket and log live in it too (default /tmp/treasury-pg)
#   PG_PORT               TCP port (default 15432)
#   PG_BINDIR             directory of initdb/pg_ctl/postgres (default: pg_config --bindir, else the
#                         newest /usr/lib/postgresql/*/bin)
#   PG_START_TIMEOUT      seconds to wait for the server (default 60)
set -euo pipefail

DATA="${TREASURY_PG_DATA:-/tmp/treasury-pg}"
case "$DATA" in /*) ;; *) DATA="$PWD/$DATA" ;; esac
PORT="${PG_PORT:-15432}"
HOST=127.0.0.1
DATABASE=treasury
SUPERUSER=postgres
START_TIMEOUT="${PG_START_TIMEOUT:-60}"
STOP_TIMEOUT=30
RUN_USER=postgres  # the OS user the server runs as when this script runs as root

PGDATA_DIR="$DATA/pgdata"
SOCKET_DIR="$DATA/socket"
LOG_FILE="$DATA/postgres.log"
URL_FILE="$DATA/url"

log() { echo "pg.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

find_bindir() {
    local dir="${PG_BINDIR:-}"
    if [ -z "$dir" ] && command -v pg_config >/dev/null 2>&1; then
        dir="$(pg_config --bindir 2>/dev/null || true)"
        [ -x "$dir/initdb" ] || dir=""
    fi
    if [ -z "$dir" ]; then
        dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    fi
    [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ] ||
        die "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: set PG_BINDIR or apt-get install postgresql"
    BINDIR="$dir"
}

as_owner() {  # run a command as the server's OS user
    if [ "$(id -u)" -eq 0 ]; then
        # from /, since the caller's directory (e.g. /root) may be closed to that user
        if command -v runuser >/dev/null 2>&1; then
            (cd / && runuser -u "$RUN_USER" -- "$@")
        else
            (cd / && su -s /bin/sh "$RUN_USER" -c "$(printf '%q ' "$@")")
        fi
    else
        "$@"
    fi
}

ensure_run_user() {
    [ "$(id -u)" -eq 0 ] || return 0
    if ! id "$RUN_USER" >/dev/null 2>&1; then
        log "creating the system user $RUN_USER (postgres refuses to run as root)"
        useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home --shell /bin/sh "$RUN_USER" ||
            die "cannot create the system user $RUN_USER"
    fi
}

take_lock() {  # serialise start/stop between concurrent callers (e.g. pytest-xdist workers)
    mkdir -p "$DATA"
    exec 9>"$DATA/.lock"
    if command -v flock >/dev/null 2>&1; then
        flock -w $((START_TIMEOUT + 60)) 9 || die "timed out waiting for the lock $DATA/.lock"
    fi
}

server_pid() {  # prints the postmaster's pid if our server runs, else returns 1
    local pid
    [ -f "$PGDATA_DIR/postmaster.pid" ] || return 1
    pid="$(head -n 1 "$PGDATA_DIR/postmaster.pid" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'postgres' || return 1
    echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

url() { echo "postgresql://$SUPERUSER@$HOST:$PORT/$DATABASE"; }

psql_cmd() {  # psql over the unix socket as the superuser
    "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKET_DIR" -p "$PORT" -U "$SUPERUSER" "$@"
}

do_start() {
    take_lock
    if server_pid >/dev/null && [ -s "$URL_FILE" ]; then
        log "already running (pid $(server_pid))"
        cat "$URL_FILE"
        return 0
    fi
    [[ "$PORT" =~ ^[0-9]+$ ]] || die "PG_PORT must be a number"
    find_bindir
    ensure_run_user
    rm -f "$URL_FILE"

    if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
        log "initdb in $PGDATA_DIR ($("$BINDIR/postgres" --version))"
        rm -rf "$PGDATA_DIR"
        mkdir -p "$PGDATA_DIR"
        if [ "$(id -u)" -eq 0 ]; then
            chown "$RUN_USER": "$DATA"
            chown "$RUN_USER": "$PGDATA_DIR"
        fi
        chmod 700 "$PGDATA_DIR"
        if ! as_owner "$BINDIR/initdb" -D "$PGDATA_DIR" -U "$SUPERUSER" --auth=trust --encoding=UTF8 \
            --locale=C --no-sync >"$DATA/initdb.log" 2>&1; then
            cat "$DATA/initdb.log" >&2
            die "initdb failed"
        fi
    fi
    mkdir -p "$SOCKET_DIR"
    if [ "$(id -u)" -eq 0 ]; then
        chown "$RUN_USER": "$DATA" "$SOCKET_DIR"
        touch "$LOG_FILE" && chown "$RUN_USER": "$LOG_FILE"
    fi

    if ! server_pid >/dev/null; then
        if port_open "$PORT"; then
            die "port $HOST:$PORT is already in use by another process; choose another with PG_PORT"
        fi
        rm -f "$PGDATA_DIR/postmaster.pid"  # stale after a crash or reboot
        log "starting PostgreSQL on $HOST:$PORT (data $PGDATA_DIR)"
        # settings for a fast disposable test server; fsync off loses data only on an OS crash
        local opts="-c listen_addresses=$HOST -c port=$PORT -c unix_socket_directories=$SOCKET_DIR"
        opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        opts+=" -c shared_buffers=128MB -c logging_collector=off"
        # pg_ctl detaches the server (its own session, stdio to the log file); -w waits until it accepts connections
        if ! as_owner "$BINDIR/pg_ctl" -D "$PGDATA_DIR" -l "$LOG_FILE" -o "$opts" -w -t "$START_TIMEOUT" \
            start >"$DATA/pg_ctl.out" 2>&1 </dev/null 9>&-; then
            cat "$DATA/pg_ctl.out" >&2
            echo "----- last lines of $LOG_FILE -----" >&2
            tail -n 40 "$LOG_FILE" >&2 || true
            die "PostgreSQL did not start on $HOST:$PORT within ${START_TIMEOUT}s"
        fi
    fi

    if [ "$(psql_cmd -d postgres -tA -c "select 1 from pg_database where datname = '$DATABASE'")" != "1" ]; then
        log "creating database $DATABASE"
        psql_cmd -d postgres -c "create database $DATABASE" >&2 || die "cannot create database $DATABASE"
    fi
    url >"$URL_FILE"
    log "ready (pid $(server_pid))"
    url
}

do_stop() {
    take_lock
    local pid
    if ! pid="$(server_pid)"; then
        rm -f "$URL_FILE"
        log "not running"
        return 0
    fi
    log "stopping (pid $pid)"
    kill -INT "$pid" 2>/dev/null || true  # fast shutdown
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "still running after ${STOP_TIMEOUT}s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
            break
        fi
        sleep 0.2
    done
    rm -f "$URL_FILE"
    log "stopped"
}

do_status() {
    local pid
    if pid="$(server_pid)" && [ -s "$URL_FILE" ]; then
        log "running (pid $pid)"
        cat "$URL_FILE"
        return 0
    fi
    log "not running"
    return 3
}

case "${1:-}" in
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
