output "api_repository_url" {
  description = "Push wump-api images here (docker build --target api)."
  value       = aws_ecr_repository.this["api"].repository_url
}

output "worker_repository_url" {
  description = "Push wump-worker images here (docker build --target worker)."
  value       = aws_ecr_repository.this["worker"].repository_url
}

output "repository_arns" {
  description = "Both repositories, for pull (task execution) and push (CI) policies."
  value       = [for r in aws_ecr_repository.this : r.arn]
}
