variable "region" {
  description = "AWS region the resources live in."
  type        = string
}

variable "name" {
  description = "Prefix for every role name, e.g. wump-production; also the ECS cluster's name."
  type        = string
}

variable "secret_arns" {
  description = "Secrets the task execution role may read to inject into containers."
  type        = list(string)
}

variable "ecr_repository_arns" {
  description = "Repositories CI pushes to and tasks pull from."
  type        = list(string)
}

variable "metrics_log_group_name" {
  description = "Log group the collector sidecars write EMF metrics to."
  type        = string
}

variable "github_repository" {
  description = "owner/name of the GitHub repository whose workflow deploys; null skips the deploy role."
  type        = string
  default     = null
}

variable "github_environment" {
  description = "GitHub environment whose jobs may assume the deploy role (e.g. production, with required reviewers)."
  type        = string
  default     = null
}

variable "github_oidc_provider_arn" {
  description = "Existing IAM OIDC provider for token.actions.githubusercontent.com (one per account); null creates it."
  type        = string
  default     = null
}
