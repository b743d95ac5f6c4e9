variable "name" {
  description = "Prefix for every resource name, e.g. wump-production."
  type        = string
}

variable "subnet_ids" {
  description = "Database subnets (at least two zones)."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group that admits the wump tasks only."
  type        = string
}

variable "engine_version" {
  description = "Valkey version."
  type        = string
  default     = "8.0"
}

variable "node_type" {
  description = "Cache node type."
  type        = string
  default     = "cache.t4g.small"
}

variable "replicas" {
  description = "Replicas besides the primary (at least 1 for automatic failover)."
  type        = number
  default     = 1

  validation {
    condition     = var.replicas >= 1 && var.replicas <= 5
    error_message = "replicas must be between 1 and 5 (automatic failover needs one)."
  }
}

variable "snapshot_retention_days" {
  description = "Daily snapshots kept (0 turns them off)."
  type        = number
  default     = 7
}
