#!/usr/bin/env bash
# Crate dependencies point one way (docs/architecture.md): core is pure; manifests (the
# parsers) build on core; db on core; providers on core + manifests; api on core + db (never
# the parsers, which it does not use); worker on all of them. Checked on the normal
# (non-dev, non-build) dependency graph that `cargo tree` resolves from Cargo.lock.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

failed=0
forbid() { # forbid CRATE REGEX...: no crate whose name matches REGEX in CRATE's graph
    local crate="$1" deps bad
    shift
    deps="$(cargo tree --locked -p "$crate" -e normal --prefix none -f '{p}' | awk '{print $1}' | sort -u)"
    for re in "$@"; do
        bad="$(grep -E "^($re)\$" <<<"$deps" || true)"
        if [ -n "$bad" ]; then
            echo "dependency direction broken: $crate depends on $(echo $bad)" >&2
            failed=1
        fi
    done
}

forbid wump-core 'diesel.*' 'actix-web' 'reqwest' 'wump-(manifests|db|providers|api|worker)'
forbid wump-manifests 'diesel.*' 'actix-web' 'reqwest' 'wump-(db|providers|api|worker)'
forbid wump-db 'wump-(manifests|providers|api|worker)'
forbid wump-providers 'wump-db' 'diesel.*' 'wump-(api|worker)'
forbid wump-api 'wump-manifests' 'wump-providers' 'wump-worker'
forbid wump-worker 'wump-api'

[ "$failed" = 0 ] && echo "dependency directions OK"
exit "$failed"
