#!/usr/bin/env python3
"""Static checks of compose.yaml, since Docker cannot run everywhere we test.

- the file parses as YAML and has a non-empty `services` mapping;
- every service has an `image` or a `build`;
- every `depends_on` names an existing service (and a known condition); a dependency on
  `service_healthy` points at a service with a healthcheck;
- every named volume a service mounts is declared under `volumes`;
- every `build` names a Dockerfile that exists and, with `target`, a stage it defines;
- deploy/docker/Dockerfile builds with the justfile's `release_build` command.

PyYAML comes from the interpreter, else from .tools/py (installed there when missing).
"""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = os.path.join(ROOT, ".tools", "py")
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


def load_yaml_module():
    try:
        import yaml  # noqa: PLC0415

        return yaml
    except ImportError:
        pass
    sys.path.insert(0, TOOLS)
    try:
        import yaml  # noqa: PLC0415

        return yaml
    except ImportError:
        pass
    print("installing PyYAML into .tools/py", file=sys.stderr)
    env = dict(os.environ, PIP_ROOT_USER_ACTION="ignore")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--target", TOOLS, "pyyaml"],
        check=True, env=env, stdout=sys.stderr,
    )
    import importlib

    importlib.invalidate_caches()
    import yaml  # noqa: PLC0415

    return yaml


def dockerfile_stages(path):
    stages = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"\s*FROM\s+\S+\s+AS\s+(\S+)", line, re.IGNORECASE)
            if m:
                stages.add(m.group(1).lower())
    return stages


def check(doc, errors):
    if not isinstance(doc, dict):
        errors.append("top level is not a mapping")
        return
    services = doc.get("services")
    if not isinstance(services, dict) or not services:
        errors.append("no services")
        return
    declared_volumes = set((doc.get("volumes") or {}).keys())
    for name, svc in services.items():
        where = f"service {name!r}"
        if not isinstance(svc, dict):
            errors.append(f"{where} is not a mapping")
            continue
        if "image" not in svc and "build" not in svc:
            errors.append(f"{where} has neither image nor build")

        deps = svc.get("depends_on") or {}
        if isinstance(deps, list):
            deps = {d: {"condition": "service_started"} for d in deps}
        if not isinstance(deps, dict):
            errors.append(f"{where}: depends_on is neither a list nor a mapping")
            deps = {}
        for dep, spec in deps.items():
            if dep not in services:
                errors.append(f"{where} depends on unknown service {dep!r}")
                continue
            if dep == name:
                errors.append(f"{where} depends on itself")
            cond = (spec or {}).get("condition", "service_started")
            if cond not in CONDITIONS:
                errors.append(f"{where}: unknown depends_on condition {cond!r}")
            if cond == "service_healthy" and "healthcheck" not in services[dep]:
                errors.append(f"{where} waits for {dep!r} to be healthy but it has no healthcheck")

        for vol in svc.get("volumes") or []:
            source = vol.get("source") if isinstance(vol, dict) else str(vol).split(":")[0]
            if isinstance(vol, dict) and vol.get("type", "volume") != "volume":
                continue
            if source and not source.startswith((".", "/", "~", "$")) and source not in declared_volumes:
                errors.append(f"{where} mounts undeclared volume {source!r}")

        build = svc.get("build")
        if build is not None:
            if isinstance(build, str):
                build = {"context": build}
            context = os.path.join(ROOT, build.get("context", "."))
            dockerfile = os.path.join(context, build.get("dockerfile", "Dockerfile"))
            if not os.path.isfile(dockerfile):
                errors.append(f"{where}: Dockerfile {os.path.relpath(dockerfile, ROOT)} is missing")
            elif build.get("target") and build["target"].lower() not in dockerfile_stages(dockerfile):
                errors.append(f"{where}: {os.path.relpath(dockerfile, ROOT)} has no stage {build['target']!r}")


def check_release_command(errors):
    """The Dockerfile builds with the justfile's `release_build` command, word for word."""
    with open(os.path.join(ROOT, "justfile"), encoding="utf-8") as f:
        m = re.search(r'^release_build := "([^"]+)"', f.read(), re.MULTILINE)
    if not m:
        errors.append("justfile: no release_build variable")
        return
    with open(os.path.join(ROOT, "deploy", "docker", "Dockerfile"), encoding="utf-8") as f:
        if f"RUN {m.group(1)}" not in f.read():
            errors.append(f"deploy/docker/Dockerfile does not build with `{m.group(1)}` (justfile release_build)")


def main():
    path = os.path.join(ROOT, sys.argv[1] if len(sys.argv) > 1 else "compose.yaml")
    yaml = load_yaml_module()
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        print(f"{os.path.relpath(path, ROOT)}: {e}", file=sys.stderr)
        return 1
    errors = []
    check(doc, errors)
    check_release_command(errors)
    for e in errors:
        print(f"{os.path.relpath(path, ROOT)}: {e}", file=sys.stderr)
    if not errors:
        print(f"{os.path.relpath(path, ROOT)}: OK ({len(doc['services'])} services)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
