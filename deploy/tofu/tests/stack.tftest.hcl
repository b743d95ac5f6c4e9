# `tofu test` of the whole stack against a mocked AWS
# provider: no credentials, no resources; it evaluates every module with real provider
# schemas. CI runs it (.github/workflows/ci.yml, job `tofu`); locally:
#   tofu -chdir=deploy/tofu init -backend=false
#   tofu -chdir=deploy/tofu test

mock_provider "aws" {
  mock_data "aws_availability_zones" {
    defaults = { names = ["eu-central-1a", "eu-central-1b", "eu-central-1c"] }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{}" }
  }
  mock_resource "aws_iam_openid_connect_provider" {
    defaults = { arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" }
  }
  mock_resource "aws_lb" {
    defaults = { arn = "arn:aws:elasticloadbalancing:eu-central-1:123456789012:loadbalancer/app/wump/1" }
  }
  mock_resource "aws_lb_target_group" {
    defaults = { arn = "arn:aws:elasticloadbalancing:eu-central-1:123456789012:targetgroup/wump/1" }
  }
  mock_resource "aws_lb_listener" {
    defaults = { arn = "arn:aws:elasticloadbalancing:eu-central-1:123456789012:listener/app/wump/1/1" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/wump" }
  }
  mock_resource "aws_secretsmanager_secret" {
    defaults = { arn = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:wump" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:eu-central-1:123456789012:wump" }
  }
  mock_resource "aws_ecr_repository" {
    defaults = {
      arn            = "arn:aws:ecr:eu-central-1:123456789012:repository/wump"
      repository_url = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/wump"
    }
  }
  mock_resource "aws_ecs_task_definition" {
    defaults = { arn = "arn:aws:ecs:eu-central-1:123456789012:task-definition/wump:1" }
  }
}

variables {
  environment       = "production"
  region            = "eu-central-1"
  image_tag         = "0123abcd"
  github_repository = "wump-dev/wump"
  certificate_arn   = "arn:aws:acm:eu-central-1:123456789012:certificate/wump"
  database          = { read_replica = true }
  cache             = { replicas = 2 }
  worker            = { shutdown_grace_secs = 40 }
}

run "production" {
  command = apply

  assert {
    condition     = length(module.networking.private_subnet_ids) == 3 && length(module.networking.database_subnet_ids) == 3
    error_message = "production spans three zones"
  }

  assert {
    condition     = jsondecode(module.compute.worker_container_definitions)[0].stopTimeout == 45
    error_message = "the worker's stopTimeout must be its grace period plus a margin"
  }

  assert {
    condition = toset([for s in jsondecode(module.compute.api_container_definitions)[0].secrets : s.name]) == toset([
      "WUMP__DATABASE__URL", "WUMP__DATABASE__READ_URL", "WUMP__VALKEY__URL", "WUMP__API__ADMIN_KEY",
      "WUMP__WEBHOOKS__SECRET_KEY",
    ])
    error_message = "the api gets exactly its secrets, the read URL with a replica"
  }

  assert {
    condition = length([
      for e in concat(
        jsondecode(module.compute.api_container_definitions)[0].environment,
        jsondecode(module.compute.worker_container_definitions)[0].environment,
      ) : e if can(regex("URL|KEY|TOKEN|PASSWORD", e.name))
    ]) == 0
    error_message = "no secret travels as a plain environment value"
  }

  assert {
    condition     = output.api_url == "https://${module.compute.alb_dns_name}"
    error_message = "with a certificate the api is served over HTTPS"
  }
}

run "dev_shape" {
  command = apply

  variables {
    environment        = "dev"
    certificate_arn    = null
    github_repository  = null
    az_count           = 2
    single_nat_gateway = true
    database           = { read_replica = false, multi_az = false }
    cache              = { replicas = 1, tls = false }
    worker             = {}
  }

  assert {
    condition     = !contains([for s in jsondecode(module.compute.api_container_definitions)[0].secrets : s.name], "WUMP__DATABASE__READ_URL")
    error_message = "no read URL without a replica"
  }

  assert {
    condition     = jsondecode(module.compute.worker_container_definitions)[0].stopTimeout == 30
    error_message = "default worker grace (25 s) plus the margin"
  }

  assert {
    condition     = output.deploy_role_arn == null
    error_message = "no GitHub repository, no deploy role"
  }
}
