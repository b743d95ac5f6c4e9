#!/usr/bin/env python3
"""Measures wump-api under load and writes the figures into docs/benchmarks.md.

Usage: scripts/bench-api.py [--duration SECONDS] [--connections N] [--dependents N]
                            [--burst-seconds SECONDS] [--burst-connections N]

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

The server runs one HTTP worker pinned to core 0 and wrk runs on core 1 (when there are two
cores), so the ratio to /health is what a cached read costs on one core. It is measured
once per step of the HIT path, each a fresh server, so the report says what each step buys:
the limiter's script sent whole (`EVAL`), by its SHA (`EVALSHA`), cache versions
remembered in memory (`api.cache.track_versions`), entries kept in memory
(`api.cache.local_bytes`), and the limiter's units leased ahead of use
(`api.rate_limits.lease_max`; the steps before run with it at 0).

Then the burst (the pypiserver incident profile): --burst-connections opened at once for
--burst-seconds against the `just bench-data small` dataset, 80 % of requests for the
dependents pages of the 200 most depended-upon packages (warmed first: cache HITs), 20 %
for pages never asked before (MISSes read from PostgreSQL) over every package. Written
between the bench-burst markers; skipped with one line when the dataset is missing.
"""

import argparse
import datetime
import http.client
import os
import pathlib
import platform
import random
import shutil
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

REPO = pathlib.Path(__file__).resolve().parent.parent
DOC = REPO / "docs/benchmarks.md"
START = "<!-- bench-api:start (written by `just bench-api`) -->"
END = "<!-- bench-api:end -->"
BIND = "127.0.0.1:18089"

# The steps of the HIT path, each measured on a fresh server: (name, what, environment).
NO_LEASES = {"WUMP__API__RATE_LIMITS__LEASE_MAX": "0"}
STEPS = [
    ("eval", "limiter script sent whole (`EVAL`) per request, version read from Valkey, entry in memory",
     {**NO_LEASES, "WUMP_BENCH_LIMITER_EVAL": "1", "WUMP__API__CACHE__TRACK_VERSIONS": "false"}),
    ("evalsha", "limiter script by its SHA (`EVALSHA`) per request, version read from Valkey, entry in memory",
     {**NO_LEASES, "WUMP__API__CACHE__TRACK_VERSIONS": "false"}),
    ("remembered", "`EVALSHA` per request, version remembered (`CLIENT TRACKING`), entry read from Valkey",
     {**NO_LEASES, "WUMP__API__CACHE__LOCAL_BYTES": "0"}),
    ("tracked", "`EVALSHA` per request, version remembered (`CLIENT TRACKING`), entry in memory",
     NO_LEASES),
    ("leased", "limiter units leased (`EVALSHA` once per lease), version remembered, entry in memory: the default",
     {}),
]
BURST_START = "<!-- bench-burst:start (written by `just bench-api`) -->"
BURST_END = "<!-- bench-burst:end -->"
BURST_LUA = REPO / "scripts/bench-burst.lua"
WARM_START = "<!-- bench-warm:start (written by `just bench-api`) -->"
WARM_END = "<!-- bench-warm:end -->"

ENDPOINTS = [
    ("baseline", "/health", "`GET /health` (no database, no cache)"),
    ("cached", "/bench/dependents", "dependents page 1, cache HIT (Valkey)"),
    ("uncached", "/bench/dependents/uncached", "dependents page 1 from PostgreSQL"),
    # The public route: the guard (anonymous caller, a GCRA decision in Valkey per request),
    # parameter parsing and the same cached page.
    ("public", "/api/v1/packages/cargo/bench-serde/dependents",
     "`GET /api/v1/packages/cargo/bench-serde/dependents`, cache HIT + rate limit (Valkey)"),
]
# The HTML page of the seeded package (`/{ecosystem}/{name}`), measured in the last step.
PAGE = "/cargo/bench-serde"


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


def cores():
    """(server core, wrk core) when there are two cores to pin to, else (None, None)."""
    if (os.cpu_count() or 1) >= 2 and shutil.which("taskset"):
        return "0", "1"
    return None, None


def pinned(core, command):
    return ["taskset", "-c", core, *command] if core else command


def run_wrk(url, duration, connections, script=None, timeout="5s"):
    _, wrk_core = cores()
    threads = 2
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", f"--timeout={timeout}",
               "--latency"]
    if script:
        command += ["-s", str(script)]
    out = subprocess.run(pinned(wrk_core, [*command, url]), check=True, capture_output=True,
                         text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    percentile = lambda p: to_ms(re.search(rf"^\s+{p}%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    return {
        "rps": rps, "p50": percentile(50), "p75": percentile(75), "p90": percentile(90),
        "p99": percentile(99), "max": to_ms(re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out).group(1)),
        "non2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": sum(map(int, sockets.groups())) if sockets else 0,
        "requests": total,
    }


def get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers, response.read()


class Server:
    """The release wump-api with one HTTP worker, pinned, started and stopped by SIGTERM."""

    def __init__(self, binary, env, extra):
        server_core, _ = cores()
        self.env = {**env, **extra}
        self.process = subprocess.Popen(pinned(server_core, [binary, "serve"]), env=self.env,
                                        cwd=REPO)
        self.base = f"http://{BIND}"
        self.peak = rss_kib(self.process.pid)
        self.stop_sampling = threading.Event()
        self.sampler = threading.Thread(target=self.sample)

    def __enter__(self):
        for _ in range(200):
            try:
                if get(self.base + "/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit("wump-api did not come up")
        self.sampler.start()
        return self

    def sample(self):
        while not self.stop_sampling.is_set():
            self.peak = max(self.peak, rss_kib(self.process.pid))
            time.sleep(0.2)

    def peak_rss(self):
        return max(self.peak, rss_kib(self.process.pid, "VmHWM"))

    def __exit__(self, *exc):
        self.stop_sampling.set()
        self.sampler.join()
        self.hwm = self.peak_rss()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        if code != 0 and exc[0] is None:
            sys.exit(f"wump-api exited {code} after SIGTERM")


def cache_hits(base):
    _, _, metrics = get(base + "/metrics")
    hits = re.search(rb'wump_api_cache_lookups_total\{result="hit"[^}]*\} (\d+)', metrics)
    return int(hits.group(1)) if hits else 0


def measure_steps(binary, env, args):
    """Per step: every endpoint on a fresh server, one after the other."""
    results = {}
    for step, _, extra in STEPS:
        with Server(binary, env, extra) as server:
            # A fresh version: the first request is a MISS, every later one a HIT.
            get(server.base + "/bench/dependents")
            status, headers, body = get(server.base + "/bench/dependents")
            assert headers.get("X-Cache") == "HIT", headers
            idle = rss_kib(server.process.pid)
            runs = {}
            for name, path, _ in ENDPOINTS:
                runs[name] = run_wrk(server.base + path, args.duration, args.connections)
                print(step, name, runs[name], flush=True)
            page_bytes = 0
            if step == STEPS[-1][0]:
                # The same package's page for people: HTML through the same guard and cache.
                get(server.base + PAGE)
                _, headers, page = get(server.base + PAGE)
                assert headers.get("X-Cache") == "HIT", headers
                page_bytes = len(page)
                runs["page"] = run_wrk(server.base + PAGE, args.duration, args.connections)
                print(step, "page", runs["page"], flush=True)
            hits = cache_hits(server.base)
        results[step] = {"runs": runs, "idle": idle, "peak": server.hwm, "hits": hits,
                         "body": len(body), "page_bytes": page_bytes}
    return results


def bench_database_exists(env):
    out = subprocess.run(
        ["psql", with_database(env["WUMP__DATABASE__URL"], "wump"), "-Atc",
         "SELECT 1 FROM pg_database WHERE datname = 'wump_bench_small'"],
        capture_output=True, text=True)
    return out.returncode == 0 and out.stdout.strip() == "1"


def burst_paths(env):
    """(hot, cold) request paths from the small dataset's packages."""
    url = with_database(env["WUMP__DATABASE__URL"], "wump_bench_small")
    rows = subprocess.run(
        ["psql", url, "-AtF", " ", "-c",
         "SELECT ecosystem, name FROM packages WHERE dependents_count > 0 "
         "ORDER BY dependents_count DESC, name"],
        check=True, capture_output=True, text=True).stdout.split("\n")
    packages = [r.split(" ", 1) for r in rows if r]
    page = lambda eco, name, per_page: (
        f"/api/v1/packages/{eco}/{urllib.parse.quote(name, safe='')}/dependents?per_page={per_page}")
    hot = [page(eco, name, 30) for eco, name in packages[:200]]
    # Never asked before: every package in a shuffled order, at two other page sizes.
    rng = random.Random(1)
    cold = [page(eco, name, per_page) for per_page in (20, 50) for eco, name in packages]
    rng.shuffle(cold)
    return hot, cold


def measure_burst(binary, env, args, pause_ms):
    """The burst with each client pausing `pause_ms` between requests (0: saturation)."""
    hot, cold = burst_paths(env)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="wump-burst-"))
    (workdir / "hot.txt").write_text("\n".join(hot) + "\n")
    (workdir / "cold.txt").write_text("\n".join(cold) + "\n")
    burst_env = dict(env)
    burst_env["WUMP__DATABASE__URL"] = with_database(env["WUMP__DATABASE__URL"], "wump_bench_small")
    burst_env["WUMP_BURST_DIR"] = str(workdir)
    with Server(binary, burst_env, {}) as server:
        for path in hot:
            get(server.base + path)
        _, headers, _ = get(server.base + hot[0])
        assert headers.get("X-Cache") == "HIT", headers
        os.environ["WUMP_BURST_DIR"] = str(workdir)
        os.environ["WUMP_BURST_THREADS"] = "2"
        os.environ["WUMP_BURST_DELAY_MS"] = str(pause_ms)
        seconds = args.burst_seconds if pause_ms else args.saturation_seconds
        result = run_wrk(server.base, seconds, args.burst_connections, BURST_LUA)
        print("burst", result, flush=True)
        hits = cache_hits(server.base)
    shutil.rmtree(workdir)
    result.update(peak=server.hwm, hits=hits, hot=len(hot), cold=len(cold), pause=pause_ms,
                  seconds=seconds)
    return result


def valkey_command(url, *words):
    """One command over a raw RESP connection to the Valkey `url` names (with its db)."""
    scheme, _, rest = url.partition("://")
    hostport, _, db = rest.partition("/")
    host, _, port = hostport.rpartition(":")
    encode = lambda ws: b"".join(
        [f"*{len(ws)}\r\n".encode()] + [f"${len(w.encode())}\r\n{w}\r\n".encode() for w in ws])
    with socket.create_connection((host or "127.0.0.1", int(port or 6379)), timeout=5) as conn:
        conn.sendall(encode(["SELECT", db or "0"]) + encode(list(words)))
        reply = b""
        while reply.count(b"\r\n") < 2:
            reply += conn.recv(4096)
    return reply


def measure_warming(binary, env, args, warm):
    """Readers over hot pages for --warm-seconds while every hot package is bumped every
    10 s; counts X-Cache per answer."""
    hot, _ = burst_paths(env)
    packages = hot[:50]
    paths = packages + [p.split("/dependents")[0] for p in packages]
    names = [p.split("/")[4:6] for p in packages]
    warm_env = dict(env)
    warm_env["WUMP__DATABASE__URL"] = with_database(env["WUMP__DATABASE__URL"], "wump_bench_small")
    counts = {"HIT": 0, "MISS": 0, "STALE": 0, "other": 0}
    after_bump = {"HIT": 0, "MISS": 0}
    lock = threading.Lock()
    with Server(binary, warm_env, {"WUMP__API__CACHE__WARM": "true" if warm else "false"}) as server:
        for path in paths:
            get(server.base + path)
            get(server.base + path)
        host, port = BIND.split(":")
        stop = time.monotonic() + args.warm_seconds
        last_bump = [time.monotonic()]

        def reader(seed):
            rng = random.Random(seed)
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
            while time.monotonic() < stop:
                # About 50 requests a second per reader: each hot answer is asked a few
                # times a second, as a popular package's pages are.
                time.sleep(0.02)
                conn.request("GET", rng.choice(paths))
                response = conn.getresponse()
                response.read()
                status = response.getheader("X-Cache") or "other"
                with lock:
                    counts[status if status in counts else "other"] += 1
                    if time.monotonic() - last_bump[0] < 1.0 and status in after_bump:
                        after_bump[status] += 1
            conn.close()

        readers = [threading.Thread(target=reader, args=(i,)) for i in range(8)]
        for r in readers:
            r.start()
        bumps = 0
        while time.monotonic() + 10 < stop:
            time.sleep(10)
            last_bump[0] = time.monotonic()
            for ecosystem, name in names:
                valkey_command(env["WUMP__VALKEY__URL"], "INCR",
                               f"wump:cache-version:package:{ecosystem}:{name}")
            bumps += 1
        for r in readers:
            r.join()
        _, _, metrics = get(server.base + "/metrics")
        warmed = re.search(rb'wump_api_cache_warmed_total\{result="rendered"[^}]*\} (\d+)', metrics)
    total = sum(counts.values())
    return {"counts": counts, "total": total, "bumps": bumps, "after_bump": after_bump,
            "keys": len(paths), "warmed": int(warmed.group(1)) if warmed else 0}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--dependents", type=int, default=10_000)
    parser.add_argument("--burst-seconds", type=int, default=60)
    parser.add_argument("--burst-connections", type=int, default=510)
    parser.add_argument("--burst-pause-ms", type=int, default=200,
                        help="each burst client's pause between requests")
    parser.add_argument("--saturation-seconds", type=int, default=30)
    parser.add_argument("--warm-seconds", type=int, default=60)
    parser.add_argument("--debug", action="store_true",
                        help="smoke-test the script with a debug build (writes no report)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: `apt-get install wrk` (just bench-api installs it)")

    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    profile = [] if args.debug else ["--release"]
    subprocess.run(
        ["cargo", "build", *profile, "--locked", "-p", "wump-api", "--bin", "wump-api",
         "--features", "bench"],
        check=True,
        cwd=REPO,
    )
    binary = target / ("debug" if args.debug else "release") / "wump-api"
    server_url = os.environ.get("WUMP__DATABASE__URL", "postgres://wump:wump@127.0.0.1:54329/wump")
    env = dict(os.environ)
    env["WUMP__DATABASE__URL"] = with_database(server_url, "wump_bench")
    env["WUMP__VALKEY__URL"] = with_valkey_db(
        os.environ.get("WUMP__VALKEY__URL", "redis://127.0.0.1:63799"), 3
    )
    env["WUMP__API__BIND"] = BIND
    env["WUMP__API__WORKERS"] = "1"
    env["WUMP__TELEMETRY__LOG_FILTER"] = "warn"
    # Every request is an anonymous caller from 127.0.0.1: a limit that never refuses, so
    # the limiter's Valkey round trip is measured without 429s.
    env["WUMP__API__RATE_LIMITS__ANONYMOUS__PER_MINUTE"] = "1000000000"
    env["WUMP__API__RATE_LIMITS__ANONYMOUS__BURST"] = "100000000"
    env.pop("RUST_LOG", None)
    subprocess.run([binary, "bench-seed", "--dependents", str(args.dependents)], check=True,
                   env=env, cwd=REPO)

    steps = measure_steps(binary, env, args)
    burst = warming = None
    if bench_database_exists(env):
        burst = [measure_burst(binary, env, args, args.burst_pause_ms),
                 measure_burst(binary, env, args, 0)]
        warming = {warm: measure_warming(binary, env, args, warm) for warm in (False, True)}
        print("warming", warming, flush=True)
    else:
        print("[bench] no wump_bench_small database: the burst is skipped "
              "(`just bench-data small` generates it)", flush=True)
    if args.debug:
        return
    write_report(steps, args)
    write_burst(burst, args)
    write_warming(warming, args)


def provenance():
    commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True,
                            text=True, cwd=REPO).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, cwd=REPO).stdout.strip()
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    server_core, wrk_core = cores()
    pinning = (f"wump-api (1 HTTP worker) pinned to core {server_core}, wrk to core {wrk_core}; "
               "PostgreSQL and Valkey unpinned" if server_core else "nothing pinned (one core)")
    machine = (f"{platform.machine()}, {os.cpu_count()} cores ({pinning}), load average at the "
               f"end {load}, Linux {platform.release()}, {rustc}")
    return now, commit + ("+dirty" if dirty else ""), machine


def replace_section(start, end, section, heading):
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = head + section + tail
    else:
        text = text.rstrip() + f"\n\n{heading}\n\n" + section + "\n"
    DOC.write_text(text)
    print(section)


def write_report(steps, args):
    now, commit, machine = provenance()
    final = steps[STEPS[-1][0]]
    lines = [
        START,
        f"Measured {now} at commit `{commit}` (`just bench-api`): release build, "
        f"{args.dependents:,} dependents, wrk -c{args.connections} -d{args.duration}s per "
        f"endpoint, one after the other, a fresh server per step; the JSON page is "
        f"{final['body']:,} bytes. Machine: {machine}.",
        "",
        "| step | endpoint | requests/s | p50 | p99 | req/s ÷ `/health` | non-2xx |",
        "|---|---|---|---|---|---|---|",
    ]
    for step, what, _ in STEPS:
        runs = steps[step]["runs"]
        base = runs["baseline"]
        for name, _, endpoint in ENDPOINTS:
            r = runs[name]
            lines.append(
                f"| {what} | {endpoint} | {r['rps']:,.0f} | {r['p50']:.2f} ms | "
                f"{r['p99']:.2f} ms | {r['rps'] / base['rps']:.2f}× | {r['non2xx']} |")
    ratio = lambda step, name: steps[step]["runs"][name]["rps"] / steps[step]["runs"]["baseline"]["rps"]
    cached, uncached = final["runs"]["cached"], final["runs"]["uncached"]
    lines += [
        "",
        "Each step against `/health` of the same server, the public cached read (rate limit + "
        "cache HIT; goal ≥ 0.5×) and the cache alone: "
        + "; ".join(f"{step} {ratio(step, 'public'):.2f}× and {ratio(step, 'cached'):.2f}×"
                    for step, _, _ in STEPS) + ".",
        f"The package's HTML page (`GET {PAGE}`, {final['page_bytes']:,} bytes: who to ask and "
        f"the first 30 dependents), through the same guard and cache: "
        f"{final['runs']['page']['rps']:,.0f} requests/s, p99 {final['runs']['page']['p99']:.2f} ms, "
        f"{final['runs']['page']['rps'] / final['runs']['public']['rps']:.2f}× the JSON page's "
        f"public route (goal: about the same).",
        f"Cache HIT vs PostgreSQL: {cached['rps'] / uncached['rps']:.1f}× the requests/s. "
        f"Cache HITs counted by /metrics in the last step: {final['hits']:,}.",
        f"Resident memory of wump-api: {final['idle'] / 1024:.0f} MiB idle after warm-up, "
        f"{max(s['peak'] for s in steps.values()) / 1024:.0f} MiB at the highest peak of any "
        f"step (goal < 64 MiB). SIGTERM: graceful stop, exit 0 every time.",
        END,
    ]
    replace_section(START, END, "\n".join(lines), "## HTTP API")


def write_burst(burst, args):
    now, commit, machine = provenance()
    if burst is None:
        body = ("Not measured in the last run: `just bench-data small` generates the dataset "
                "it needs.")
    else:
        paced, saturated = burst
        errors = paced["non2xx"] + paced["socket_errors"]
        verdict = "met" if errors == 0 and paced["p99"] < 50 else "missed"
        offered = args.burst_connections * 1000 / max(args.burst_pause_ms, 1)
        row = lambda name, r: (
            f"| {name} | {r['seconds']} s | {r['requests']:,} | {r['rps']:,.0f} | "
            f"{r['p50']:.1f} ms | {r['p90']:.1f} ms | {r['p99']:.1f} ms | {r['max']:.0f} ms | "
            f"{r['non2xx'] + r['socket_errors']} | {r['peak'] / 1024:.0f} MiB |")
        body = "\n".join([
            f"Measured {now} at commit `{commit}` (`just bench-api`): release build against "
            f"`wump_bench_small` (1 M edges), {args.burst_connections} connections opened at "
            f"once; 80 % of requests over the first dependents page of the {paced['hot']} most "
            f"depended-upon packages (warmed: HITs), 20 % over {paced['cold']:,} pages never "
            f"asked before (MISSes, read from PostgreSQL). Machine: {machine}.",
            "",
            "| clients | run | requests | requests/s | p50 | p90 | p99 | max | errors | api peak RSS |",
            "|---|---|---|---|---|---|---|---|---|---|",
            row(f"each pausing {args.burst_pause_ms} ms between requests (≤ {offered:,.0f} "
                "requests/s offered)", paced),
            row("as fast as answered (saturation)", saturated),
            "",
            f"Goal for the burst: 0 errors and p99 < 50 ms: {verdict} (p99 "
            f"{paced['p99']:.1f} ms, {errors} errors). The saturation run shows the ceiling: "
            f"{args.burst_connections} clients that never pause wait, by Little's law, about "
            f"{args.burst_connections} ÷ {saturated['rps']:,.0f} requests/s = "
            f"{args.burst_connections / saturated['rps'] * 1000:.0f} ms each on average, on "
            "two cores that also run wrk, PostgreSQL and Valkey.",
        ])
    replace_section(BURST_START, BURST_END, f"{BURST_START}\n{body}\n{BURST_END}",
                    "## A burst of 510 connections")


def write_warming(warming, args):
    now, commit, machine = provenance()
    if warming is None:
        body = ("Not measured in the last run: `just bench-data small` generates the dataset "
                "it needs.")
    else:
        off, on = warming[False], warming[True]
        ratio = lambda r: r["counts"]["MISS"] / max(r["total"], 1)
        early = lambda r: r["after_bump"]["MISS"] / max(sum(r["after_bump"].values()), 1)
        rows = [
            f"| {name} | {r['total']:,} | {r['counts']['HIT']:,} | {r['counts']['MISS']:,} | "
            f"{ratio(r):.2%} | {early(r):.2%} | {r['warmed']:,} |"
            for name, r in (("off (`api.cache.warm = false`)", off), ("on (the default)", on))
        ]
        body = "\n".join([
            f"Measured {now} at commit `{commit}` (`just bench-api`): release build against "
            f"`wump_bench_small`, 8 readers pausing 20 ms between requests (each hot answer "
            f"asked a few times a second) for {args.warm_seconds} s over {on['keys']} hot "
            f"answers (the package page and first dependents page of the 50 most depended-upon "
            f"packages, each asked for before the run), while every one of those packages has "
            f"its cache version bumped every 10 s ({on['bumps']} bumps each), as a crawl that "
            f"touches them would. Machine: {machine}.",
            "",
            "| warming | answers | HIT | MISS | miss ratio | miss ratio in the second after a bump | rendered by warming |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
            "A MISS with warming on is a reader that came while its answer was being rendered "
            "(it waits for that render instead of running its own).",
        ])
    replace_section(WARM_START, WARM_END, f"{WARM_START}\n{body}\n{WARM_END}",
                    "## Cache warming")


if __name__ == "__main__":
    main()
