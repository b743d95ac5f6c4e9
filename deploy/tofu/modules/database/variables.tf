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
  description = "PostgreSQL version; a major version alone lets RDS pick and upgrade the minor."
  type        = string
  default     = "18"
}

variable "instance_class" {
  description = "Primary (and replica) instance class."
  type        = string
  default     = "db.t4g.medium"
}

variable "allocated_storage_gb" {
  description = "Initial storage; grows automatically up to max_allocated_storage_gb."
  type        = number
  default     = 50
}

variable "max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling."
  type        = number
  default     = 500
}

variable "multi_az" {
  description = "Synchronous standby in a second zone with automatic failover."
  type        = bool
  default     = true
}

variable "backup_retention_days" {
  description = "Automated backups (point-in-time recovery) kept this many days."
  type        = number
  default     = 7
}

variable "max_connections" {
  description = "PostgreSQL max_connections; the connections alarm fires at 80 % of it. Size it to (api tasks x api pool) + (worker tasks x worker pool) + migrate + headroom."
  type        = number
  default     = 400
}

variable "read_replica" {
  description = "Create a read replica for the api's read pool."
  type        = bool
  default     = false
}

variable "database_name" {
  description = "Database wump uses."
  type        = string
  default     = "wump"
}

variable "username" {
  description = "Master user wump connects as."
  type        = string
  default     = "wump"
}

variable "require_tls" {
  description = "Set rds.force_ssl: reject connections without TLS (wump connects with sslmode=verify-full, docs/deploy.md)."
  type        = bool
  default     = false
}

variable "deletion_protection" {
  description = "Refuse to delete the instance (production: true)."
  type        = bool
  default     = true
}

variable "skip_final_snapshot" {
  description = "Delete without a final snapshot (dev only)."
  type        = bool
  default     = false
}

variable "performance_insights" {
  description = "Enable Performance Insights (not offered on every instance class, e.g. the smallest burstable ones)."
  type        = bool
  default     = false
}
