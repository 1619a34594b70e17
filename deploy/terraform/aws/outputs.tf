output "url" {
  description = "Where Satchel answers (point your DNS name at load_balancer_dns_name)."
  value       = "https://${aws_lb.main.dns_name}"
}

output "load_balancer_dns_name" {
  description = "DNS name of the load balancer, for a CNAME or alias record."
  value       = aws_lb.main.dns_name
}

output "files_bucket" {
  description = "Bucket for Settings > Files storage and Backups (with region and the files user's access key)."
  value       = aws_s3_bucket.files.bucket
}

output "files_bucket_region" {
  description = "Region of the files bucket."
  value       = local.region
}

output "files_user" {
  description = "IAM user whose access key goes into Satchel's S3 settings: aws iam create-access-key --user-name <this>."
  value       = aws_iam_user.files.name
}

output "cluster_name" {
  description = "ECS cluster (for `aws ecs execute-command` or `run-task` one-off commands)."
  value       = aws_ecs_cluster.main.name
}

output "secret_arns" {
  description = "Secrets Manager ARNs of the tasks' SATCHEL_* variables."
  value       = { for key, secret in aws_secretsmanager_secret.env : key => secret.arn }
}
