#!/usr/bin/env python3
"""Writes the lockfile parser figures into docs/benchmarks.md.

Usage: scripts/bench-report.py CRITERION_DIR [BENCH_OUTPUT]

Reads criterion's estimates (CRITERION_DIR/<group>/<benchmark>/new/estimates.json and
benchmark.json) of crates/manifests/benches/parsers.rs, and the `input ...` lines that bench
prints (BENCH_OUTPUT, default CRITERION_DIR/parsers.log), then replaces the part of
docs/benchmarks.md between the bench-parsers markers (or appends it).
"""

import datetime
import json
import os
import pathlib
import platform
import re
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent
DOC = REPO / "docs/benchmarks.md"
START = "<!-- bench-parsers:start (written by `just bench-parsers`) -->"
END = "<!-- bench-parsers:end -->"

# (criterion group, what it reads, our benchmark, the baseline, what the baseline does)
GROUPS = [
    (
        "package_lock_v3",
        "package-lock.json v3",
        "wump",
        "baseline_serde_json_value",
        "`serde_json::from_slice::<Value>`",
    ),
    (
        "cargo_lock_v4",
        "Cargo.lock v4",
        "wump",
        "baseline_toml_table",
        "`toml::from_str::<toml::Table>`",
    ),
]


def estimate(criterion, group, bench):
    base = criterion / group / bench / "new"
    estimates = json.loads((base / "estimates.json").read_text())
    meta = json.loads((base / "benchmark.json").read_text())
    throughput = meta.get("throughput") or {}
    size = throughput.get("Bytes") or throughput.get("BytesDecimal")
    if size is None:
        sys.exit(f"{base}/benchmark.json has no byte throughput")
    mean = estimates["mean"]
    return {
        "bytes": size,
        "mean_s": mean["point_estimate"] / 1e9,
        "low_s": mean["confidence_interval"]["lower_bound"] / 1e9,
        "high_s": mean["confidence_interval"]["upper_bound"] / 1e9,
        "median_s": estimates["median"]["point_estimate"] / 1e9,
    }


def command(*args):
    try:
        return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_model():
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def section(criterion, log):
    inputs = {}
    if log.exists():
        for match in re.finditer(r"^input (\w+): (\d+) bytes, (\d+) dependencies", log.read_text(), re.M):
            inputs[match[1]] = int(match[3])
    rows = []
    for group, label, ours, baseline, baseline_label in GROUPS:
        mine, base = estimate(criterion, group, ours), estimate(criterion, group, baseline)
        mb = mine["bytes"] / 1e6
        packages = f"{inputs[group]:,}" if group in inputs else "?"
        rows.append(
            f"| {label} | {mb:.1f} MB, {packages} deps "
            f"| {mb / mine['mean_s']:.0f} MB/s ({mine['mean_s'] * 1e3:.1f} ms, "
            f"{mine['low_s'] * 1e3:.1f}–{mine['high_s'] * 1e3:.1f}) "
            f"| {baseline_label}: {mb / base['mean_s']:.0f} MB/s ({base['mean_s'] * 1e3:.1f} ms) "
            f"| {mine['mean_s'] / base['mean_s']:.2f}× |"
        )
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    commit = command("git", "-C", str(REPO), "rev-parse", "--short", "HEAD")
    return "\n".join(
        [
            START,
            f"Measured {now} at commit `{commit}` (`just bench-parsers`).",
            "",
            "| input | size | wump | baseline, same bytes, same run | wump time ÷ baseline time |",
            "|---|---|---|---|---|",
            *rows,
            "",
            "MB = 10⁶ bytes; times are criterion's mean with its 95 % confidence interval.",
            f"Machine: {cpu_model()}, {os.cpu_count()} cores shared with other work "
            f"(load average at the end: {load}), {platform.system()} {platform.release()}, "
            f"{command('rustc', '-V')}.",
            END,
        ]
    )


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    criterion = pathlib.Path(sys.argv[1])
    log = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else criterion / "parsers.log"
    new = section(criterion, log)
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        text = before + new + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Lockfile parsers\n\n" + new + "\n"
    DOC.write_text(text)
    print(new)


if __name__ == "__main__":
    main()
