variable "name" {
  description = "Prefix of the secret names, e.g. wump-production (secrets <name>/database-url, ...)."
  type        = string
}

variable "database" {
  description = "Where the database is and how to log in; the URL secrets are built from it."
  type = object({
    address         = string
    port            = number
    database_name   = string
    username        = string
    password        = string
    replica_address = optional(string)
  })
  sensitive = true
}

variable "cache" {
  description = "Where Valkey is and its AUTH token; the Valkey URL secret is built from it."
  type = object({
    primary_endpoint = string
    port             = number
    auth_token       = optional(string)
    tls              = bool
  })
  sensitive = true
}

variable "read_replica" {
  description = "Whether a read replica exists (then a read-URL secret is created). Not derived from the sensitive database object, so it can decide resource counts."
  type        = bool
  default     = false
}

variable "recovery_window_days" {
  description = "Days a deleted secret can be restored (0 deletes at once, dev only)."
  type        = number
  default     = 7
}
