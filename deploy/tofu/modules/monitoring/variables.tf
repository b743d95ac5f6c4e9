variable "name" {
  description = "Prefix for every resource name, e.g. wump-production."
  type        = string
}

variable "environment" {
  description = "Environment name; the collector adds it to wump's metrics as the Environment dimension."
  type        = string
}

variable "region" {
  description = "AWS region of the dashboard's widgets."
  type        = string
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of wump's own metrics (set in deploy/otel/ecs-collector.yaml)."
  type        = string
  default     = "Wump"
}

variable "log_retention_days" {
  description = "How long container logs are kept."
  type        = number
  default     = 30
}

variable "alarm_emails" {
  description = "Addresses subscribed to the alarm topic (each must confirm the subscription)."
  type        = list(string)
  default     = []
}

variable "cluster_name" {
  description = "ECS cluster (dimension of the service alarms)."
  type        = string
}

variable "api_service_name" {
  description = "ECS service of wump-api."
  type        = string
}

variable "worker_service_name" {
  description = "ECS service of wump-worker."
  type        = string
}

variable "alb_arn_suffix" {
  description = "Load balancer (dimension of the api alarms)."
  type        = string
}

variable "target_group_arn_suffix" {
  description = "The api's target group."
  type        = string
}

variable "db_instance_id" {
  description = "RDS primary instance identifier."
  type        = string
}

variable "db_max_connections" {
  description = "PostgreSQL max_connections; the alarm fires at db_connections_percent of it."
  type        = number
}

variable "cache_replication_group_id" {
  description = "ElastiCache replication group."
  type        = string
}

variable "cache_node_count" {
  description = "Nodes in the replication group (primary + replicas)."
  type        = number
}

variable "thresholds" {
  description = "Alarm thresholds (the seed design's values by default)."
  type = object({
    api_5xx_percent        = optional(number, 5)
    api_p95_seconds        = optional(number, 1)
    job_failure_percent    = optional(number, 10)
    dead_letters           = optional(number, 0)
    db_connections_percent = optional(number, 80)
    cpu_percent            = optional(number, 80)
    cpu_sustained_minutes  = optional(number, 15)
    rate_limit_remaining   = optional(number, 0.1)
    cache_memory_percent   = optional(number, 80)
  })
  default = {}
}
