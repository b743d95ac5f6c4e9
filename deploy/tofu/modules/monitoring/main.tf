# Log groups for every container, the SNS topic alarms notify, and the alarms of the seed
# design. wump's own metrics (namespace var.metrics_namespace, dimension Environment) come
# from the ADOT collector sidecars (deploy/otel/ecs-collector.yaml); the rest are AWS's.

locals {
  containers = toset(["api", "worker", "migrate", "collector"])
  env_dim    = { Environment = var.environment }
  t          = var.thresholds
  actions    = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_log_group" "containers" {
  for_each          = local.containers
  name              = "/ecs/${var.name}/${each.key}"
  retention_in_days = var.log_retention_days
}

# EMF documents the collector writes; CloudWatch extracts the metrics from them.
resource "aws_cloudwatch_log_group" "metrics" {
  name              = "/ecs/${var.name}/metrics"
  retention_in_days = 7
}

resource "aws_sns_topic" "alarms" {
  name = "${var.name}-alarms"
}

resource "aws_sns_topic_subscription" "email" {
  for_each  = toset(var.alarm_emails)
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

# ---- api (ALB metrics) --------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "api_5xx_rate" {
  alarm_name          = "${var.name}-api-5xx-rate"
  alarm_description   = "More than ${local.t.api_5xx_percent} % of api requests failed with 5xx over 5 minutes (runbooks: docs/operations.md)."
  comparison_operator = "GreaterThanThreshold"
  threshold           = local.t.api_5xx_percent
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  metric_query {
    id          = "rate"
    expression  = "IF(requests > 0, 100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / requests, 0)"
    label       = "5xx %"
    return_data = true
  }

  metric_query {
    id = "requests"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "RequestCount"
      dimensions  = { LoadBalancer = var.alb_arn_suffix }
      period      = 300
      stat        = "Sum"
    }
  }

  metric_query {
    id = "target5xx"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      dimensions  = { LoadBalancer = var.alb_arn_suffix }
      period      = 300
      stat        = "Sum"
    }
  }

  # 502/503/504 from the load balancer itself: no healthy target, or a target that hung up.
  metric_query {
    id = "elb5xx"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_ELB_5XX_Count"
      dimensions  = { LoadBalancer = var.alb_arn_suffix }
      period      = 300
      stat        = "Sum"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "api_latency_p95" {
  alarm_name          = "${var.name}-api-latency-p95"
  alarm_description   = "api p95 response time above ${local.t.api_p95_seconds} s for 5 minutes."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "TargetResponseTime"
  dimensions          = { LoadBalancer = var.alb_arn_suffix, TargetGroup = var.target_group_arn_suffix }
  extended_statistic  = "p95"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 5
  comparison_operator = "GreaterThanThreshold"
  threshold           = local.t.api_p95_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

# ---- worker (wump's metrics) --------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "job_failure_rate" {
  alarm_name          = "${var.name}-job-failure-rate"
  alarm_description   = "More than ${local.t.job_failure_percent} % of jobs failed for good over 15 minutes (wump.job.duration: outcome dead or permanent, against those plus completed; retried attempts are not failures yet)."
  comparison_operator = "GreaterThanThreshold"
  threshold           = local.t.job_failure_percent
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  metric_query {
    id = "rate"
    # FILL: an outcome that did not occur in the window has no datapoint, not a zero.
    expression  = "IF(FILL(completed, 0) + FILL(dead, 0) + FILL(permanent, 0) > 0, 100 * (FILL(dead, 0) + FILL(permanent, 0)) / (FILL(completed, 0) + FILL(dead, 0) + FILL(permanent, 0)), 0)"
    label       = "failed jobs %"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = toset(["completed", "dead", "permanent"])
    content {
      id = metric_query.value
      metric {
        namespace   = var.metrics_namespace
        metric_name = "wump.job.duration"
        dimensions  = merge(local.env_dim, { outcome = metric_query.value })
        period      = 900
        stat        = "SampleCount"
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  alarm_name          = "${var.name}-dead-letters"
  alarm_description   = "Jobs are in the dead-letter list: inspect with `wump-worker dlq list` (docs/operations.md)."
  namespace           = var.metrics_namespace
  metric_name         = "wump.dead_letters.size"
  dimensions          = local.env_dim
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = local.t.dead_letters
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

resource "aws_cloudwatch_metric_alarm" "provider_rate_limit" {
  alarm_name          = "${var.name}-provider-rate-limit"
  alarm_description   = "A provider has less than ${local.t.rate_limit_remaining * 100} % of its rate limit left: add tokens or lower worker concurrency."
  namespace           = var.metrics_namespace
  metric_name         = "wump.provider.rate_limit.remaining_ratio"
  dimensions          = local.env_dim
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "LessThanThreshold"
  threshold           = local.t.rate_limit_remaining
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

# ---- CPU sustained (ECS services, RDS) ----------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "service_cpu" {
  for_each = {
    api    = var.api_service_name
    worker = var.worker_service_name
  }
  alarm_name          = "${var.name}-${each.key}-cpu"
  alarm_description   = "${each.key} service CPU above ${local.t.cpu_percent} % for ${local.t.cpu_sustained_minutes} minutes (autoscaling at its limit?)."
  namespace           = "AWS/ECS"
  metric_name         = "CPUUtilization"
  dimensions          = { ClusterName = var.cluster_name, ServiceName = each.value }
  statistic           = "Average"
  period              = 60
  evaluation_periods  = local.t.cpu_sustained_minutes
  datapoints_to_alarm = local.t.cpu_sustained_minutes
  comparison_operator = "GreaterThanThreshold"
  threshold           = local.t.cpu_percent
  treat_missing_data  = "missing"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

resource "aws_cloudwatch_metric_alarm" "db_cpu" {
  alarm_name          = "${var.name}-db-cpu"
  alarm_description   = "RDS CPU above ${local.t.cpu_percent} % for ${local.t.cpu_sustained_minutes} minutes."
  namespace           = "AWS/RDS"
  metric_name         = "CPUUtilization"
  dimensions          = { DBInstanceIdentifier = var.db_instance_id }
  statistic           = "Average"
  period              = 60
  evaluation_periods  = local.t.cpu_sustained_minutes
  datapoints_to_alarm = local.t.cpu_sustained_minutes
  comparison_operator = "GreaterThanThreshold"
  threshold           = local.t.cpu_percent
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

# ---- database and cache -------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "db_connections" {
  alarm_name          = "${var.name}-db-connections"
  alarm_description   = "PostgreSQL connections above ${local.t.db_connections_percent} % of max_connections (${var.db_max_connections})."
  namespace           = "AWS/RDS"
  metric_name         = "DatabaseConnections"
  dimensions          = { DBInstanceIdentifier = var.db_instance_id }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = floor(var.db_max_connections * local.t.db_connections_percent / 100)
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

# The cache runs with noeviction: when memory is full, enqueueing jobs fails. One alarm per
# node (ElastiCache names them <group>-001, -002, ...): the primary moves on failover.
resource "aws_cloudwatch_metric_alarm" "cache_memory" {
  count               = var.cache_node_count
  alarm_name          = "${var.name}-cache-memory-${format("%03d", count.index + 1)}"
  alarm_description   = "Valkey memory above ${local.t.cache_memory_percent} %: at 100 % writes (enqueueing jobs) fail."
  namespace           = "AWS/ElastiCache"
  metric_name         = "DatabaseMemoryUsagePercentage"
  dimensions          = { CacheClusterId = "${var.cache_replication_group_id}-${format("%03d", count.index + 1)}" }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = local.t.cache_memory_percent
  alarm_actions       = local.actions
  ok_actions          = local.actions
}
