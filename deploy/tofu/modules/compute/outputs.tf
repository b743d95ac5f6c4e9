output "cluster_name" {
  description = "ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "api_service_name" {
  description = "ECS service of wump-api."
  value       = aws_ecs_service.api.name
}

output "worker_service_name" {
  description = "ECS service of wump-worker."
  value       = aws_ecs_service.worker.name
}

output "migrate_task_family" {
  description = "Task definition family of the one-off migrate task."
  value       = aws_ecs_task_definition.migrate.family
}

output "alb_dns_name" {
  description = "Public DNS name of the load balancer (point your domain's CNAME/alias here)."
  value       = aws_lb.api.dns_name
}

output "alb_arn_suffix" {
  description = "Load balancer, as CloudWatch names it."
  value       = aws_lb.api.arn_suffix
}

output "target_group_arn_suffix" {
  description = "The api's target group, as CloudWatch names it."
  value       = aws_lb_target_group.api.arn_suffix
}

output "migrate_network_configuration" {
  description = "The --network-configuration for `aws ecs run-task` of the migrate task."
  value = jsonencode({
    awsvpcConfiguration = {
      subnets        = var.private_subnet_ids
      securityGroups = [var.security_group_ids.worker]
      assignPublicIp = "DISABLED"
    }
  })
}

output "api_container_definitions" {
  description = "The api task's container definitions as registered (JSON), for tests and review."
  value       = aws_ecs_task_definition.api.container_definitions
}

output "worker_container_definitions" {
  description = "The worker task's container definitions as registered (JSON)."
  value       = aws_ecs_task_definition.worker.container_definitions
}
