output "vpc_id" {
  description = "The VPC."
  value       = aws_vpc.this.id
}

output "public_subnet_ids" {
  description = "Subnets of the load balancer and the NAT gateways."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Subnets of the ECS tasks."
  value       = aws_subnet.private[*].id
}

output "database_subnet_ids" {
  description = "Subnets of RDS and ElastiCache (no internet route)."
  value       = aws_subnet.database[*].id
}

output "alb_security_group_id" {
  description = "Security group of the load balancer."
  value       = aws_security_group.alb.id
}

output "api_security_group_id" {
  description = "Security group of the api tasks."
  value       = aws_security_group.api.id
}

output "worker_security_group_id" {
  description = "Security group of the worker and migrate tasks."
  value       = aws_security_group.worker.id
}

output "database_security_group_id" {
  description = "Security group of RDS."
  value       = aws_security_group.database.id
}

output "cache_security_group_id" {
  description = "Security group of ElastiCache."
  value       = aws_security_group.cache.id
}
