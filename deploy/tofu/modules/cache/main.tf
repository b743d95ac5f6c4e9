# ElastiCache Valkey 8: one primary and replicas in other zones, automatic failover, TLS
# in transit, encryption at rest and an AUTH token (TLS and token can be switched off
# together with transit_encryption, see its description). Cluster mode stays off: the job queue
# (apalis-redis) runs multi-key Lua scripts that a sharded cluster would reject.
#
# ElastiCache has no append-only file; durability of queued jobs comes from the replica
# (failover loses at most the replication lag) and the daily snapshots.

resource "random_password" "auth_token" {
  length  = 64
  special = false # 16-128 printable characters; letters and digits keep the URL simple
}

resource "aws_elasticache_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids
}

resource "aws_elasticache_parameter_group" "this" {
  name   = "${var.name}-valkey8"
  family = "valkey8"

  # Queued jobs must never be evicted: under memory pressure writes fail (and alarm)
  # instead of silently dropping work.
  parameter {
    name  = "maxmemory-policy"
    value = "noeviction"
  }
}

resource "aws_elasticache_replication_group" "this" {
  replication_group_id = var.name
  description          = "wump queues, cache and rate limits"
  engine               = "valkey"
  engine_version       = var.engine_version
  node_type            = var.node_type
  port                 = 6379
  parameter_group_name = aws_elasticache_parameter_group.this.name

  num_cache_clusters         = 1 + var.replicas
  automatic_failover_enabled = true
  multi_az_enabled           = true

  subnet_group_name  = aws_elasticache_subnet_group.this.name
  security_group_ids = [var.security_group_id]

  at_rest_encryption_enabled = true
  transit_encryption_enabled = var.transit_encryption
  auth_token                 = var.transit_encryption ? random_password.auth_token.result : null
  # ROTATE keeps the old token valid next to the new one until a second apply with SET
  # (docs/deploy.md, "Rotating secrets").
  auth_token_update_strategy = var.transit_encryption ? var.auth_token_update_strategy : null

  snapshot_retention_limit   = var.snapshot_retention_days
  snapshot_window            = "02:00-03:00"
  maintenance_window         = "sun:05:00-sun:06:00"
  auto_minor_version_upgrade = true
  apply_immediately          = true
}
