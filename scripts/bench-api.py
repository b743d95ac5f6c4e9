#!/usr/bin/env python3
"""Measures wump-api under load and writes the figures into docs/benchmarks.md.

Usage: scripts/bench-api.py [--duration SECONDS] [--connections N] [--dependents N]

Builds the release binary with the `bench` feature, creates and seeds the database
`wump_bench` (a package with --dependents dependent repositories) on the server
WUMP__DATABASE__URL names, serves it with Valkey database 3 of WUMP__VALKEY__URL, and drives
three endpoints with wrk, one after the other, in the same run:

- /health: the baseline (no database, no cache: what the HTTP stack itself costs);
- /bench/dependents: the first page of dependents through the response cache (hot: HITs);
- /bench/dependents/uncached: the same page and JSON from PostgreSQL every time.

It records requests/s, p50 and p99 latency (and their ratios to the baseline), and the
server's resident memory idle and at its peak under load, then stops the server with
SIGTERM and checks it exits 0. The section between the bench-api markers is replaced.
"""

import argparse
import datetime
import os
import pathlib
import platform
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

REPO = pathlib.Path(__file__).resolve().parent.parent
DOC = REPO / "docs/benchmarks.md"
START = "<!-- bench-api:start (written by `just bench-api`) -->"
END = "<!-- bench-api:end -->"
BIND = "127.0.0.1:18089"

ENDPOINTS = [
    ("baseline", "/health", "`GET /health` (no database, no cache)"),
    ("cached", "/bench/dependents", "dependents page 1, cache HIT (Valkey)"),
    ("uncached", "/bench/dependents/uncached", "dependents page 1 from PostgreSQL"),
    # The public route: the guard (anonymous caller, a GCRA decision in Valkey per request),
    # parameter parsing and the same cached page.
    ("public", "/api/v1/packages/cargo/bench-serde/dependents",
     "`GET /api/v1/packages/cargo/bench-serde/dependents`, cache HIT + rate limit (Valkey)"),
]


def with_database(url, name):
    base, _, query = url.partition("?")
    server = base.rsplit("/", 1)[0]
    return f"{server}/{name}" + (f"?{query}" if query else "")


def with_valkey_db(url, db):
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0]
    return f"{scheme}://{host}/{db}"


def rss_kib(pid, field="VmRSS"):
    try:
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def to_ms(value):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url, duration, connections):
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": p50, "p99": p99, "non2xx": int(errors.group(1)) if errors else 0}


def get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers, response.read()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--dependents", type=int, default=10_000)
    parser.add_argument("--debug", action="store_true",
                        help="smoke-test the script with a debug build (writes no report)")
    args = parser.parse_args()

    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    profile = [] if args.debug else ["--release"]
    subprocess.run(
        ["cargo", "build", *profile, "--locked", "-p", "wump-api", "--bin", "wump-api",
         "--features", "bench"],
        check=True,
        cwd=REPO,
    )
    binary = target / ("debug" if args.debug else "release") / "wump-api"
    env = dict(os.environ)
    env["WUMP__DATABASE__URL"] = with_database(
        os.environ.get("WUMP__DATABASE__URL", "postgres://wump:wump@127.0.0.1:54329/wump"),
        "wump_bench",
    )
    env["WUMP__VALKEY__URL"] = with_valkey_db(
        os.environ.get("WUMP__VALKEY__URL", "redis://127.0.0.1:63799"), 3
    )
    env["WUMP__API__BIND"] = BIND
    env["WUMP__TELEMETRY__LOG_FILTER"] = "warn"
    # Every request is an anonymous caller from 127.0.0.1: a limit that never refuses, so
    # the limiter's Valkey round trip is measured without 429s.
    env["WUMP__API__RATE_LIMITS__ANONYMOUS__PER_MINUTE"] = "1000000000"
    env["WUMP__API__RATE_LIMITS__ANONYMOUS__BURST"] = "100000000"
    env.pop("RUST_LOG", None)
    subprocess.run([binary, "bench-seed", "--dependents", str(args.dependents)], check=True,
                   env=env, cwd=REPO)

    server = subprocess.Popen([binary, "serve"], env=env, cwd=REPO)
    base = f"http://{BIND}"
    try:
        for _ in range(100):
            try:
                if get(base + "/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit("wump-api did not come up")
        # A fresh version: the first request is a MISS, every later one a HIT.
        status, headers, body = get(base + "/bench/dependents")
        assert status == 200, status
        status, headers, body = get(base + "/bench/dependents")
        assert headers.get("X-Cache") == "HIT", headers
        body_bytes = len(body)
        idle_rss = rss_kib(server.pid)

        peak = {"rss": idle_rss}
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                peak["rss"] = max(peak["rss"], rss_kib(server.pid))
                time.sleep(0.2)

        sampler = threading.Thread(target=sample)
        sampler.start()
        results = {}
        for name, path, _ in ENDPOINTS:
            results[name] = run_wrk(base + path, args.duration, args.connections)
            print(name, results[name], flush=True)
        stop.set()
        sampler.join()
        hwm = rss_kib(server.pid, "VmHWM")
        _, _, metrics = get(base + "/metrics")
        hits = re.search(rb'wump_api_cache_lookups_total\{result="hit"[^}]*\} (\d+)', metrics)
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
    if code != 0:
        sys.exit(f"wump-api exited {code} after SIGTERM")
    if args.debug:
        return

    write_report(results, args, idle_rss, max(peak["rss"], hwm), body_bytes,
                 int(hits.group(1)) if hits else None)


def write_report(results, args, idle_rss, peak_rss, body_bytes, hits):
    base = results["baseline"]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=REPO).stdout.strip()
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        START,
        f"Measured {now} at commit `{commit}` (`just bench-api`): release build, "
        f"{args.dependents:,} dependents, wrk -t2 -c{args.connections} -d{args.duration}s per "
        f"endpoint, one after the other; the JSON page is {body_bytes:,} bytes.",
        "",
        "| endpoint | requests/s | p50 | p99 | req/s ÷ baseline | p50 ÷ baseline | p99 ÷ baseline | non-2xx |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, path, what in ENDPOINTS:
        r = results[name]
        lines.append(
            f"| {what} | {r['rps']:,.0f} | {r['p50']:.2f} ms | {r['p99']:.2f} ms | "
            f"{r['rps'] / base['rps']:.2f}× | {r['p50'] / base['p50']:.2f}× | "
            f"{r['p99'] / base['p99']:.2f}× | {r['non2xx']} |"
        )
    cached, uncached = results["cached"], results["uncached"]
    lines += [
        "",
        f"Cache HIT vs PostgreSQL: {cached['rps'] / uncached['rps']:.1f}× the requests/s, "
        f"p50 {uncached['p50'] / cached['p50']:.1f}× lower."
        + (f" Cache HITs counted by /metrics: {hits:,}." if hits is not None else ""),
        f"Resident memory of wump-api: {idle_rss / 1024:.0f} MiB idle after warm-up, "
        f"{peak_rss / 1024:.0f} MiB at peak under load. SIGTERM: graceful stop, exit 0.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with wrk and other "
        f"work (load average at the end: {load}), Linux {platform.release()}, {rustc}.",
        END,
    ]
    section = "\n".join(lines)
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        text = head + section + tail
    else:
        text = text.rstrip() + "\n\n## HTTP API\n\n" + section + "\n"
    DOC.write_text(text)
    print(section)


if __name__ == "__main__":
    main()
