#!/usr/bin/env python3
"""How much of each parser module the fuzz corpora reach: `fuzz/coverage.py [TARGET...]`.

Builds the targets with AddressSanitizer into fuzz/target/asan (its runtime is what lets
libFuzzer name functions and lines; the stable toolchain accepts the flag with
RUSTC_BOOTSTRAP=1), replays each target's corpus once (`-runs=0 -print_coverage=1`; a
memory error in a dependency's unsafe code would show here too), and prints, per source
file of crates/manifests/src, the instrumented edges the best target reached.
Edges of functions the optimiser inlined count towards their caller's file.
"""

import collections
import os
import pathlib
import re
import subprocess
import sys

FUZZ = pathlib.Path(__file__).resolve().parent
BIN = FUZZ / "target/asan/x86_64-unknown-linux-gnu/release"
FUNC = re.compile(r"^(?:UN)?COVERED_FUNC: hits: \d+ edges: (\d+)/(\d+) .* (\S+):\d+$")
MANIFEST = "/crates/manifests/src/"


def run(target):
    """{manifest file: [covered edges, all edges]} for one target, and whether ASan spoke."""
    dirs = [d for d in (FUZZ / "corpus" / target, FUZZ / "target/seeds" / target) if d.is_dir()]
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    out = subprocess.run(
        [BIN / target, "-runs=0", "-print_coverage=1", *dirs],
        capture_output=True,
        text=True,
        env=env,
    ).stderr
    files = collections.defaultdict(lambda: [0, 0])
    for line in out.splitlines():
        match = FUNC.match(line)
        if match and MANIFEST in match[3]:
            name = match[3].split(MANIFEST, 1)[1]
            files[name][0] += int(match[1])
            files[name][1] += int(match[2])
    return files, "ERROR: AddressSanitizer" in out


def main():
    targets = sys.argv[1:] or sorted(p.stem for p in (FUZZ / "fuzz_targets").glob("*.rs"))
    subprocess.run(
        ["cargo", "fuzz", "build", "--sanitizer", "address", "--target-dir", "target/asan"],
        cwd=FUZZ,
        env=dict(os.environ, RUSTC_BOOTSTRAP="1"),
        check=True,
    )
    best = {}
    for target in targets:
        files, asan_error = run(target)
        covered = sum(c for c, _ in files.values() if c)
        total = sum(t for c, t in files.values() if c)
        print(f"{target}: {covered}/{total} edges in the manifest files it reaches", end="")
        print(" — AddressSanitizer reported an error" if asan_error else "")
        for name, (c, t) in files.items():
            if c and (name not in best or c > best[name][0]):
                best[name] = (c, t, target)
    print("\n| file (crates/manifests/src/) | edges reached | of | best target |")
    print("|---|---|---|---|")
    for name, (c, t, target) in sorted(best.items()):
        print(f"| {name} | {c} ({100 * c / t:.0f} %) | {t} | {target} |")


if __name__ == "__main__":
    main()
