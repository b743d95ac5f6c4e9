variable "name" {
  description = "Prefix for every resource name, e.g. wump-production."
  type        = string
}

variable "cidr_block" {
  description = "The VPC's address range; split into public, private and database subnets."
  type        = string
  default     = "10.40.0.0/16"
}

variable "az_count" {
  description = "Availability zones to spread subnets over (RDS Multi-AZ and ElastiCache failover need at least 2)."
  type        = number
  default     = 3

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 6
    error_message = "az_count must be between 2 and 6."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper, dev) instead of one per zone (survives a zone outage)."
  type        = bool
  default     = false
}

variable "api_port" {
  description = "Port wump-api listens on inside its task (api.bind)."
  type        = number
  default     = 8080
}

variable "database_port" {
  description = "PostgreSQL port."
  type        = number
  default     = 5432
}

variable "cache_port" {
  description = "Valkey port."
  type        = number
  default     = 6379
}

variable "alb_ingress_cidrs" {
  description = "Who may reach the load balancer (HTTP/HTTPS)."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}
