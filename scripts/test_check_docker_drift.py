"""check-docker-drift.py complains about each drift it is meant to catch: every test
breaks one file in a temporary copy of the repository's relevant files.

Run: python3 -m unittest discover -s scripts -p 'test_check_*.py'
"""

import importlib.util
import os
import shutil
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
spec = importlib.util.spec_from_file_location("check_docker_drift", os.path.join(HERE, "check-docker-drift.py"))
drift = importlib.util.module_from_spec(spec)
spec.loader.exec_module(drift)

FILES = ["justfile", "Cargo.toml", "compose.yaml", "config/default.toml",
         "crates/providers/src/config.rs", ".github/workflows/ci.yml"]


class DriftChecks(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="wump-drift-")
        for f in FILES:
            os.makedirs(os.path.dirname(os.path.join(self.root, f)) or self.root, exist_ok=True)
            shutil.copyfile(os.path.join(ROOT, f), os.path.join(self.root, f))
        shutil.copytree(os.path.join(ROOT, "deploy"), os.path.join(self.root, "deploy"))

    def tearDown(self):
        shutil.rmtree(self.root)

    def edit(self, path, old, new):
        path = os.path.join(self.root, path)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        self.assertIn(old, text, f"test setup: {old!r} not in {path}")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace(old, new, 1))

    def assertComplains(self, text):
        errors, _ = drift.run(self.root)
        self.assertTrue(any(text in e for e in errors), f"no {text!r} in {errors}")

    def test_repository_passes(self):
        errors, notes = drift.run(self.root)
        self.assertEqual(errors, [])

    def test_justfile_build_command_changed(self):
        self.edit("justfile", '--bin wump-api --bin wump-worker"', '--bin wump-api --bin wump-worker --features otel"')
        self.assertComplains("no stage runs `cargo build --release --locked --bin wump-api --bin wump-worker --features otel`")
        self.assertComplains("`cargo chef cook` features")

    def test_dockerfile_build_command_changed(self):
        self.edit("deploy/docker/Dockerfile", "RUN cargo build --release --locked --bin wump-api --bin wump-worker",
                  "RUN cargo build --release --bin wump-api --bin wump-worker")
        self.assertComplains("no stage runs `cargo build --release --locked")

    def test_cook_builds_other_binaries(self):
        self.edit("deploy/docker/Dockerfile", "--recipe-path recipe.json --bin wump-api --bin wump-worker",
                  "--recipe-path recipe.json --bin wump-api")
        self.assertComplains("`cargo chef cook` bins ['wump-api'] differs")

    def test_rust_older_than_the_workspace(self):
        self.edit("deploy/docker/Dockerfile", "ARG RUST_VERSION=1.95", "ARG RUST_VERSION=1.80")
        self.assertComplains("RUST_VERSION 1.80 is older than the workspace rust-version")

    def test_image_running_as_root(self):
        self.edit("deploy/docker/Dockerfile", "USER wump:wump\n", "")
        self.assertComplains("stage 'api': runs as root")

    def test_default_command_migrates(self):
        self.edit("deploy/docker/Dockerfile", 'CMD ["serve"]', 'CMD ["migrate"]')
        self.assertComplains("default CMD runs migrate")

    def test_missing_healthcheck(self):
        path = os.path.join(self.root, "deploy/docker/Dockerfile")
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        # The worker's is the last HEALTHCHECK (two lines: the instruction and its CMD).
        start = max(i for i, ln in enumerate(lines) if ln.startswith("HEALTHCHECK"))
        del lines[start:start + 2]
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
        self.assertComplains("stage 'worker': no HEALTHCHECK")

    def test_exposed_port_differs_from_bind(self):
        self.edit("deploy/docker/Dockerfile", "EXPOSE 8081", "EXPOSE 9000")
        self.assertComplains("binds port 8081 but EXPOSEs 9000")

    def test_unknown_setting_in_compose(self):
        self.edit("compose.yaml", "WUMP__API__BIND: 0.0.0.0:8080", "WUMP__API__LISTEN: 0.0.0.0:8080")
        self.assertComplains("compose.yaml:")
        self.assertComplains("WUMP__API__LISTEN is not a wump setting")

    def test_unknown_setting_in_tofu(self):
        self.edit("deploy/tofu/modules/compute/main.tf", "WUMP__WORKER__SHUTDOWN_GRACE_SECS",
                  "WUMP__WORKER__GRACE_SECS")
        self.assertComplains("WUMP__WORKER__GRACE_SECS is not a wump setting")

    def test_unknown_provider_setting(self):
        self.edit("deploy/tofu/modules/compute/main.tf", "WUMP__PROVIDERS__GITHUB__TOKENS",
                  "WUMP__PROVIDERS__GITHUB__TOKEN_LIST")
        self.assertComplains("WUMP__PROVIDERS__GITHUB__TOKEN_LIST is not a wump setting")

    def test_pending_settings_are_reported_not_failed(self):
        errors, notes = drift.run(self.root)
        self.assertFalse(any("ADMIN_KEY" in e for e in errors))
        self.assertTrue(any("WUMP__API__ADMIN_KEY" in n for n in notes))

    def test_ci_stops_building_the_worker(self):
        self.edit(".github/workflows/ci.yml", "target: [api, worker]", "target: [api]")
        self.assertComplains("does not build the Dockerfile's 'worker' stage")

    def test_ci_builds_a_stage_that_does_not_exist(self):
        self.edit(".github/workflows/ci.yml", "target: [api, worker]", "target: [api, worker, cli]")
        self.assertComplains("builds stage 'cli', which deploy/docker/Dockerfile does not define")


if __name__ == "__main__":
    unittest.main()
