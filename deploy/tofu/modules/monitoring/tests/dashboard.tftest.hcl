# `tofu test` of the monitoring module against a mocked AWS provider: the dashboard's
# layout and the queries its widgets send. CI runs it (.github/workflows/ci.yml, job
# `tofu`); locally:
#   tofu -chdir=deploy/tofu/modules/monitoring init -backend=false
#   tofu -chdir=deploy/tofu/modules/monitoring test

mock_provider "aws" {
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:eu-central-1:123456789012:wump-production-alarms" }
  }
}

variables {
  name                       = "wump-production"
  environment                = "production"
  region                     = "eu-central-1"
  cluster_name               = "wump-production"
  api_service_name           = "wump-production-api"
  worker_service_name        = "wump-production-worker"
  alb_arn_suffix             = "app/wump-production-api/0123456789abcdef"
  target_group_arn_suffix    = "targetgroup/wump-production-api/0123456789abcdef"
  db_instance_id             = "wump-production"
  db_max_connections         = 200
  cache_replication_group_id = "wump-production"
  cache_node_count           = 3
}

run "dashboard" {
  command = apply

  assert {
    condition     = aws_cloudwatch_dashboard.this.dashboard_name == "wump-production"
    error_message = "the dashboard is named after the environment's prefix"
  }

  assert {
    condition     = output.dashboard_url == "https://eu-central-1.console.aws.amazon.com/cloudwatch/home?region=eu-central-1#dashboards/dashboard/wump-production"
    error_message = "the dashboard URL opens it in the environment's region"
  }

  assert {
    condition = alltrue([
      for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets :
      w.x >= 0 && w.width > 0 && w.x + w.width <= 24 && w.height > 0
    ])
    error_message = "every widget fits CloudWatch's 24-column grid"
  }

  assert {
    # Widgets sharing a row must not overlap: (y, x) pairs are distinct and x steps by width.
    condition = length(distinct([
      for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : "${w.y}/${w.x}"
    ])) == length(jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets)
    error_message = "two widgets start at the same place"
  }

  assert {
    # 7 single alarms, CPU of two services, memory of three cache nodes.
    condition = length(one([
      for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : w.properties.alarms if w.type == "alarm"
    ])) == 12
    error_message = "the alarm widget shows every alarm of the module"
  }

  assert {
    # Every SEARCH is scoped to this environment and to wump's namespace.
    condition = alltrue(flatten([
      for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : [
        for m in try(w.properties.metrics, []) : [
          for q in m : strcontains(q.expression, "Environment=\"production\"") && startswith(q.expression, "SEARCH('{Wump,Environment,")
          if can(q.expression) && strcontains(try(q.expression, ""), "SEARCH(")
        ]
      ]
    ]))
    error_message = "a SEARCH reads another environment's or namespace's metrics"
  }

  assert {
    condition = contains(flatten([
      for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : [
        for m in try(w.properties.metrics, []) : [for q in m : try(q.expression, "")]
      ]
      ]),
      "SEARCH('{Wump,Environment,provider,token,resource} MetricName=\"wump.provider.quota.remaining\" Environment=\"production\"', 'Minimum', 60)",
    )
    error_message = "the per-token quota widget searches the collector's dimension set of wump.provider.quota.remaining"
  }

  assert {
    condition = contains(flatten([
      for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : [
        for m in try(w.properties.metrics, []) : [for q in m : try(q.expression, "")]
      ]
      ]),
      "SEARCH('{Wump,Environment,\"http.route\"} MetricName=\"http.server.request.duration\" Environment=\"production\"', 'SampleCount', 60)",
    )
    error_message = "requests by route: dimension names with dots are quoted in the SEARCH schema"
  }

  assert {
    condition = length([
      for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : w
      if w.type == "log" && strcontains(try(w.properties.query, ""), "SOURCE '/ecs/wump-production/api'") && strcontains(try(w.properties.query, ""), "SOURCE '/ecs/wump-production/worker'")
    ]) == 1
    error_message = "the log widget reads the api's and the worker's log groups"
  }

  assert {
    condition = length(flatten([
      for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : [
        for m in try(w.properties.metrics, []) : m[3] if try(m[0], "") == "AWS/ElastiCache"
      ]
    ])) == 6
    error_message = "the Valkey widget shows connections and memory of each of the three nodes"
  }
}
