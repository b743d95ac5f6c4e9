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

variable "transit_encryption" {
  description = "TLS between wump and Valkey, with an AUTH token (ElastiCache allows a token only with TLS). false only while the wump build in use cannot speak rediss:// (docs/deploy.md)."
  type        = bool
  default     = true
}

variable "auth_token_update_strategy" {
  description = "How a new AUTH token is applied: ROTATE (old and new both valid) while clients move over, then SET (only the new one). docs/deploy.md, Rotating secrets."
  type        = string
  default     = "ROTATE"

  validation {
    condition     = contains(["ROTATE", "SET"], var.auth_token_update_strategy)
    error_message = "auth_token_update_strategy must be ROTATE or SET."
  }
}
