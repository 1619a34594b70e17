# What the tasks read as environment variables, kept in Secrets Manager (encrypted with the module's
# key) rather than in the task definition. Terraform state holds the generated passwords too: keep it
# in an encrypted, access-controlled backend.

resource "random_password" "backup" {
  length  = 48
  special = false
}

locals {
  redis_url = "rediss://:${random_password.redis.result}@${aws_elasticache_replication_group.main.primary_endpoint_address}:6379/0"
  secrets = {
    SATCHEL_DB = "postgres://satchel:${random_password.db.result}@${aws_db_instance.main.address}:5432/satchel?sslmode=require"
    # one Redis for both: counters in the keyspace, realtime on pub/sub
    SATCHEL_CACHE_URL         = local.redis_url
    SATCHEL_BROKER_URL        = local.redis_url
    SATCHEL_BACKUP_PASSPHRASE = random_password.backup.result
  }
}

resource "aws_secretsmanager_secret" "env" {
  for_each = local.secrets
  #checkov:skip=CKV2_AWS_57:No rotation Lambda: the URLs embed the RDS and ElastiCache passwords, which change together with them (`terraform apply -replace=random_password.db`), and the backup passphrase must stay to open older archives.

  name                    = "${var.name}/${each.key}"
  description             = "Satchel ${each.key}"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 7
  tags                    = local.tags
}

resource "aws_secretsmanager_secret_version" "env" {
  for_each = local.secrets

  secret_id     = aws_secretsmanager_secret.env[each.key].id
  secret_string = each.value
}
