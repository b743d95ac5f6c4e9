variable "region" {
  description = "AWS region the resources live in."
  type        = string
}

variable "name" {
  description = "Prefix for every resource name, e.g. wump-production; also the cluster's name."
  type        = string
}

variable "environment" {
  description = "Environment name (dev, staging, production): a resource attribute of traces and the Environment dimension of metrics."
  type        = string
}

variable "vpc_id" {
  description = "The VPC."
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets of the load balancer."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Subnets of the tasks."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups from the networking module."
  type = object({
    alb    = string
    api    = string
    worker = string
  })
}

variable "api_image" {
  description = "wump-api image (repository URL and tag) the task definitions start from; CI deploys later tags (docs/deploy.md)."
  type        = string
}

variable "worker_image" {
  description = "wump-worker image (repository URL and tag)."
  type        = string
}

variable "collector_image" {
  description = "AWS Distro for OpenTelemetry collector, run as a sidecar in the api and worker tasks."
  type        = string
  default     = "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3"
}

variable "execution_role_arn" {
  description = "Task execution role (image pull, logs, secrets)."
  type        = string
}

variable "api_task_role_arn" {
  description = "Role of the api tasks."
  type        = string
}

variable "worker_task_role_arn" {
  description = "Role of the worker tasks."
  type        = string
}

variable "log_group_names" {
  description = "Log group per container: api, worker, migrate, collector."
  type        = map(string)
}

variable "metrics_log_group_name" {
  description = "Log group the collector writes EMF metrics to."
  type        = string
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of wump's metrics."
  type        = string
  default     = "Wump"
}

variable "secret_arns" {
  description = "Secrets Manager ARNs injected as container secrets; read_database_url may be null."
  type = object({
    database_url      = string
    read_database_url = optional(string)
    valkey_url        = string
    admin_key         = string
    webhook_key       = string
    github_tokens     = string
  })
}

variable "read_replica" {
  description = "Give the api WUMP__DATABASE__READ_URL from the read-URL secret."
  type        = bool
  default     = false
}

variable "certificate_arn" {
  description = "ACM certificate for HTTPS on the load balancer; null serves plain HTTP (dev only)."
  type        = string
  default     = null
}

variable "api_port" {
  description = "Port of api.bind inside the task."
  type        = number
  default     = 8080
}

variable "worker_health_port" {
  description = "Port of worker.health_bind inside the task."
  type        = number
  default     = 8081
}

variable "api" {
  description = "api task size and fleet bounds (sizing: docs/deploy.md)."
  type = object({
    cpu                   = optional(number, 512)
    memory                = optional(number, 1024)
    min_tasks             = optional(number, 2)
    max_tasks             = optional(number, 10)
    cpu_target            = optional(number, 70)
    memory_target         = optional(number, 80)
    shutdown_timeout_secs = optional(number, 30)
  })
  default = {}
}

variable "worker" {
  description = "worker task size, fleet bounds and the backlog per task the fleet is scaled to."
  type = object({
    cpu                 = optional(number, 512)
    memory              = optional(number, 1024)
    min_tasks           = optional(number, 1)
    max_tasks           = optional(number, 10)
    backlog_per_task    = optional(number, 100)
    shutdown_grace_secs = optional(number, 25)
  })
  default = {}

  validation {
    # Fargate's stopTimeout is at most 120 s and must cover the grace period plus a margin.
    condition     = var.worker.shutdown_grace_secs + 5 <= 120
    error_message = "worker.shutdown_grace_secs must be at most 115 (Fargate's stopTimeout limit is 120 s)."
  }
}

variable "environment_variables" {
  description = "Extra plain (non-secret) settings for api and worker, e.g. { WUMP__QUEUES__CONCURRENCY__HIGH = \"8\" }."
  type        = map(string)
  default     = {}
}

variable "enable_execute_command" {
  description = "Allow `aws ecs execute-command` into running tasks (runbooks use it)."
  type        = bool
  default     = true
}
