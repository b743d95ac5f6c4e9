#!/usr/bin/env bash
# Fuzzes the API against its own OpenAPI document with schemathesis (`just fuzz-api`).
#
#   scripts/fuzz-api.sh [MAX_EXAMPLES]
#
# Installs schemathesis into .tools/py/schemathesis (a virtualenv) when missing, builds
# wump-api, creates a scratch database (wump_fuzz_api, dropped and recreated each run),
# seeds it through the data layer's writers (the api test binary's ignored
# `seed::seed_fuzz_database`), starts the API on 127.0.0.1:18089 with its cache in Valkey
# database 13, and runs schemathesis with the checks not_a_server_error,
# response_schema_conformance, status_code_conformance and content_type_conformance.
# Needs the local services (`just services-up`). Exit status: schemathesis's.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MAX_EXAMPLES="${1:-50}"
ST_VERSION="4.32.5"
VENV="$ROOT/.tools/py/schemathesis"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIND="${WUMP_FUZZ_API_BIND:-127.0.0.1:18089}"
SERVER_URL="${WUMP__DATABASE__URL:-postgres://wump:wump@127.0.0.1:54329/wump}"
DB_NAME="wump_fuzz_api"
DB_URL="${SERVER_URL%/*}/$DB_NAME"
VALKEY_URL="${WUMP__VALKEY__URL:-redis://127.0.0.1:63799}"
VALKEY_URL="${VALKEY_URL%/}/13"
LOG="$ROOT/.data/logs/fuzz-api.log"

say() { printf '[fuzz-api] %s\n' "$*" >&2; }

if [ ! -x "$VENV/bin/schemathesis" ]; then
    say "installing schemathesis $ST_VERSION into .tools/py/schemathesis"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION"
fi

say "building wump-api"
cargo build --quiet --bin wump-api
cargo test --quiet -p wump-api --test api --no-run

say "recreating database $DB_NAME"
WUMP_FUZZ_RECREATE_DATABASE="$DB_NAME" WUMP_FUZZ_SEED_URL="$DB_URL" \
    cargo test --quiet -p wump-api --test api -- --ignored --exact seed::seed_fuzz_database --nocapture

mkdir -p "$(dirname "$LOG")"
say "starting wump-api on $BIND (log: $LOG)"
# schemathesis sends every request with the bootstrap admin key, so the admin routes are
# explored rather than refused; the admin tier is unlimited by default, and anonymous
# requests (schemathesis' own probes) get a limit that never refuses.
ADMIN_KEY="fuzz-api-admin-key-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
WUMP__DATABASE__URL="$DB_URL" WUMP__VALKEY__URL="$VALKEY_URL" WUMP__API__BIND="$BIND" \
    WUMP__DATABASE__MIGRATE_ON_START=false WUMP__API__ADMIN_KEY="$ADMIN_KEY" \
    WUMP__API__RATE_LIMITS__ANONYMOUS__PER_MINUTE=1000000000 \
    WUMP__API__RATE_LIMITS__ANONYMOUS__BURST=100000000 \
    "$TARGET_DIR/debug/wump-api" serve >"$LOG" 2>&1 &
API_PID=$!
trap 'kill "$API_PID" 2>/dev/null || true; wait "$API_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    curl -fsS "http://$BIND/health" >/dev/null 2>&1 && break
    sleep 0.2
done
curl -fsS "http://$BIND/health" >/dev/null || { say "wump-api did not start"; tail -20 "$LOG"; exit 1; }

say "schemathesis against http://$BIND/api/v1/openapi.json ($MAX_EXAMPLES examples per operation)"
# From .data/fuzz-api: schemathesis leaves a .schemathesis/ directory where it runs.
mkdir -p "$ROOT/.data/fuzz-api"
cd "$ROOT/.data/fuzz-api"
"$VENV/bin/schemathesis" run "http://$BIND/api/v1/openapi.json" \
    --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
    --max-examples "$MAX_EXAMPLES" \
    --header "X-API-Key: $ADMIN_KEY" \
    --seed 1 \
    --workers 2 \
    --generation-database none \
    --report junit \
    --report-dir "$ROOT/.data/fuzz-api" \
    --no-color
