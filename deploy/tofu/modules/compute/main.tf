# ECS on Fargate: the api service behind an ALB, the worker service without one, and a
# one-off migrate task definition. Each api and worker task carries an AWS Distro for
# OpenTelemetry collector sidecar that turns wump's OTLP metrics into CloudWatch metrics
# (EMF, namespace var.metrics_namespace) and its traces into X-Ray.
#
# Deploys: CI registers new revisions of these task definitions with a new image tag and
# points the services at them (.github/workflows/ci.yml), so the services ignore
# `task_definition` changes made here; a change here (a new setting, a new size) goes out
# with the next deploy. `desired_count` belongs to autoscaling.


locals {
  region = var.region

  # ECS gives a task SIGTERM, then SIGKILL after stopTimeout: a margin over each binary's
  # own grace period so in-flight requests and jobs finish (Fargate allows at most 120 s).
  api_stop_timeout    = min(var.api.shutdown_timeout_secs + 5, 120)
  worker_stop_timeout = min(var.worker.shutdown_grace_secs + 5, 120)

  # RDS's CA bundle, baked into the images (deploy/docker/Dockerfile): the database URL
  # asks for sslmode=verify-full (modules/secrets).
  database_ca_file = "/etc/wump/rds-global-bundle.pem"

  common_environment = merge({
    # Migrations run only as the migrate task (expand/contract, docs/deploy.md).
    WUMP__DATABASE__MIGRATE_ON_START = "false"
    WUMP__DATABASE__CA_FILE          = local.database_ca_file
    WUMP__TELEMETRY__LOG_FORMAT      = "json"
    # The collector sidecar shares the task's network namespace.
    OTEL_EXPORTER_OTLP_ENDPOINT = "http://localhost:4317"
    OTEL_RESOURCE_ATTRIBUTES    = "deployment.environment=${var.environment}"
  }, var.environment_variables)

  api_environment = merge(local.common_environment, {
    WUMP__API__BIND                  = "0.0.0.0:${var.api_port}"
    WUMP__API__SHUTDOWN_TIMEOUT_SECS = tostring(var.api.shutdown_timeout_secs)
  })

  worker_environment = merge(local.common_environment, {
    WUMP__WORKER__HEALTH_BIND         = "0.0.0.0:${var.worker_health_port}"
    WUMP__WORKER__SHUTDOWN_GRACE_SECS = tostring(var.worker.shutdown_grace_secs)
  })

  api_secrets = merge(
    {
      WUMP__DATABASE__URL        = var.secret_arns.database_url
      WUMP__VALKEY__URL          = var.secret_arns.valkey_url
      WUMP__API__ADMIN_KEY       = var.secret_arns.admin_key
      WUMP__WEBHOOKS__SECRET_KEY = var.secret_arns.webhook_key
    },
    var.read_replica ? { WUMP__DATABASE__READ_URL = var.secret_arns.read_database_url } : {},
  )

  worker_secrets = {
    WUMP__DATABASE__URL             = var.secret_arns.database_url
    WUMP__VALKEY__URL               = var.secret_arns.valkey_url
    WUMP__PROVIDERS__GITHUB__TOKENS = var.secret_arns.github_tokens
    WUMP__WEBHOOKS__SECRET_KEY      = var.secret_arns.webhook_key
  }

  # No curl in the images: bash's /dev/tcp sends GET /health (liveness) to the port.
  health_command = "exec 3<>/dev/tcp/127.0.0.1/%d && printf 'GET /health HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"

  collector_container = {
    name      = "collector"
    image     = var.collector_image
    essential = false # losing metrics must not stop the service
    environment = [
      { name = "AOT_CONFIG_CONTENT", value = file("${path.module}/../../../otel/ecs-collector.yaml") },
      { name = "WUMP_ENVIRONMENT", value = var.environment },
      { name = "WUMP_METRICS_NAMESPACE", value = var.metrics_namespace },
      { name = "WUMP_METRICS_LOG_GROUP", value = var.metrics_log_group_name },
    ]
    healthCheck = {
      command     = ["CMD", "/healthcheck"]
      interval    = 10
      timeout     = 5
      retries     = 3
      startPeriod = 10
    }
    logConfiguration = local.log_configuration["collector"]
  }

  log_configuration = {
    for container, group in var.log_group_names : container => {
      logDriver = "awslogs"
      options = {
        awslogs-group         = group
        awslogs-region        = local.region
        awslogs-stream-prefix = container
      }
    }
  }
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  # Container Insights publishes RunningTaskCount, which the worker's scaling divides by.
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

# ---- load balancer ------------------------------------------------------------------------

resource "aws_lb" "api" {
  name                       = substr("${var.name}-api", 0, 32)
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = var.public_subnet_ids
  security_groups            = [var.security_group_ids.alb]
  drop_invalid_header_fields = true
  idle_timeout               = 60
}

resource "aws_lb_target_group" "api" {
  name                 = substr("${var.name}-api", 0, 32)
  vpc_id               = var.vpc_id
  target_type          = "ip"
  protocol             = "HTTP"
  port                 = var.api_port
  deregistration_delay = 30

  # Readiness: a task whose database is unreachable answers 503 and gets no traffic.
  health_check {
    path                = "/health/ready"
    matcher             = "200"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.api.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type             = var.certificate_arn == null ? "forward" : "redirect"
    target_group_arn = var.certificate_arn == null ? aws_lb_target_group.api.arn : null

    dynamic "redirect" {
      for_each = var.certificate_arn == null ? [] : [1]
      content {
        port        = "443"
        protocol    = "HTTPS"
        status_code = "HTTP_301"
      }
    }
  }
}

resource "aws_lb_listener" "https" {
  count             = var.certificate_arn == null ? 0 : 1
  load_balancer_arn = aws_lb.api.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.api.arn
  }
}

# /metrics is for scrapers inside the network (compose's Prometheus); on ECS the collector
# sidecar exports metrics, and the internet has no business reading them.
resource "aws_lb_listener_rule" "hide_metrics" {
  listener_arn = var.certificate_arn == null ? aws_lb_listener.http.arn : aws_lb_listener.https[0].arn
  priority     = 10

  condition {
    path_pattern {
      values = ["/metrics", "/metrics/*"]
    }
  }

  action {
    type = "fixed-response"
    fixed_response {
      content_type = "text/plain"
      message_body = "not found"
      status_code  = "404"
    }
  }
}

# ---- task definitions ---------------------------------------------------------------------

resource "aws_ecs_task_definition" "api" {
  family                   = "${var.name}-api"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.api.cpu
  memory                   = var.api.memory
  execution_role_arn       = var.execution_role_arn
  task_role_arn            = var.api_task_role_arn
  skip_destroy             = true # old revisions stay registered: rollback targets

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([
    {
      name         = "api"
      image        = var.api_image
      essential    = true
      command      = ["serve"]
      portMappings = [{ containerPort = var.api_port, protocol = "tcp" }]
      environment  = [for k, v in local.api_environment : { name = k, value = v }]
      secrets      = [for k, arn in local.api_secrets : { name = k, valueFrom = arn }]
      stopTimeout  = local.api_stop_timeout
      healthCheck = {
        command     = ["CMD", "bash", "-c", format(local.health_command, var.api_port)]
        interval    = 10
        timeout     = 5
        retries     = 3
        startPeriod = 20
      }
      dependsOn        = [{ containerName = "collector", condition = "START" }]
      logConfiguration = local.log_configuration["api"]
    },
    local.collector_container,
  ])
}

resource "aws_ecs_task_definition" "worker" {
  family                   = "${var.name}-worker"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.worker.cpu
  memory                   = var.worker.memory
  execution_role_arn       = var.execution_role_arn
  task_role_arn            = var.worker_task_role_arn
  skip_destroy             = true

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([
    {
      name        = "worker"
      image       = var.worker_image
      essential   = true
      command     = ["run"]
      environment = [for k, v in local.worker_environment : { name = k, value = v }]
      secrets     = [for k, arn in local.worker_secrets : { name = k, valueFrom = arn }]
      stopTimeout = local.worker_stop_timeout
      healthCheck = {
        command     = ["CMD", "bash", "-c", format(local.health_command, var.worker_health_port)]
        interval    = 10
        timeout     = 5
        retries     = 3
        startPeriod = 20
      }
      dependsOn        = [{ containerName = "collector", condition = "START" }]
      logConfiguration = local.log_configuration["worker"]
    },
    local.collector_container,
  ])
}

# Run before every deploy: `aws ecs run-task --task-definition <name>-migrate ...`
# (docs/deploy.md; CI does it). The api image's `migrate` applies pending migrations and exits.
resource "aws_ecs_task_definition" "migrate" {
  family                   = "${var.name}-migrate"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = var.execution_role_arn
  skip_destroy             = true

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([
    {
      name      = "migrate"
      image     = var.api_image
      essential = true
      command   = ["migrate"]
      environment = [
        { name = "WUMP__DATABASE__MIGRATE_ON_START", value = "false" },
        { name = "WUMP__DATABASE__CA_FILE", value = local.database_ca_file },
        { name = "WUMP__TELEMETRY__LOG_FORMAT", value = "json" },
      ]
      secrets          = [{ name = "WUMP__DATABASE__URL", valueFrom = var.secret_arns.database_url }]
      logConfiguration = local.log_configuration["migrate"]
    },
  ])
}

# ---- services -----------------------------------------------------------------------------

resource "aws_ecs_service" "api" {
  name                              = "${var.name}-api"
  cluster                           = aws_ecs_cluster.this.id
  task_definition                   = aws_ecs_task_definition.api.arn
  desired_count                     = var.api.min_tasks
  launch_type                       = "FARGATE"
  enable_execute_command            = var.enable_execute_command
  health_check_grace_period_seconds = 30
  propagate_tags                    = "SERVICE"

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [var.security_group_ids.api]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.api.arn
    container_name   = "api"
    container_port   = var.api_port
  }

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  # A deploy whose tasks never get healthy is rolled back to the previous revision.
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    ignore_changes = [task_definition, desired_count]
  }

  depends_on = [aws_lb_listener.http]
}

resource "aws_ecs_service" "worker" {
  name                   = "${var.name}-worker"
  cluster                = aws_ecs_cluster.this.id
  task_definition        = aws_ecs_task_definition.worker.arn
  desired_count          = var.worker.min_tasks
  launch_type            = "FARGATE"
  enable_execute_command = var.enable_execute_command
  propagate_tags         = "SERVICE"

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [var.security_group_ids.worker]
    assign_public_ip = false
  }

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    ignore_changes = [task_definition, desired_count]
  }
}

# ---- autoscaling --------------------------------------------------------------------------

resource "aws_appautoscaling_target" "api" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.api.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.api.min_tasks
  max_capacity       = var.api.max_tasks
}

resource "aws_appautoscaling_policy" "api_cpu" {
  name               = "${var.name}-api-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.api.service_namespace
  resource_id        = aws_appautoscaling_target.api.resource_id
  scalable_dimension = aws_appautoscaling_target.api.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.api.cpu_target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "api_memory" {
  name               = "${var.name}-api-memory"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.api.service_namespace
  resource_id        = aws_appautoscaling_target.api.resource_id
  scalable_dimension = aws_appautoscaling_target.api.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.api.memory_target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageMemoryUtilization"
    }
  }
}

resource "aws_appautoscaling_target" "worker" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.worker.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.worker.min_tasks
  max_capacity       = var.worker.max_tasks
}

# Target tracking on backlog per task: wump.queue.depth_total (every replica reports the
# same sum over all queues, so Maximum is the backlog) divided by the running tasks. The
# fleet grows in proportion to the backlog and shrinks back to min_tasks when it drains;
# AWS manages the alarms. (Step scaling on the raw depth would need hand-tuned steps that
# go stale whenever a task's throughput changes; see docs/deploy.md.)
resource "aws_appautoscaling_policy" "worker_backlog" {
  name               = "${var.name}-worker-backlog"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.worker.service_namespace
  resource_id        = aws_appautoscaling_target.worker.resource_id
  scalable_dimension = aws_appautoscaling_target.worker.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.worker.backlog_per_task
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    customized_metric_specification {
      metrics {
        id          = "depth"
        label       = "jobs waiting in every queue"
        return_data = false
        metric_stat {
          stat = "Maximum"
          metric {
            namespace   = var.metrics_namespace
            metric_name = "wump.queue.depth_total"
            dimensions {
              name  = "Environment"
              value = var.environment
            }
          }
        }
      }

      metrics {
        id          = "tasks"
        label       = "running worker tasks"
        return_data = false
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"
            dimensions {
              name  = "ClusterName"
              value = aws_ecs_cluster.this.name
            }
            dimensions {
              name  = "ServiceName"
              value = aws_ecs_service.worker.name
            }
          }
        }
      }

      metrics {
        id          = "backlog"
        label       = "jobs waiting per worker task"
        expression  = "IF(tasks > 0, depth / tasks, depth)"
        return_data = true
      }
    }
  }
}
