output "primary_endpoint" {
  description = "DNS name of the current primary (it follows a failover)."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "port" {
  description = "Valkey port."
  value       = aws_elasticache_replication_group.this.port
}

output "auth_token" {
  description = "The AUTH token (goes into the Valkey URL secret only), or null without TLS."
  value       = var.transit_encryption ? random_password.auth_token.result : null
  sensitive   = true
}

output "tls" {
  description = "Whether clients must connect with TLS (rediss://)."
  value       = var.transit_encryption
}

output "replication_group_id" {
  description = "Replication group id (CloudWatch dimension)."
  value       = aws_elasticache_replication_group.this.id
}
