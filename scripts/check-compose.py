#!/usr/bin/env python3
"""Static checks of compose.yaml, since Docker cannot run everywhere we test.

- the file parses as YAML and has a non-empty `services` mapping;
- every service has an `image` or a `build`;
- every `depends_on` names an existing service (and a known condition); a dependency on
  `service_healthy` points at a service with a healthcheck;
- every named volume a service mounts is declared under `volumes`;
- every `build` names a Dockerfile that exists and, with `target`, a stage it defines;
- every `image` names a pinned tag (no `latest`, no bare name), so the stack does not
  change under you;
- a service outside any profile depends only on services outside profiles (compose
  refuses to start otherwise when the profile is off);
- every bind-mounted host path exists (collector and Prometheus configs);
- every URL in a service's environment (database, Valkey, OTLP endpoint, defaults of
  ${VAR:-default} included) points at a service of this file;
- a service with several replicas publishes no fixed host port (they would clash);
- api and worker get a stop_grace_period longer than their own shutdown grace
  (api.shutdown_timeout_secs, worker.shutdown_grace_secs in config/default.toml, or the
  service's WUMP__ override), so SIGKILL never cuts in-flight work short.

The Dockerfile's build command is checked against the justfile by
scripts/check-docker-drift.py.

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


URL_RE = re.compile(r"\b[a-z][a-z0-9+.-]*://(?:[^@/\s]*@)?([A-Za-z0-9_.-]+)(?::\d+)?")
INTERP_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")
GRACE = {"api": ("api", "shutdown_timeout_secs"), "worker": ("worker", "shutdown_grace_secs")}


def default_setting(section, key):
    """The default of `section.key` as config/default.toml documents it (commented out)."""
    current = None
    with open(os.path.join(ROOT, "config", "default.toml"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            m = re.match(r"#?\s*\[([a-z_.]+)\]$", line)
            if m:
                current = m.group(1)
                continue
            m = re.match(r"#\s*" + key + r"\s*=\s*(\S+)", line)
            if m and current == section:
                return m.group(1).strip('"')
    return None


def seconds(value):
    m = re.fullmatch(r"(\d+)(s|m)?", str(value).strip())
    if not m:
        return None
    return int(m.group(1)) * (60 if m.group(2) == "m" else 1)


def env_items(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return env


def check_more(doc, errors):
    services = doc.get("services") or {}
    for name, svc in services.items():
        if not isinstance(svc, dict):
            continue
        where = f"service {name!r}"

        image = svc.get("image")
        if image is not None and "build" not in svc:
            ref = str(image).rsplit("/", 1)[-1]
            if "@sha256:" not in ref and (":" not in ref or ref.endswith(":latest")):
                errors.append(f"{where}: image {image!r} is not pinned to a tag")

        if not svc.get("profiles"):
            deps = svc.get("depends_on") or {}
            for dep in deps:
                if dep in services and (services[dep] or {}).get("profiles"):
                    errors.append(f"{where} (no profile) depends on {dep!r}, which only runs with "
                                  f"profile(s) {services[dep]['profiles']}")

        for vol in svc.get("volumes") or []:
            source = vol.get("source") if isinstance(vol, dict) else str(vol).split(":")[0]
            if source and source.startswith((".", "/")):
                if not os.path.exists(os.path.join(ROOT, source)):
                    errors.append(f"{where} mounts {source!r}, which does not exist")

        for key, value in env_items(svc).items():
            value = INTERP_RE.sub(lambda m: m.group(2) or "", str(value))
            for m in URL_RE.finditer(value):
                host = m.group(1)
                if host not in services and host not in ("localhost", "127.0.0.1"):
                    errors.append(f"{where}: {key} points at {host!r}, which is not a service")

        replicas = str(((svc.get("deploy") or {}).get("replicas", 1)))
        if replicas != "1":
            for port in svc.get("ports") or []:
                published = port.get("published") if isinstance(port, dict) else str(port).rsplit(":", 1)[0]
                if published:
                    errors.append(f"{where} runs {replicas} replicas but publishes host port {port!r}")

        binary = grace_binary(svc)
        if binary:
            section, key = GRACE[binary]
            override = env_items(svc).get(f"WUMP__{section.upper()}__{key.upper()}")
            grace = seconds(override or default_setting(section, key) or "")
            stop = seconds(svc.get("stop_grace_period", "10s"))
            if grace is not None and stop is not None and stop <= grace:
                errors.append(f"{where}: stop_grace_period {stop}s must exceed {section}.{key} "
                              f"({grace}s) or SIGKILL cuts in-flight work short")


def grace_binary(svc):
    """"api" or "worker" for a long-running wump service, else None."""
    build = svc.get("build")
    target = build.get("target") if isinstance(build, dict) else None
    command = svc.get("command") or []
    command = command.split() if isinstance(command, str) else command
    if target == "api" and command[:1] in ([], ["serve"]):
        return "api"
    if target == "worker" and command[:1] in ([], ["run"]):
        return "worker"
    return None


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
    if not errors:
        check_more(doc, errors)
    for e in errors:
        print(f"{os.path.relpath(path, ROOT)}: {e}", file=sys.stderr)
    if not errors:
        print(f"{os.path.relpath(path, ROOT)}: OK ({len(doc['services'])} services)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
