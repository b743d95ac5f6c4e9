# Secrets Manager holds every secret wump reads; ECS injects them into the containers as
# task `secrets` (never plain environment values, so they are not visible in the task
# definition). Values:
#   database-url       built here from the RDS endpoint and generated password, with
#                      sslmode=verify-full (TLS, checked against RDS's CA bundle in the image)
#   database-read-url  same, for the read replica (only with one)
#   valkey-url         rediss:// (TLS) with the ElastiCache AUTH token (redis:// without TLS)
#   admin-key          generated here: the bootstrap admin API key
#   github-tokens      NOT set here: put your comma-separated tokens in it yourself
#                      (`aws secretsmanager put-secret-value`, docs/deploy.md), so they never
#                      reach the OpenTofu state.

locals {
  db = var.database
  database_url = format("postgres://%s:%s@%s:%d/%s?sslmode=verify-full",
  local.db.username, local.db.password, local.db.address, local.db.port, local.db.database_name)
  read_database_url = var.read_replica ? format("postgres://%s:%s@%s:%d/%s?sslmode=verify-full",
  local.db.username, local.db.password, local.db.replica_address, local.db.port, local.db.database_name) : null
  valkey_url = (var.cache.tls
    ? format("rediss://:%s@%s:%d", var.cache.auth_token, var.cache.primary_endpoint, var.cache.port)
  : format("redis://%s:%d", var.cache.primary_endpoint, var.cache.port))
}

resource "aws_secretsmanager_secret" "database_url" {
  name                    = "${var.name}/database-url"
  description             = "WUMP__DATABASE__URL"
  recovery_window_in_days = var.recovery_window_days
}

resource "aws_secretsmanager_secret_version" "database_url" {
  secret_id     = aws_secretsmanager_secret.database_url.id
  secret_string = local.database_url
}

resource "aws_secretsmanager_secret" "read_database_url" {
  count                   = var.read_replica ? 1 : 0
  name                    = "${var.name}/database-read-url"
  description             = "WUMP__DATABASE__READ_URL (the api's read pool)"
  recovery_window_in_days = var.recovery_window_days
}

resource "aws_secretsmanager_secret_version" "read_database_url" {
  count         = var.read_replica ? 1 : 0
  secret_id     = aws_secretsmanager_secret.read_database_url[0].id
  secret_string = local.read_database_url
}

resource "aws_secretsmanager_secret" "valkey_url" {
  name                    = "${var.name}/valkey-url"
  description             = "WUMP__VALKEY__URL"
  recovery_window_in_days = var.recovery_window_days
}

resource "aws_secretsmanager_secret_version" "valkey_url" {
  secret_id     = aws_secretsmanager_secret.valkey_url.id
  secret_string = local.valkey_url
}

resource "random_password" "admin_key" {
  length  = 48
  special = false
}

resource "aws_secretsmanager_secret" "admin_key" {
  name                    = "${var.name}/admin-key"
  description             = "WUMP__API__ADMIN_KEY (bootstrap admin API key)"
  recovery_window_in_days = var.recovery_window_days
}

resource "aws_secretsmanager_secret_version" "admin_key" {
  secret_id     = aws_secretsmanager_secret.admin_key.id
  secret_string = random_password.admin_key.result
}

# The key webhook secrets are encrypted under (docs/webhooks.md): 32 random bytes, base64.
resource "random_bytes" "webhook_key" {
  length = 32
}

resource "aws_secretsmanager_secret" "webhook_key" {
  name                    = "${var.name}/webhook-key"
  description             = "WUMP__WEBHOOKS__SECRET_KEY (encrypts webhook signing secrets; replacing it makes them unreadable)"
  recovery_window_in_days = var.recovery_window_days
}

resource "aws_secretsmanager_secret_version" "webhook_key" {
  secret_id     = aws_secretsmanager_secret.webhook_key.id
  secret_string = random_bytes.webhook_key.base64
}

resource "aws_secretsmanager_secret" "github_tokens" {
  name                    = "${var.name}/github-tokens"
  description             = "WUMP__PROVIDERS__GITHUB__TOKENS (comma-separated; set by the operator)"
  recovery_window_in_days = var.recovery_window_days
}
