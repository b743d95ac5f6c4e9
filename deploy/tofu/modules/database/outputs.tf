output "address" {
  description = "DNS name of the primary (it follows a Multi-AZ failover)."
  value       = aws_db_instance.primary.address
}

output "port" {
  description = "PostgreSQL port."
  value       = aws_db_instance.primary.port
}

output "database_name" {
  description = "Database wump uses."
  value       = aws_db_instance.primary.db_name
}

output "username" {
  description = "User wump connects as."
  value       = aws_db_instance.primary.username
}

output "password" {
  description = "The master password (goes into the database URL secret only)."
  value       = random_password.master.result
  sensitive   = true
}

output "replica_address" {
  description = "DNS name of the read replica, or null without one."
  value       = var.read_replica ? aws_db_instance.replica[0].address : null
}

output "instance_id" {
  description = "Identifier of the primary (CloudWatch DBInstanceIdentifier)."
  value       = aws_db_instance.primary.identifier
}

output "max_connections" {
  description = "Configured max_connections (the alarm threshold derives from it)."
  value       = var.max_connections
}
