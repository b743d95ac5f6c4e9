#!/usr/bin/env python3
"""The images build and start wump the way the rest of the repository does (no drift),
checked statically since there is no Docker engine everywhere we test.

deploy/docker/Dockerfile against the justfile, the workspace and the settings:
- the builder stage runs the justfile's `release_build` command word for word, and its
  `cargo chef cook` uses the same profile, --locked and --bin list (else the cached
  dependency layer is built for something else and the real build compiles it again);
- ARG RUST_VERSION is at least the workspace's rust-version (Cargo.toml);
- every binary release_build names is copied into an image stage whose ENTRYPOINT runs
  it; each image stage runs as a non-root USER, has a HEALTHCHECK and STOPSIGNAL SIGTERM,
  and its default CMD is not `migrate` (migrations only run when asked for);
- each image's ENV WUMP__*__BIND port is the port it EXPOSEs.

Settings named in deployment files (Dockerfile, compose.yaml, deploy/tofu, the CI
workflow) exist: WUMP__SECTION__KEY must be a key of config/default.toml (providers keys:
a field in crates/providers/src/config.rs). Keys the code does not have yet are listed in
PENDING and reported, not failed: a binary given an unknown key refuses to start.

The CI workflow builds the Dockerfile's api and worker stages.

Usage: check-docker-drift.py [ROOT]   (tests pass a broken copy of the repository)
"""

import os
import re
import sys

PENDING = {
    # Being added to wump-api (the bootstrap admin key and the read pool); the deployment
    # already wires them. Remove from here once config/default.toml lists them.
    "WUMP__API__ADMIN_KEY": "bootstrap admin API key (api)",
    "WUMP__DATABASE__READ_URL": "read replica pool (api)",
}


def read(root, path):
    with open(os.path.join(root, path), encoding="utf-8") as f:
        return f.read()


def dockerfile_stages(text):
    """[(name, base, [(instruction, args)])] with line continuations joined."""
    joined = re.sub(r"\\\n", " ", text)
    stages = []
    args = {}
    for raw in joined.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        rest = rest.strip()
        if word == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", rest, re.IGNORECASE)
            stages.append((m.group(2).lower() if m.group(2) else str(len(stages)), m.group(1), []))
        elif stages:
            stages[-1][2].append((word, rest))
        elif word == "ARG":
            name, _, value = rest.partition("=")
            args[name] = value
    return stages, args


def release_build(root, errors):
    m = re.search(r'^release_build := "([^"]+)"', read(root, "justfile"), re.MULTILINE)
    if not m:
        errors.append("justfile: no release_build variable")
        return None
    return m.group(1)


def flags(cmd):
    words = cmd.split()
    bins = [words[i + 1] for i, w in enumerate(words[:-1]) if w == "--bin"]
    return {
        "release": "--release" in words,
        "locked": "--locked" in words,
        "bins": sorted(bins),
        "features": [w for w in words if w.startswith("--features") or w == "--all-features"],
    }


def version_tuple(v):
    return tuple(int(x) for x in re.findall(r"\d+", v)[:3])


def check_dockerfile(root, errors):
    path = "deploy/docker/Dockerfile"
    text = read(root, path)
    stages, args = dockerfile_stages(text)
    by_name = {name: (base, instr) for name, base, instr in stages}
    cmd = release_build(root, errors)
    if cmd is None:
        return by_name

    runs = [(name, rest) for name, _, instr in stages for word, rest in instr if word == "RUN"]
    if not any(rest == cmd for _, rest in runs):
        errors.append(f"{path}: no stage runs `{cmd}` (the justfile's release_build): the image "
                      "would not be what `just build-release` builds")
    want = flags(cmd)
    cooks = [rest for _, rest in runs if rest.startswith("cargo chef cook")]
    if not cooks:
        errors.append(f"{path}: no `cargo chef cook` step (dependencies would not be cached)")
    for cook in cooks:
        got = flags(cook)
        for key in ("release", "locked", "bins", "features"):
            if got[key] != want[key]:
                errors.append(f"{path}: `cargo chef cook` {key} {got[key]} differs from release_build's "
                              f"{want[key]}: the cached dependency layer would not be reused")

    rust = args.get("RUST_VERSION", "")
    m = re.search(r'^rust-version\s*=\s*"([^"]+)"', read(root, "Cargo.toml"), re.MULTILINE)
    if not rust:
        errors.append(f"{path}: no ARG RUST_VERSION")
    elif m and version_tuple(rust) < version_tuple(m.group(1)):
        errors.append(f"{path}: RUST_VERSION {rust} is older than the workspace rust-version {m.group(1)}")

    # Image stages: those whose ENTRYPOINT runs one of the release binaries.
    for binary in want["bins"]:
        image = [
            (name, instr) for name, (base, instr) in by_name.items()
            if any(w == "ENTRYPOINT" and binary in r for w, r in instr)
        ]
        if not image:
            errors.append(f"{path}: no stage has ENTRYPOINT running {binary}")
            continue
        for name, instr in image:
            where = f"{path} stage {name!r}"
            if not any(w == "COPY" and f"target/release/{binary}" in r for w, r in instr):
                errors.append(f"{where}: does not COPY target/release/{binary} from the build")
            inherited = effective(by_name, name)
            users = [r for w, r in inherited if w == "USER"]
            if not users or users[-1].split(":")[0] in ("root", "0"):
                errors.append(f"{where}: runs as root (add a USER)")
            if not any(w == "HEALTHCHECK" for w, _ in inherited):
                errors.append(f"{where}: no HEALTHCHECK")
            if not any(w == "STOPSIGNAL" and r == "SIGTERM" for w, r in inherited):
                errors.append(f"{where}: no STOPSIGNAL SIGTERM (graceful shutdown)")
            cmds = [r for w, r in instr if w == "CMD"]
            if cmds and "migrate" in cmds[-1]:
                errors.append(f"{where}: default CMD runs migrate; migrations run only when asked for")
            env_ports = [m.group(1) for w, r in inherited if w == "ENV"
                         for m in re.finditer(r"WUMP__\w+__\w*BIND=\S+:(\d+)", r)]
            exposed = [r.split("/")[0] for w, r in inherited if w == "EXPOSE"]
            if env_ports and exposed and env_ports[-1] not in exposed:
                errors.append(f"{where}: binds port {env_ports[-1]} but EXPOSEs {', '.join(exposed)}")
    return by_name


def effective(by_name, name, seen=None):
    """Instructions of a stage including those of the stages it is built FROM."""
    seen = seen or set()
    if name not in by_name or name in seen:
        return []
    seen.add(name)
    base, instr = by_name[name]
    return effective(by_name, base.lower(), seen) + instr


def settings_keys(root):
    """{"section": {keys}} from config/default.toml (keys are listed commented out)."""
    keys = {}
    section = None
    for line in read(root, "config/default.toml").splitlines():
        m = re.match(r"#?\s*\[([a-z_.]+)\]\s*$", line.strip())
        if m:
            section = m.group(1)
            keys.setdefault(section.split(".")[0], set()).add(section.split(".")[1] if "." in section else "")
            continue
        m = re.match(r"#\s*([a-z_]+)\s*=", line.strip())
        if m and section:
            keys.setdefault(section.split(".")[0], set()).add(m.group(1) if "." not in section else section.split(".")[1])
    return keys


def provider_fields(root):
    path = os.path.join(root, "crates/providers/src/config.rs")
    if not os.path.exists(path):
        return set()
    return set(re.findall(r"^\s*pub ([a-z_]+):", read(root, "crates/providers/src/config.rs"), re.MULTILINE))


def deployment_files(root):
    files = ["deploy/docker/Dockerfile", "compose.yaml", ".github/workflows/ci.yml"]
    for dirpath, _, names in os.walk(os.path.join(root, "deploy")):
        files += [os.path.relpath(os.path.join(dirpath, n), root) for n in names
                  if n.endswith((".tf", ".tfvars.example", ".yaml", ".yml"))]
    return sorted(f for f in set(files) if os.path.exists(os.path.join(root, f)))


def check_settings_names(root, errors, notes):
    keys = settings_keys(root)
    providers = provider_fields(root)
    seen_pending = set()
    for f in deployment_files(root):
        for n, line in enumerate(read(root, f).splitlines(), 1):
            for m in re.finditer(r"\bWUMP__([A-Z0-9_]+?)__([A-Z0-9_]+)\b", line):
                var = m.group(0)
                section, key = m.group(1).lower(), m.group(2).lower()
                if var in PENDING:
                    seen_pending.add(var)
                    continue
                if section == "providers":
                    last = key.split("__")[-1]
                    ok = last in providers
                else:
                    first = key.split("__")[0]
                    ok = section in keys and first in keys[section]
                if not ok:
                    errors.append(f"{f}:{n}: {var} is not a wump setting (config/default.toml); "
                                  "the binaries refuse unknown keys")
    for var in sorted(seen_pending):
        notes.append(f"pending: {var} ({PENDING[var]}) is wired in the deployment but not in "
                     "config/default.toml yet")


def check_ci_builds(root, stages, errors):
    path = ".github/workflows/ci.yml"
    if not os.path.exists(os.path.join(root, path)):
        errors.append(f"{path} is missing")
        return
    text = read(root, path)
    built = set(re.findall(r"\btarget:\s*([A-Za-z0-9_-]+)\s*$", text, re.MULTILINE))
    for m in re.finditer(r"\btarget:\s*\[([^\]]*)\]", text):
        built.update(x.strip().strip("'\"") for x in m.group(1).split(",") if x.strip())
    for target in ("api", "worker"):
        if target not in built:
            errors.append(f"{path}: does not build the Dockerfile's {target!r} stage")
    for target in sorted(built - set(stages)):
        errors.append(f"{path}: builds stage {target!r}, which deploy/docker/Dockerfile does not define")
    for m in re.finditer(r"\bfile:\s*(\S+)", text):
        if not os.path.exists(os.path.join(root, m.group(1))):
            errors.append(f"{path}: builds {m.group(1)}, which does not exist")


def run(root):
    errors, notes = [], []
    stages = check_dockerfile(root, errors)
    check_settings_names(root, errors, notes)
    check_ci_builds(root, stages, errors)
    return errors, notes


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    errors, notes = run(root)
    for n in notes:
        print(n)
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        return 1
    print("deploy/docker/Dockerfile: OK (builds with release_build, images fit the settings and CI)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
