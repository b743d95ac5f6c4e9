#!/usr/bin/env bash
# Fails with a clear message unless a Docker engine with the compose plugin is reachable.
set -euo pipefail
hint="Without Docker, 'just up' runs the same stack natively (PostgreSQL and Valkey from .data/)."
command -v docker >/dev/null || { echo "error: docker is not installed. $hint" >&2; exit 1; }
docker compose version >/dev/null 2>&1 ||
    { echo "error: the docker compose plugin is missing (docker compose version failed). $hint" >&2; exit 1; }
docker info >/dev/null 2>&1 ||
    { echo "error: no Docker engine is reachable (docker info failed). $hint" >&2; exit 1; }
