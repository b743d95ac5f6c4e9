variable "environment" {
  description = "Environment name: dev, staging or production (names every resource wump-<environment>)."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "production"], var.environment)
    error_message = "environment must be dev, staging or production."
  }
}

variable "region" {
  description = "AWS region."
  type        = string
}

variable "image_tag" {
  description = "Image tag the task definitions are created with (a git commit SHA pushed by CI). Later deploys come from CI (docs/deploy.md)."
  type        = string
}

variable "github_repository" {
  description = "owner/name of the repository whose workflow deploys (OIDC); null creates no deploy role."
  type        = string
  default     = null
}

variable "github_oidc_provider_arn" {
  description = "Existing GitHub OIDC provider in this account (there is one per account); null creates it."
  type        = string
  default     = null
}

variable "certificate_arn" {
  description = "ACM certificate for the load balancer's HTTPS listener; null serves plain HTTP."
  type        = string
  default     = null
}

variable "alarm_emails" {
  description = "Addresses notified by every alarm."
  type        = list(string)
  default     = []
}

variable "az_count" {
  description = "Availability zones used."
  type        = number
  default     = 3
}

variable "single_nat_gateway" {
  description = "One NAT gateway instead of one per zone (cheaper; a zone outage cuts egress)."
  type        = bool
  default     = false
}

variable "database" {
  description = "RDS settings."
  type = object({
    instance_class        = optional(string, "db.t4g.medium")
    allocated_storage_gb  = optional(number, 50)
    multi_az              = optional(bool, true)
    backup_retention_days = optional(number, 7)
    max_connections       = optional(number, 400)
    read_replica          = optional(bool, false)
    require_tls           = optional(bool, false)
    performance_insights  = optional(bool, false)
  })
  default = {}
}

variable "cache" {
  description = "ElastiCache settings."
  type = object({
    node_type = optional(string, "cache.t4g.small")
    replicas  = optional(number, 1)
    tls       = optional(bool, true)
  })
  default = {}
}

variable "api" {
  description = "api task size and fleet bounds (docs/deploy.md, Sizing)."
  type = object({
    cpu       = optional(number, 512)
    memory    = optional(number, 1024)
    min_tasks = optional(number, 2)
    max_tasks = optional(number, 10)
  })
  default = {}
}

variable "worker" {
  description = "worker task size, fleet bounds and target backlog per task (docs/deploy.md, Scaling the worker fleet)."
  type = object({
    cpu                 = optional(number, 512)
    memory              = optional(number, 1024)
    min_tasks           = optional(number, 1)
    max_tasks           = optional(number, 10)
    backlog_per_task    = optional(number, 100)
    shutdown_grace_secs = optional(number, 25)
  })
  default = {}
}

variable "environment_variables" {
  description = "Extra non-secret WUMP__* settings for api and worker (e.g. queue concurrency)."
  type        = map(string)
  default     = {}
}

variable "protect_data" {
  description = "Deletion protection and final snapshots for the database, recovery window for secrets (false only for throwaway environments)."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "How long container logs are kept."
  type        = number
  default     = 30
}
