output "execution_role_arn" {
  description = "Task execution role (image pull, logs, secrets)."
  value       = aws_iam_role.execution.arn
}

output "api_task_role_arn" {
  description = "Role of the running api tasks."
  value       = aws_iam_role.task["api"].arn
}

output "worker_task_role_arn" {
  description = "Role of the running worker tasks."
  value       = aws_iam_role.task["worker"].arn
}

output "deploy_role_arn" {
  description = "Role GitHub Actions assumes to deploy (the AWS_DEPLOY_ROLE_ARN of the GitHub environment), or null."
  value       = local.deploy_enabled ? aws_iam_role.deploy[0].arn : null
}

output "task_families" {
  description = "Task definition families the deploy role may update."
  value       = local.task_families
}
