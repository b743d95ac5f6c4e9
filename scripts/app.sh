#!/usr/bin/env bash
# Runs the built wump binaries in the background for local use (`just up` / `just down`).
#
#   scripts/app.sh start|stop|status
#
# start: (re)starts `wump-api serve` and `wump-worker run` from $WUMP_BIN_DIR (default
#        target/debug) with pid files in .data/run and logs in .data/logs, then waits until
#        both /health endpoints answer. Already running copies are stopped first, so a fresh
#        build is what runs.
# stop:  SIGTERM, wait for a graceful exit (then SIGKILL), remove the pid files.
# Health addresses follow WUMP__API__BIND and WUMP__WORKER__HEALTH_BIND (defaults
# 127.0.0.1:8080 and 127.0.0.1:8081).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN_DIR="${WUMP_BIN_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}/debug}"
BIN_DIR="$(realpath -m "$BIN_DIR")"
LOGS="$ROOT/.data/logs"
RUN="$ROOT/.data/run"
STOP_WAIT_SECS=40 # longer than api.shutdown_timeout_secs and worker.shutdown_grace_secs
START_WAIT_SECS="${WUMP_START_WAIT_SECS:-60}"

say() { printf '[app] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# The address to probe for a bind address: 0.0.0.0 / [::] mean "this machine".
probe_addr() {
    local a="$1"
    a="${a/0.0.0.0/127.0.0.1}"
    a="${a/\[::\]/127.0.0.1}"
    echo "$a"
}
API_ADDR="$(probe_addr "${WUMP__API__BIND:-127.0.0.1:8080}")"
WORKER_ADDR="$(probe_addr "${WUMP__WORKER__HEALTH_BIND:-127.0.0.1:8081}")"

# name binary subcommand health-address
SERVICES=("api wump-api serve $API_ADDR" "worker wump-worker run $WORKER_ADDR")

pid_of() { cat "$RUN/$1.pid" 2>/dev/null || true; }
alive() { # alive NAME BINARY: the pid file names a live process running BINARY
    local pid
    pid="$(pid_of "$1")"
    [[ "$pid" =~ ^[0-9]+$ ]] && [ -r "/proc/$pid/cmdline" ] &&
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"
}

healthy() {
    if command -v curl >/dev/null; then
        curl -fsS -o /dev/null --max-time 2 "http://$1/health" 2>/dev/null
    else
        python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
            "http://$1/health" 2>/dev/null
    fi
}
port_open() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }

stop_one() { # stop_one NAME BINARY
    local name="$1" bin="$2" pid i
    if ! alive "$name" "$bin"; then
        rm -f "$RUN/$name.pid"
        return 0
    fi
    pid="$(pid_of "$name")"
    kill -TERM "$pid"
    for ((i = 0; i < STOP_WAIT_SECS * 10; i++)); do
        alive "$name" "$bin" || break
        sleep 0.1
    done
    if alive "$name" "$bin"; then
        say "$name (pid $pid) ignored SIGTERM for ${STOP_WAIT_SECS}s: SIGKILL"
        kill -KILL "$pid"
    fi
    rm -f "$RUN/$name.pid"
    say "$name stopped"
}

start_one() { # start_one NAME BINARY SUBCOMMAND
    local name="$1" bin="$2" sub="$3"
    [ -x "$BIN_DIR/$bin" ] || die "$BIN_DIR/$bin is missing: run 'cargo build --bins'"
    mkdir -p "$LOGS" "$RUN"
    echo "=== $(date -u +%FT%TZ) scripts/app.sh start: $BIN_DIR/$bin $sub" >>"$LOGS/$name.log"
    # setsid: the process outlives this shell and does not get the terminal's Ctrl-C.
    (cd "$ROOT" && exec setsid "$BIN_DIR/$bin" "$sub" >>"$LOGS/$name.log" 2>&1 </dev/null) &
    echo $! >"$RUN/$name.pid"
}

wait_healthy() { # wait_healthy NAME BINARY ADDR
    local name="$1" bin="$2" addr="$3" i
    for ((i = 0; i < START_WAIT_SECS * 5; i++)); do
        healthy "$addr" && return 0
        alive "$name" "$bin" || break
        sleep 0.2
    done
    # The last 30 lines this start wrote to the log.
    awk '/^=== /{n=0} {line[n++]=$0} END{for(i=(n>30?n-30:0);i<n;i++) print line[i]}' \
        "$LOGS/$name.log" >&2 || true
    if alive "$name" "$bin"; then
        die "$name is running but http://$addr/health did not answer within ${START_WAIT_SECS}s (log: $LOGS/$name.log)"
    fi
    rm -f "$RUN/$name.pid"
    die "$name exited during start-up (log: $LOGS/$name.log)"
}

case "${1:-}" in
    start)
        # Leave nothing half-started: on any failure stop both again.
        trap 'rc=$?; [ "$rc" = 0 ] || "$0" stop; exit "$rc"' EXIT
        for s in "${SERVICES[@]}"; do
            set -- $s
            stop_one "$1" "$2"
            port_open "$4" && die "$4 is already taken by another program (not a $2 started here)"
        done
        for s in "${SERVICES[@]}"; do start_one $s; done
        for s in "${SERVICES[@]}"; do
            set -- $s
            wait_healthy "$1" "$2" "$4"
            say "$1 healthy: http://$4/health (pid $(pid_of "$1"), log .data/logs/$1.log)"
        done
        ;;
    stop)
        for s in "${SERVICES[@]}"; do
            set -- $s
            stop_one "$1" "$2"
        done
        ;;
    status)
        rc=0
        for s in "${SERVICES[@]}"; do
            set -- $s
            if alive "$1" "$2"; then
                state=running
                healthy "$4" || state="running, /health not answering"
                echo "$1 $state  pid $(pid_of "$1")  http://$4"
            else
                echo "$1 stopped"
                rc=1
            fi
        done
        exit $rc
        ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
