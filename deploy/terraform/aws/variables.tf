variable "name" {
  description = "Prefix of every resource name (letters, digits and hyphens)."
  type        = string
  default     = "satchel"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "name must be 2-21 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "vpc_id" {
  description = "VPC to run in."
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets of the internet-facing load balancer (two availability zones at least)."
  type        = list(string)

  validation {
    condition     = length(var.public_subnet_ids) >= 2
    error_message = "An application load balancer needs subnets in two availability zones at least."
  }
}

variable "private_subnet_ids" {
  description = "Subnets of the tasks, the database and Redis (no public IPs; egress through a NAT gateway or VPC endpoints)."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "RDS and ElastiCache need subnets in two availability zones at least."
  }
}

variable "certificate_arn" {
  description = "ACM certificate of the HTTPS listener."
  type        = string
}

variable "image" {
  description = "Satchel container image (built from deploy/docker/Dockerfile), pinned by tag or digest."
  type        = string
}

variable "desired_count" {
  description = "Tasks to start with. More than one is safe here because the database is PostgreSQL and realtime and counters go through Redis."
  type        = number
  default     = 2

  validation {
    condition     = var.desired_count >= 1
    error_message = "desired_count must be at least 1."
  }
}

variable "min_capacity" {
  description = "Fewest tasks the autoscaler keeps."
  type        = number
  default     = 2
}

variable "max_capacity" {
  description = "Most tasks the autoscaler starts."
  type        = number
  default     = 10

  validation {
    condition     = var.max_capacity >= 1
    error_message = "max_capacity must be at least 1."
  }
}

variable "task_cpu" {
  description = "Fargate CPU units per task."
  type        = number
  default     = 1024
}

variable "task_memory" {
  description = "Fargate memory (MiB) per task."
  type        = number
  default     = 2048
}

variable "workers" {
  description = "Satchel worker processes per task (SATCHEL_WORKERS); about one per vCPU."
  type        = number
  default     = 1
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.medium"
}

variable "db_allocated_storage" {
  description = "RDS storage (GiB) at creation; it grows on its own up to db_max_allocated_storage."
  type        = number
  default     = 20
}

variable "db_max_allocated_storage" {
  description = "RDS storage autoscaling ceiling (GiB)."
  type        = number
  default     = 200
}

variable "db_multi_az" {
  description = "A standby database in another availability zone (failover in about a minute)."
  type        = bool
  default     = true
}

variable "db_backup_retention_days" {
  description = "Days of RDS automated backups (point-in-time recovery window)."
  type        = number
  default     = 14
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.t4g.small"
}

variable "log_retention_days" {
  description = "CloudWatch retention of container and WAF logs, in days."
  type        = number
  default     = 365
}

variable "access_log_expiration_days" {
  description = "Days the load balancer and S3 access logs are kept."
  type        = number
  default     = 365
}

variable "deletion_protection" {
  description = "Protect the database and the load balancer from `terraform destroy` (turn off only for throwaway stacks)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
