# One CloudWatch dashboard per environment, `wump-ENV`: the alarms' state, then a row per
# part of wump (api, cache and data stores, queues and jobs, providers and their tokens)
# and the warnings the processes logged. The runbooks in docs/operations.md ("Fault
# runbooks") say which widget shows which fault.
#
# wump's own metrics are read with exactly the names and dimension sets the ADOT collector
# declares (deploy/otel/ecs-collector.yaml; `just check-hcl` checks every name against the
# collector and the code). Series whose dimension values are not known here (routes,
# queues, job types, tokens) are found with SEARCH: a SEARCH schema
# `{Namespace,Dim1,Dim2}` matches metrics with exactly those dimensions, so each search
# below names the full dimension set the collector exports.
#
# Histograms (`http.server.request.duration`, `wump.job.duration`) reach CloudWatch as
# statistic sets per interval: SampleCount, Sum and Average are right, percentiles are not
# (and Minimum/Maximum span the process's lifetime). Latency percentiles come from the ALB.

locals {
  ns     = var.metrics_namespace
  env    = var.environment
  region = var.region

  # SEARCHes by name: dimensions after Environment (as the collector declares them; names
  # with dots are quoted), the metric, an optional extra filter, the statistic, the period.
  searches = {
    requests_by_route = { dims = "\"http.route\"", metric = "http.server.request.duration", filter = "", stat = "SampleCount", period = 60 }
    latency_by_route  = { dims = "\"http.route\"", metric = "http.server.request.duration", filter = "", stat = "Average", period = 60 }
    errors_by_route   = { dims = "\"http.route\",\"http.response.status_code\"", metric = "http.server.request.duration", filter = " (\"http.response.status_code\"=\"500\" OR \"http.response.status_code\"=\"502\" OR \"http.response.status_code\"=\"503\" OR \"http.response.status_code\"=\"504\")", stat = "SampleCount", period = 60 }
    cache_by_result   = { dims = "result", metric = "wump.api.cache.lookups", filter = "", stat = "Sum", period = 60 }
    limiter_decisions = { dims = "backend,decision", metric = "wump.api.rate_limit.decisions", filter = "", stat = "Sum", period = 60 }
    pool_waiting      = { dims = "pool", metric = "wump.db.pool.waiting", filter = "", stat = "Maximum", period = 60 }
    pool_available    = { dims = "pool", metric = "wump.db.pool.available", filter = "", stat = "Minimum", period = 60 }
    queue_depth       = { dims = "queue", metric = "wump.queue.depth", filter = "", stat = "Maximum", period = 60 }
    job_outcomes      = { dims = "job_type,outcome", metric = "wump.jobs", filter = "", stat = "Sum", period = 300 }
    job_duration      = { dims = "job_type,outcome", metric = "wump.job.duration", filter = " outcome=\"completed\"", stat = "Average", period = 300 }
    provider_requests = { dims = "provider,outcome", metric = "wump.provider.requests", filter = "", stat = "Sum", period = 60 }
    provider_waits    = { dims = "provider", metric = "wump.provider.rate_limit_wait", filter = "", stat = "Sum", period = 300 }
    remaining_ratio   = { dims = "provider,resource", metric = "wump.provider.rate_limit.remaining_ratio", filter = "", stat = "Minimum", period = 60 }
    token_quota       = { dims = "provider,token,resource", metric = "wump.provider.quota.remaining", filter = "", stat = "Minimum", period = 60 }
    token_waits       = { dims = "provider,token,resource,kind", metric = "wump.provider.limit.waits", filter = "", stat = "Sum", period = 300 }
    token_refused     = { dims = "provider,token,resource", metric = "wump.provider.limit.refused", filter = "", stat = "Sum", period = 300 }
    limiter_fallback  = { dims = "provider", metric = "wump.provider.limiter.fallback", filter = "", stat = "Maximum", period = 60 }
  }

  search = {
    for k, s in local.searches : k => format(
      "SEARCH('{%s,Environment,%s} MetricName=\"%s\" Environment=\"%s\"%s', '%s', %d)",
      local.ns, s.dims, s.metric, local.env, s.filter, s.stat, s.period,
    )
  }

  # Each SEARCH as the metrics of a graph: one row holding the expression.
  searched = { for k, e in local.search : k => [[{ expression = e, id = k, period = local.searches[k].period }]] }

  alb      = ["LoadBalancer", var.alb_arn_suffix]
  alb_tg   = ["LoadBalancer", var.alb_arn_suffix, "TargetGroup", var.target_group_arn_suffix]
  db       = ["DBInstanceIdentifier", var.db_instance_id]
  nodes    = [for i in range(var.cache_node_count) : "${var.cache_replication_group_id}-${format("%03d", i + 1)}"]
  services = { api = var.api_service_name, worker = var.worker_service_name }

  alarm_arns = concat(
    [
      aws_cloudwatch_metric_alarm.api_5xx_rate.arn,
      aws_cloudwatch_metric_alarm.api_latency_p95.arn,
      aws_cloudwatch_metric_alarm.job_failure_rate.arn,
      aws_cloudwatch_metric_alarm.dead_letters.arn,
      aws_cloudwatch_metric_alarm.provider_rate_limit.arn,
      aws_cloudwatch_metric_alarm.db_cpu.arn,
      aws_cloudwatch_metric_alarm.db_connections.arn,
    ],
    [for a in aws_cloudwatch_metric_alarm.service_cpu : a.arn],
    aws_cloudwatch_metric_alarm.cache_memory[*].arn,
  )

  # Warnings and errors of both services grouped by message: the messages the runbooks name.
  log_query = join(" | ", [
    "SOURCE '${aws_cloudwatch_log_group.containers["api"].name}'",
    "SOURCE '${aws_cloudwatch_log_group.containers["worker"].name}'",
    "filter level = \"WARN\" or level = \"ERROR\"",
    "stats count(*) as events by @log, level, fields.message",
    "sort events desc",
    "limit 50",
  ])

  # Rows top to bottom; the widgets of a row share its width equally.
  rows = [
    {
      height = 4
      widgets = [
        { type = "alarm", properties = { title = "Alarms", alarms = local.alarm_arns, sortBy = "stateUpdatedTimestamp" } },
      ]
    },
    {
      height  = 1
      widgets = [{ type = "text", properties = { markdown = "## API (wump-api). Runbooks: docs/operations.md, \"Fault runbooks\"" } }]
    },
    {
      height = 6
      widgets = [
        { type = "metric", properties = { title = "Requests by route (per minute)", view = "timeSeries", stacked = true, region = local.region, period = 60, metrics = local.searched.requests_by_route } },
        { type = "metric", properties = { title = "Average latency by route (s)", view = "timeSeries", region = local.region, period = 60, metrics = local.searched.latency_by_route } },
        { type = "metric", properties = { title = "5xx by route and status (per minute)", view = "timeSeries", stacked = true, region = local.region, period = 60, metrics = local.searched.errors_by_route } },
      ]
    },
    {
      height = 6
      widgets = [
        {
          type = "metric"
          properties = {
            title  = "Load balancer: latency percentiles (s)"
            view   = "timeSeries"
            region = local.region
            period = 60
            metrics = [
              concat(["AWS/ApplicationELB", "TargetResponseTime"], local.alb_tg, [{ stat = "p50", label = "p50" }]),
              concat(["AWS/ApplicationELB", "TargetResponseTime"], local.alb_tg, [{ stat = "p95", label = "p95" }]),
              concat(["AWS/ApplicationELB", "TargetResponseTime"], local.alb_tg, [{ stat = "p99", label = "p99" }]),
            ]
            annotations = { horizontal = [{ label = "p95 alarm", value = local.t.api_p95_seconds }] }
          }
        },
        {
          type = "metric"
          properties = {
            title  = "Load balancer: 5xx and unhealthy targets"
            view   = "timeSeries"
            region = local.region
            period = 60
            stat   = "Sum"
            metrics = [
              concat(["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"], local.alb, [{ label = "5xx from wump-api" }]),
              concat(["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"], local.alb, [{ label = "5xx from the ALB (no healthy target)" }]),
              concat(["AWS/ApplicationELB", "UnHealthyHostCount"], local.alb_tg, [{ stat = "Maximum", label = "unhealthy api tasks", yAxis = "right" }]),
              concat(["AWS/ApplicationELB", "HealthyHostCount"], local.alb_tg, [{ stat = "Minimum", label = "healthy api tasks", yAxis = "right" }]),
            ]
          }
        },
        { type = "metric", properties = { title = "Rate limiter decisions by backend (local = Valkey away)", view = "timeSeries", stacked = true, region = local.region, period = 60, metrics = local.searched.limiter_decisions } },
        {
          type = "metric"
          properties = {
            title  = "API keys accepted in their rotation grace period"
            view   = "timeSeries"
            region = local.region
            period = 300
            stat   = "Sum"
            metrics = [
              [local.ns, "wump.api.auth.grace_accepts", "Environment", local.env, { label = "grace accepts" }],
            ]
          }
        },
      ]
    },
    {
      height  = 1
      widgets = [{ type = "text", properties = { markdown = "## Response cache and data stores" } }]
    },
    {
      height = 6
      widgets = [
        {
          type = "metric"
          properties = {
            title  = "Response cache hit ratio (%)"
            view   = "timeSeries"
            region = local.region
            period = 60
            yAxis  = { left = { min = 0, max = 100 } }
            metrics = [
              [{ expression = "IF(FILL(hit, 0) + FILL(miss, 0) + FILL(stale, 0) > 0, 100 * FILL(hit, 0) / (FILL(hit, 0) + FILL(miss, 0) + FILL(stale, 0)), 0)", label = "hit %", id = "ratio" }],
              [local.ns, "wump.api.cache.lookups", "Environment", local.env, "result", "hit", { id = "hit", stat = "Sum", visible = false }],
              [local.ns, "wump.api.cache.lookups", "Environment", local.env, "result", "miss", { id = "miss", stat = "Sum", visible = false }],
              [local.ns, "wump.api.cache.lookups", "Environment", local.env, "result", "stale", { id = "stale", stat = "Sum", visible = false }],
            ]
          }
        },
        { type = "metric", properties = { title = "Cache lookups by result (stale = served while the database failed)", view = "timeSeries", stacked = true, region = local.region, period = 60, metrics = local.searched.cache_by_result } },
        { type = "metric", properties = { title = "DB pool: requests waiting for a connection", view = "timeSeries", region = local.region, period = 60, metrics = concat(local.searched.pool_waiting, local.searched.pool_available) } },
        {
          type = "metric"
          properties = {
            title  = "PostgreSQL (RDS)"
            view   = "timeSeries"
            region = local.region
            period = 60
            metrics = [
              concat(["AWS/RDS", "DatabaseConnections"], local.db, [{ stat = "Maximum", label = "connections" }]),
              concat(["AWS/RDS", "CPUUtilization"], local.db, [{ stat = "Average", label = "CPU %", yAxis = "right" }]),
            ]
          }
        },
        {
          type = "metric"
          properties = {
            title  = "Valkey (ElastiCache), per node"
            view   = "timeSeries"
            region = local.region
            period = 60
            metrics = concat(
              [for n in local.nodes : ["AWS/ElastiCache", "CurrConnections", "CacheClusterId", n, { stat = "Maximum", label = "${n} connections" }]],
              [for n in local.nodes : ["AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "CacheClusterId", n, { stat = "Maximum", label = "${n} memory %", yAxis = "right" }]],
            )
          }
        },
      ]
    },
    {
      height  = 1
      widgets = [{ type = "text", properties = { markdown = "## Queues and jobs (wump-worker)" } }]
    },
    {
      height = 6
      widgets = [
        { type = "metric", properties = { title = "Queue depth per queue (pending + scheduled + running)", view = "timeSeries", stacked = true, region = local.region, period = 60, metrics = local.searched.queue_depth } },
        {
          type = "metric"
          properties = {
            title  = "Backlog, dead letters and worker tasks"
            view   = "timeSeries"
            region = local.region
            period = 60
            metrics = concat(
              [
                [local.ns, "wump.queue.depth_total", "Environment", local.env, { stat = "Maximum", label = "jobs in every queue" }],
                [local.ns, "wump.dead_letters.size", "Environment", local.env, { stat = "Maximum", label = "dead letters" }],
              ],
              [
                for k, s in local.services :
                ["ECS/ContainerInsights", "RunningTaskCount", "ClusterName", var.cluster_name, "ServiceName", s, { stat = "Average", label = "running ${k} tasks", yAxis = "right" }]
              ],
            )
          }
        },
        { type = "metric", properties = { title = "Job outcomes by type (per 5 min)", view = "timeSeries", stacked = true, region = local.region, period = 300, metrics = local.searched.job_outcomes } },
        { type = "metric", properties = { title = "Average job duration by type, completed (s)", view = "timeSeries", region = local.region, period = 300, metrics = local.searched.job_duration } },
      ]
    },
    {
      height  = 1
      widgets = [{ type = "text", properties = { markdown = "## Providers and their tokens (tokens appear as 8-hex fingerprints)" } }]
    },
    {
      height = 6
      widgets = [
        { type = "metric", properties = { title = "Provider requests by outcome (per minute)", view = "timeSeries", stacked = true, region = local.region, period = 60, metrics = local.searched.provider_requests } },
        { type = "metric", properties = { title = "Waits providers asked for (s per 5 min)", view = "timeSeries", region = local.region, period = 300, metrics = local.searched.provider_waits } },
        {
          type = "metric"
          properties = {
            title       = "Quota remaining ratio by resource (last token that answered)"
            view        = "timeSeries"
            region      = local.region
            period      = 60
            yAxis       = { left = { min = 0, max = 1 } }
            metrics     = local.searched.remaining_ratio
            annotations = { horizontal = [{ label = "alarm", value = local.t.rate_limit_remaining }] }
          }
        },
      ]
    },
    {
      height = 6
      widgets = [
        { type = "metric", properties = { title = "Quota remaining per token and resource", view = "timeSeries", region = local.region, period = 60, metrics = local.searched.token_quota } },
        { type = "metric", properties = { title = "Limit waits per token, resource and kind", view = "timeSeries", stacked = true, region = local.region, period = 300, metrics = local.searched.token_waits } },
        { type = "metric", properties = { title = "Requests refused per token (no quota to give)", view = "timeSeries", stacked = true, region = local.region, period = 300, metrics = local.searched.token_refused } },
        { type = "metric", properties = { title = "Shared limiter fell back to per-process (1 = Valkey away)", view = "timeSeries", region = local.region, period = 60, metrics = local.searched.limiter_fallback } },
      ]
    },
    {
      height = 8
      widgets = [
        { type = "log", properties = { title = "Warnings and errors by message (api, worker)", view = "table", region = local.region, query = local.log_query } },
      ]
    },
  ]

  row_y = [for i, r in local.rows : sum(concat([0], [for prev in slice(local.rows, 0, i) : prev.height]))]

  widgets = flatten([
    for i, r in local.rows : [
      for j, w in r.widgets : merge(w, {
        x      = j * floor(24 / length(r.widgets))
        y      = local.row_y[i]
        width  = floor(24 / length(r.widgets))
        height = r.height
      })
    ]
  ])
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({ widgets = local.widgets })
}
