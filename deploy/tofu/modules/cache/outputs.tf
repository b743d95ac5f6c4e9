output "primary_endpoint" {
  description = "DNS name of the current primary (it follows a failover)."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "port" {
  description = "Valkey port."
  value       = aws_elasticache_replication_group.this.port
}

output "auth_token" {
  description = "The AUTH token (goes into the Valkey URL secret only)."
  value       = random_password.auth_token.result
  sensitive   = true
}

output "replication_group_id" {
  description = "Replication group id (CloudWatch dimension)."
  value       = aws_elasticache_replication_group.this.id
}
