# ElastiCache Redis (cluster mode off: one primary, one replica): Satchel's shared rate-limit and
# login-guard counters (SATCHEL_CACHE_URL) and the realtime bus between tasks (SATCHEL_BROKER_URL,
# pub/sub). Losing its data is harmless: counters restart, realtime clients reconnect.

resource "random_password" "redis" {
  # ElastiCache auth tokens: 16-128 printable characters; letters and digits keep the URL simple
  length  = 48
  special = false
}

resource "aws_elasticache_subnet_group" "main" {
  name       = var.name
  subnet_ids = var.private_subnet_ids
  tags       = local.tags
}

resource "aws_elasticache_replication_group" "main" {
  replication_group_id = var.name
  description          = "Satchel rate-limit counters and realtime events"
  engine               = "redis"
  engine_version       = "7.1"
  node_type            = var.redis_node_type
  port                 = 6379

  num_cache_clusters         = 2
  automatic_failover_enabled = true
  multi_az_enabled           = true

  subnet_group_name  = aws_elasticache_subnet_group.main.name
  security_group_ids = [aws_security_group.redis.id]

  at_rest_encryption_enabled = true
  transit_encryption_enabled = true
  kms_key_id                 = aws_kms_key.main.arn
  auth_token                 = random_password.redis.result

  snapshot_retention_limit   = 1
  auto_minor_version_upgrade = true
  apply_immediately          = false

  tags = local.tags
}
