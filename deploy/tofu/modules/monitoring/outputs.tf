output "log_group_names" {
  description = "Log group of each container (api, worker, migrate, collector)."
  value       = { for k, g in aws_cloudwatch_log_group.containers : k => g.name }
}

output "metrics_log_group_name" {
  description = "Log group the collector writes EMF metrics to."
  value       = aws_cloudwatch_log_group.metrics.name
}

output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies."
  value       = aws_sns_topic.alarms.arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard of this environment (docs/operations.md, \"Dashboard\")."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "dashboard_url" {
  description = "The dashboard in the AWS console."
  value       = "https://${var.region}.console.aws.amazon.com/cloudwatch/home?region=${var.region}#dashboards/dashboard/${aws_cloudwatch_dashboard.this.dashboard_name}"
}
