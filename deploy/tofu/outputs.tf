output "api_url" {
  description = "Where the api answers (point your domain at alb_dns_name for HTTPS)."
  value       = "${var.certificate_arn == null ? "http" : "https"}://${module.compute.alb_dns_name}"
}

output "alb_dns_name" {
  description = "DNS name of the load balancer."
  value       = module.compute.alb_dns_name
}

output "api_repository_url" {
  description = "ECR repository of the api image."
  value       = module.ecr.api_repository_url
}

output "worker_repository_url" {
  description = "ECR repository of the worker image."
  value       = module.ecr.worker_repository_url
}

output "cluster_name" {
  description = "ECS cluster."
  value       = module.compute.cluster_name
}

output "api_service_name" {
  description = "ECS service of the api."
  value       = module.compute.api_service_name
}

output "worker_service_name" {
  description = "ECS service of the worker."
  value       = module.compute.worker_service_name
}

output "migrate_task_family" {
  description = "Run this task before every deploy (docs/deploy.md)."
  value       = module.compute.migrate_task_family
}

output "migrate_network_configuration" {
  description = "--network-configuration for `aws ecs run-task` of the migrate task."
  value       = module.compute.migrate_network_configuration
}

output "deploy_role_arn" {
  description = "Set as AWS_DEPLOY_ROLE_ARN in this GitHub environment."
  value       = module.iam.deploy_role_arn
}

output "github_tokens_secret_arn" {
  description = "Put your GitHub token(s) here before the first deploy."
  value       = module.secrets.github_tokens_arn
}

output "admin_key_secret_arn" {
  description = "The bootstrap admin API key (read it with aws secretsmanager get-secret-value)."
  value       = module.secrets.admin_key_arn
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms (subscribe chat or paging here)."
  value       = module.monitoring.alarm_topic_arn
}

output "database_address" {
  description = "RDS endpoint (reachable from the tasks only)."
  value       = module.database.address
}

output "cache_primary_endpoint" {
  description = "ElastiCache primary endpoint (reachable from the tasks only)."
  value       = module.cache.primary_endpoint
}

output "dashboard_url" {
  description = "CloudWatch dashboard: alarms, api, cache, queues and jobs, providers per token, logged warnings."
  value       = module.monitoring.dashboard_url
}
