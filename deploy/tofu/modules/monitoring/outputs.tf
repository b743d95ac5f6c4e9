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
