"""The HCL checker fails on each kind of mistake it is meant to catch: every test breaks a
temporary copy of deploy/tofu in one way and expects that one complaint.

Run: python3 -m unittest discover -s scripts -p 'test_check_*.py'
"""

import importlib.util
import os
import shutil
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
spec = importlib.util.spec_from_file_location("check_hcl", os.path.join(HERE, "check-hcl.py"))
check_hcl = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_hcl)


class BrokenCopy(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="wump-hcl-")
        # Keep the layout (deploy/tofu next to deploy/otel) so file() paths still resolve.
        shutil.copytree(os.path.join(ROOT, "deploy"), os.path.join(self.tmp, "deploy"))
        self.base = os.path.join(self.tmp, "deploy", "tofu")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def edit(self, path, old, new, count=1):
        path = os.path.join(self.base, path)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        self.assertIn(old, text, f"test setup: {old!r} not in {path}")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace(old, new, count))

    def reference_errors(self):
        errors = []
        modules = check_hcl.check_references(self.base, errors)
        check_hcl.check_tfvars_examples(self.base, modules, errors)
        return errors

    def assertOneError(self, pattern):
        errors = self.reference_errors()
        self.assertEqual(len(errors), 1, errors)
        self.assertRegex(errors[0], pattern)


class CopyIsClean(BrokenCopy):
    def test_the_repository_passes(self):
        self.assertEqual(self.reference_errors(), [])


class References(BrokenCopy):
    def test_undeclared_variable(self):
        self.edit("modules/networking/main.tf", "var.single_nat_gateway ? 1", "var.single_nat ? 1")
        self.assertOneError(r"networking/main\.tf:\d+: var\.single_nat is not declared")

    def test_undefined_local(self):
        self.edit("modules/compute/main.tf", "stopTimeout  = local.api_stop_timeout",
                  "stopTimeout  = local.api_stop")
        self.assertOneError(r"local\.api_stop is not defined")

    def test_reference_inside_a_template_counts(self):
        self.edit("modules/ecr/main.tf", 'name                 = "${var.name}/${each.key}"',
                  'name                 = "${var.nmae}/${each.key}"')
        self.assertOneError(r"var\.nmae is not declared")

    def test_plain_string_mentioning_var_is_not_a_reference(self):
        self.edit("modules/ecr/main.tf", 'description  = "Untagged', 'description  = "var.nothing: Untagged')
        self.assertEqual(self.reference_errors(), [])

    def test_missing_module_output(self):
        self.edit("main.tf", "module.database.instance_id", "module.database.instance")
        self.assertOneError(r"modules/database has no output 'instance'")

    def test_unknown_module_block(self):
        self.edit("main.tf", "module.cache.port", "module.valkey.port")
        self.assertTrue(all("module.valkey is not a module block" in e for e in self.reference_errors()))

    def test_argument_the_module_does_not_declare(self):
        self.edit("main.tf", "  replicas           = var.cache.replicas\n",
                  "  replicas           = var.cache.replicas\n  shards             = 2\n")
        errors = self.reference_errors()
        self.assertEqual(len(errors), 1, errors)
        self.assertIn("passes 'shards', which deploy/tofu/modules/cache does not declare",
                      errors[0].replace(self.tmp + "/", ""))

    def test_required_variable_not_passed(self):
        self.edit("main.tf", "  security_group_id  = module.networking.cache_security_group_id\n", "")
        errors = self.reference_errors()
        self.assertEqual(len(errors), 1, errors)
        self.assertIn("does not pass required variable 'security_group_id'", errors[0])

    def test_missing_module_source(self):
        self.edit("main.tf", '"./modules/ecr"', '"./modules/registry"')
        errors = self.reference_errors()
        self.assertTrue(errors)
        self.assertTrue(all("is not a directory of .tf files" in e for e in errors), errors)

    def test_undeclared_resource(self):
        self.edit("modules/compute/outputs.tf", "aws_lb_target_group.api.arn_suffix", "aws_lb_target_group.apis.arn_suffix")
        self.assertOneError(r"aws_lb_target_group\.apis is not a resource declared")

    def test_undeclared_data_source(self):
        self.edit("modules/iam/main.tf", "data.aws_partition.current.partition", "data.aws_partition.this.partition")
        self.assertOneError(r"data\.aws_partition\.this is not declared")

    def test_missing_file(self):
        self.edit("modules/compute/main.tf", "otel/ecs-collector.yaml", "otel/collector.yaml")
        self.assertOneError(r"file '\.\./\.\./\.\./otel/collector\.yaml' does not exist")

    def test_tfvars_example_with_unknown_key(self):
        self.edit("environments/staging/terraform.tfvars.example", "az_count ", "zones ")
        self.assertOneError(r"staging/terraform\.tfvars\.example: 'zones' is not a variable")

    def test_tfvars_example_with_unknown_object_attribute(self):
        self.edit("environments/production/terraform.tfvars.example", "  replicas  = 2\n", "  replica   = 2\n")
        self.assertOneError(r"production/terraform\.tfvars\.example:\d+: cache\.replica is not an attribute "
                            r"of variable 'cache'")

    def test_tfvars_example_missing_required_variable(self):
        self.edit("environments/dev/terraform.tfvars.example", 'image_tag   = "CHANGE-ME-git-sha"', "")
        self.assertOneError(r"dev/terraform\.tfvars\.example: required variable 'image_tag' is not set")

    def test_tfvars_example_without_a_stack(self):
        os.remove(os.path.join(self.base, "main.tf"))
        for name in ("variables.tf", "outputs.tf", "versions.tf"):
            os.remove(os.path.join(self.base, name))
        self.assertOneError(r"deploy/tofu: environments but no stack")


class Metrics(BrokenCopy):
    """Every wump metric the OpenTofu code reads is exported by the code and by the collector,
    with the dimension set it is read with."""

    def metric_errors(self, crates_dir=os.path.join(ROOT, "crates")):
        errors = []
        check_hcl.check_metrics(self.base, errors, crates_dir)
        return [e.replace(self.tmp + "/", "") for e in errors]

    def edit_collector(self, old, new):
        path = os.path.join(self.tmp, "deploy", "otel", "ecs-collector.yaml")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        self.assertIn(old, text, "test setup")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace(old, new, 1))

    def test_the_repository_passes(self):
        self.assertEqual(self.metric_errors(), [])

    def test_misspelt_metric_in_an_alarm(self):
        self.edit("modules/monitoring/main.tf", 'metric_name         = "wump.dead_letters.size"',
                  'metric_name         = "wump.dead_letter.size"')
        errors = self.metric_errors()
        self.assertEqual(len(errors), 1, errors)
        self.assertRegex(errors[0], r"monitoring/main\.tf:\d+: wump\.dead_letter\.size is not a metric the code exports")

    def test_metric_the_collector_does_not_select(self):
        self.edit_collector('      - dimensions: [[Environment, job_type, outcome]]\n        metric_name_selectors: ["^wump\\\\.jobs$"]\n', "")
        errors = self.metric_errors()
        self.assertTrue(errors)
        self.assertTrue(all("wump.jobs is not selected by deploy/otel/ecs-collector.yaml" in e for e in errors), errors)

    def test_dimension_set_the_collector_does_not_declare(self):
        self.edit_collector("      - dimensions: [[Environment, queue]]\n", "      - dimensions: [[Environment, queue_name]]\n")
        errors = self.metric_errors()
        self.assertEqual(len(errors), 1, errors)
        self.assertRegex(errors[0], r"dashboard\.tf:\d+: wump\.queue\.depth with dimensions \['Environment', 'queue'\] "
                                    r"is not a dimension set")

    def test_metric_row_with_an_undeclared_dimension(self):
        self.edit("modules/monitoring/dashboard.tf", '"wump.api.cache.lookups", "Environment", local.env, "result", "miss"',
                  '"wump.api.cache.lookups", "Environment", local.env, "outcome", "miss"')
        errors = self.metric_errors()
        self.assertEqual(len(errors), 1, errors)
        self.assertIn("wump.api.cache.lookups with dimensions ['Environment', 'outcome']", errors[0])

    def test_selector_that_selects_nothing(self):
        self.edit_collector('["^wump\\\\.jobs$"]', '["^wump\\\\.jobs$", "^wump\\\\.job_count$"]')
        errors = self.metric_errors()
        self.assertEqual(len(errors), 1, errors)
        self.assertIn("selector '^wump\\\\.job_count$' selects no metric the code exports", errors[0])


class Syntax(BrokenCopy):
    """Syntax goes through fmt when tofu/terraform is installed, else python-hcl2."""

    def syntax_errors(self):
        errors = []
        binary = check_hcl.tofu_binary()
        if binary:
            check_hcl.check_fmt(binary, self.base, errors)
        else:
            check_hcl.check_syntax_hcl2(self.base, errors)
        return errors

    def test_clean_copy_passes(self):
        self.assertEqual(self.syntax_errors(), [])

    def test_unclosed_block(self):
        self.edit("modules/ecr/main.tf", "  encryption_configuration {\n", "  encryption_configuration {\n    x = [\n")
        errors = self.syntax_errors()
        self.assertTrue(any("modules/ecr/main.tf" in e for e in errors), errors)

    def test_broken_tfvars_example(self):
        self.edit("environments/dev/terraform.tfvars.example", 'region      = "eu-central-1"', 'region      = "eu-central-1')
        errors = self.syntax_errors()
        self.assertTrue(any("dev/terraform.tfvars.example" in e for e in errors), errors)

    @unittest.skipUnless(check_hcl.tofu_binary(), "formatting is only checked with tofu/terraform")
    def test_misformatted_file(self):
        self.edit("modules/ecr/outputs.tf", '  description = "Push wump-api', '  description =   "Push wump-api')
        errors = self.syntax_errors()
        self.assertEqual(len(errors), 1, errors)
        self.assertIn("modules/ecr/outputs.tf: not formatted", errors[0])


if __name__ == "__main__":
    unittest.main()
