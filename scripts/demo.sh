#!/usr/bin/env bash
# Loads the bundled demo (demo/repos, read by the `local` provider) through the real queues:
# `wump-worker enqueue scrape --provider local`, then a `wump-worker run --until-idle` next to
# any worker already running, which helps drain scrape → parse → enrich and exits once every
# queue is empty. Prints how long that took.
#
#   scripts/demo.sh            load the tree at $WUMP__PROVIDERS__LOCAL__ROOT (default demo/repos)
#   scripts/demo.sh --if-demo  the same, but only when GITHUB_TOKEN is unset (`just up`);
#                              with a token, print how to scrape GitHub instead
#
# Needs PostgreSQL and Valkey running (`just services-up`) and the binaries built; the
# database settings come from the environment as for every wump command.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN_DIR="${WUMP_BIN_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}/debug}"
export WUMP__PROVIDERS__LOCAL__ROOT="${WUMP__PROVIDERS__LOCAL__ROOT:-$ROOT/demo/repos}"

say() { printf '[demo] %s\n' "$*" >&2; }

if [ "${1:-}" = "--if-demo" ] && [ -n "${GITHUB_TOKEN:-}${WUMP__PROVIDERS__GITHUB__TOKENS:-}" ]; then
    say "a GitHub token is set: not loading the demo. Scrape GitHub through the queues with e.g."
    say "  $BIN_DIR/wump-worker enqueue scrape --provider github --query 'stars:>5000 language:rust'"
    say "(the running worker drains it; docs/operations.md has the limits to keep in mind)."
    exit 0
fi
[ -d "$WUMP__PROVIDERS__LOCAL__ROOT" ] ||
    { say "error: $WUMP__PROVIDERS__LOCAL__ROOT is not a directory"; exit 1; }

mkdir -p "$ROOT/.data/logs"
say "loading $WUMP__PROVIDERS__LOCAL__ROOT through the queues"
start=$(date +%s.%N)
"$BIN_DIR/wump-worker" enqueue scrape --provider local
# A second worker on a free port for its /health: it drains with the running one (if any)
# and returns once no queue holds or runs anything.
WUMP__WORKER__HEALTH_BIND=127.0.0.1:0 RUST_LOG="${RUST_LOG:-warn}" \
    "$BIN_DIR/wump-worker" run --until-idle >>"$ROOT/.data/logs/demo.log" 2>&1 ||
    { say "error: draining the queues failed (log: .data/logs/demo.log)"; exit 1; }
end=$(date +%s.%N)
say "loaded in $(python3 -c "print(f'{$end - $start:.1f}')") s (log: .data/logs/demo.log)"
say "try: curl -s 'http://${WUMP__API__BIND:-127.0.0.1:8080}/api/v1/packages/actions/actions%2Fcheckout/organizations'"
