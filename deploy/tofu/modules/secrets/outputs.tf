output "database_url_arn" {
  description = "Secret behind WUMP__DATABASE__URL."
  value       = aws_secretsmanager_secret.database_url.arn
}

output "read_database_url_arn" {
  description = "Secret behind WUMP__DATABASE__READ_URL, or null without a read replica."
  value       = var.read_replica ? aws_secretsmanager_secret.read_database_url[0].arn : null
}

output "valkey_url_arn" {
  description = "Secret behind WUMP__VALKEY__URL."
  value       = aws_secretsmanager_secret.valkey_url.arn
}

output "admin_key_arn" {
  description = "Secret behind WUMP__API__ADMIN_KEY."
  value       = aws_secretsmanager_secret.admin_key.arn
}

output "webhook_key_arn" {
  description = "Secret behind WUMP__WEBHOOKS__SECRET_KEY."
  value       = aws_secretsmanager_secret.webhook_key.arn
}

output "github_tokens_arn" {
  description = "Secret behind WUMP__PROVIDERS__GITHUB__TOKENS (its value is yours to put)."
  value       = aws_secretsmanager_secret.github_tokens.arn
}

output "all_arns" {
  description = "Every secret above, for the task execution role's policy."
  value = compact([
    aws_secretsmanager_secret.database_url.arn,
    var.read_replica ? aws_secretsmanager_secret.read_database_url[0].arn : "",
    aws_secretsmanager_secret.valkey_url.arn,
    aws_secretsmanager_secret.admin_key.arn,
    aws_secretsmanager_secret.webhook_key.arn,
    aws_secretsmanager_secret.github_tokens.arn,
  ])
}
