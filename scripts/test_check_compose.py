"""check-compose.py complains about each mistake it is meant to catch: every test breaks
one thing in the parsed compose.yaml and expects that complaint.

Run: python3 -m unittest discover -s scripts -p 'test_check_*.py'
"""

import copy
import importlib.util
import os
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("check_compose", os.path.join(HERE, "check-compose.py"))
check_compose = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_compose)
yaml = check_compose.load_yaml_module()
with open(os.path.join(check_compose.ROOT, "compose.yaml"), encoding="utf-8") as f:
    COMPOSE = yaml.safe_load(f)


class ComposeChecks(unittest.TestCase):
    def setUp(self):
        self.doc = copy.deepcopy(COMPOSE)
        self.svc = self.doc["services"]

    def errors(self):
        errors = []
        check_compose.check(self.doc, errors)
        check_compose.check_more(self.doc, errors)
        return errors

    def assertComplains(self, text):
        errors = self.errors()
        self.assertTrue(any(text in e for e in errors), f"no {text!r} in {errors}")

    def test_repository_file_passes(self):
        self.assertEqual(self.errors(), [])

    def test_dependency_on_unknown_service(self):
        self.svc["api"]["depends_on"]["redis"] = {"condition": "service_healthy"}
        self.assertComplains("service 'api' depends on unknown service 'redis'")

    def test_waiting_for_health_without_healthcheck(self):
        del self.svc["valkey"]["healthcheck"]
        self.assertComplains("waits for 'valkey' to be healthy but it has no healthcheck")

    def test_undeclared_volume(self):
        del self.doc["volumes"]["pgdata"]
        self.assertComplains("mounts undeclared volume 'pgdata'")

    def test_missing_build_stage(self):
        self.svc["worker"]["build"]["target"] = "workers"
        self.assertComplains("has no stage 'workers'")

    def test_unpinned_image(self):
        self.svc["jaeger"]["image"] = "jaegertracing/all-in-one:latest"
        self.assertComplains("image 'jaegertracing/all-in-one:latest' is not pinned")
        self.svc["jaeger"]["image"] = "jaegertracing/all-in-one"
        self.assertComplains("image 'jaegertracing/all-in-one' is not pinned")

    def test_default_service_depending_on_profile_service(self):
        self.svc["api"]["depends_on"]["otel-collector"] = {"condition": "service_started"}
        self.assertComplains("service 'api' (no profile) depends on 'otel-collector'")

    def test_missing_bind_mount(self):
        self.svc["otel-collector"]["volumes"] = ["./deploy/otel/nope.yaml:/etc/otelcol/config.yaml:ro"]
        self.assertComplains("mounts './deploy/otel/nope.yaml', which does not exist")

    def test_url_to_unknown_host(self):
        self.svc["api"]["environment"]["WUMP__DATABASE__URL"] = "postgres://wump:wump@db:5432/wump"
        self.assertComplains("WUMP__DATABASE__URL points at 'db', which is not a service")

    def test_url_default_in_interpolation_is_checked(self):
        self.svc["worker"]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] = "${WUMP_OTLP_ENDPOINT:-http://collector:4317}"
        self.assertComplains("points at 'collector', which is not a service")

    def test_replicas_with_host_port(self):
        self.svc["worker"]["ports"] = ["127.0.0.1:8081:8081"]
        self.assertComplains("publishes host port")

    def test_stop_grace_shorter_than_the_worker_grace(self):
        self.svc["worker"]["stop_grace_period"] = "25s"
        self.assertComplains("stop_grace_period 25s must exceed worker.shutdown_grace_secs (25s)")

    def test_stop_grace_follows_an_environment_override(self):
        self.svc["api"]["environment"]["WUMP__API__SHUTDOWN_TIMEOUT_SECS"] = "60"
        self.assertComplains("stop_grace_period 35s must exceed api.shutdown_timeout_secs (60s)")


if __name__ == "__main__":
    unittest.main()
