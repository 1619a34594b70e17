# ECS Fargate: the Satchel tasks, their logs and their autoscaling.

resource "aws_ecs_cluster" "main" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = local.tags
}

resource "aws_cloudwatch_log_group" "satchel" {
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
  tags              = local.tags
}

# ---------------------------------------------------------------- roles

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# what ECS itself needs to start a task: pull the image, write logs, read the secrets
resource "aws_iam_role" "execution" {
  name               = "${var.name}-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = local.tags
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

resource "aws_iam_role_policy" "execution_secrets" {
  name   = "${var.name}-secrets"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution_secrets.json
}

data "aws_iam_policy_document" "execution_secrets" {
  statement {
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [for s in aws_secretsmanager_secret.env : s.arn]
  }

  statement {
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.main.arn]
  }
}

# what the application may call: nothing (S3 goes through the access key of its storage settings)
resource "aws_iam_role" "task" {
  name               = "${var.name}-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = local.tags
}

# ---------------------------------------------------------------- task and service

resource "aws_ecs_task_definition" "satchel" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  # task-local scratch space: /data holds no database here (PostgreSQL) and, with several tasks,
  # no files either (configure S3 storage); /tmp because the root filesystem is read-only
  volume {
    name = "data"
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([
    {
      name                   = "satchel"
      image                  = var.image
      essential              = true
      command                = ["serve"]
      user                   = "10001:10001"
      readonlyRootFilesystem = true
      portMappings           = [{ containerPort = 8090, protocol = "tcp" }]
      environment = [
        { name = "SATCHEL_HTTP", value = "0.0.0.0:8090" },
        { name = "SATCHEL_DIR", value = "/data" },
        { name = "SATCHEL_WORKERS", value = tostring(var.workers) },
      ]
      secrets = [
        for key, secret in aws_secretsmanager_secret.env : { name = key, valueFrom = secret.arn }
      ]
      mountPoints = [
        { sourceVolume = "data", containerPath = "/data", readOnly = false },
        { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false },
      ]
      healthCheck = {
        command     = ["CMD", "python", "/opt/satchel/healthcheck.py"]
        interval    = 10
        timeout     = 5
        retries     = 3
        startPeriod = 30
      }
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          "awslogs-group"         = aws_cloudwatch_log_group.satchel.name
          "awslogs-region"        = local.region
          "awslogs-stream-prefix" = "satchel"
        }
      }
      linuxParameters = {
        capabilities = { drop = ["ALL"] }
      }
      stopTimeout = 30
    }
  ])

  tags       = local.tags
  depends_on = [aws_secretsmanager_secret_version.env]
}

resource "aws_ecs_service" "satchel" {
  name             = var.name
  cluster          = aws_ecs_cluster.main.id
  task_definition  = aws_ecs_task_definition.satchel.arn
  desired_count    = var.desired_count
  launch_type      = "FARGATE"
  platform_version = "LATEST"
  propagate_tags   = "SERVICE"

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = 60

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.satchel.arn
    container_name   = "satchel"
    container_port   = 8090
  }

  # the autoscaler owns the count after the first apply
  lifecycle {
    ignore_changes = [desired_count]
  }

  tags       = local.tags
  depends_on = [aws_lb_listener.https]
}

resource "aws_appautoscaling_target" "satchel" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.satchel.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_capacity
  max_capacity       = var.max_capacity
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${var.name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.satchel.service_namespace
  resource_id        = aws_appautoscaling_target.satchel.resource_id
  scalable_dimension = aws_appautoscaling_target.satchel.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value = 70
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
    # realtime clients reconnect when their task goes away: scale in slowly
    scale_in_cooldown  = 300
    scale_out_cooldown = 60
  }
}
