# One wump deployment: networking, images, database, cache, secrets, IAM, ECS and
# monitoring. dev, staging and production run this same file (keep them identical);
# what differs lives in each environment's terraform.tfvars.

locals {
  name = "wump-${var.environment}"
}

module "networking" {
  source             = "./modules/networking"
  name               = local.name
  az_count           = var.az_count
  single_nat_gateway = var.single_nat_gateway
}

module "ecr" {
  source       = "./modules/ecr"
  name         = local.name
  force_delete = !var.protect_data
}

module "database" {
  source                = "./modules/database"
  name                  = local.name
  subnet_ids            = module.networking.database_subnet_ids
  security_group_id     = module.networking.database_security_group_id
  instance_class        = var.database.instance_class
  allocated_storage_gb  = var.database.allocated_storage_gb
  multi_az              = var.database.multi_az
  backup_retention_days = var.database.backup_retention_days
  max_connections       = var.database.max_connections
  read_replica          = var.database.read_replica
  require_tls           = var.database.require_tls
  performance_insights  = var.database.performance_insights
  deletion_protection   = var.protect_data
  skip_final_snapshot   = !var.protect_data
}

module "cache" {
  source             = "./modules/cache"
  name               = local.name
  subnet_ids         = module.networking.database_subnet_ids
  security_group_id  = module.networking.cache_security_group_id
  node_type          = var.cache.node_type
  replicas           = var.cache.replicas
  transit_encryption = var.cache.tls
}

module "secrets" {
  source = "./modules/secrets"
  name   = local.name
  database = {
    address         = module.database.address
    port            = module.database.port
    database_name   = module.database.database_name
    username        = module.database.username
    password        = module.database.password
    replica_address = module.database.replica_address
  }
  cache = {
    primary_endpoint = module.cache.primary_endpoint
    port             = module.cache.port
    auth_token       = module.cache.auth_token
    tls              = module.cache.tls
  }
  read_replica         = var.database.read_replica
  recovery_window_days = var.protect_data ? 7 : 0
}

module "iam" {
  source                   = "./modules/iam"
  region                   = var.region
  name                     = local.name
  secret_arns              = module.secrets.all_arns
  ecr_repository_arns      = module.ecr.repository_arns
  metrics_log_group_name   = module.monitoring.metrics_log_group_name
  github_repository        = var.github_repository
  github_environment       = var.environment
  github_oidc_provider_arn = var.github_oidc_provider_arn
}

module "compute" {
  source                 = "./modules/compute"
  region                 = var.region
  name                   = local.name
  environment            = var.environment
  vpc_id                 = module.networking.vpc_id
  public_subnet_ids      = module.networking.public_subnet_ids
  private_subnet_ids     = module.networking.private_subnet_ids
  api_image              = "${module.ecr.api_repository_url}:${var.image_tag}"
  worker_image           = "${module.ecr.worker_repository_url}:${var.image_tag}"
  execution_role_arn     = module.iam.execution_role_arn
  api_task_role_arn      = module.iam.api_task_role_arn
  worker_task_role_arn   = module.iam.worker_task_role_arn
  log_group_names        = module.monitoring.log_group_names
  metrics_log_group_name = module.monitoring.metrics_log_group_name
  certificate_arn        = var.certificate_arn
  read_replica           = var.database.read_replica
  api                    = var.api
  worker                 = var.worker
  environment_variables  = var.environment_variables
  enable_execute_command = true

  security_group_ids = {
    alb    = module.networking.alb_security_group_id
    api    = module.networking.api_security_group_id
    worker = module.networking.worker_security_group_id
  }

  secret_arns = {
    database_url      = module.secrets.database_url_arn
    read_database_url = module.secrets.read_database_url_arn
    valkey_url        = module.secrets.valkey_url_arn
    admin_key         = module.secrets.admin_key_arn
    webhook_key       = module.secrets.webhook_key_arn
    github_tokens     = module.secrets.github_tokens_arn
  }
}

module "monitoring" {
  source                     = "./modules/monitoring"
  name                       = local.name
  environment                = var.environment
  region                     = var.region
  log_retention_days         = var.log_retention_days
  alarm_emails               = var.alarm_emails
  cluster_name               = module.compute.cluster_name
  api_service_name           = module.compute.api_service_name
  worker_service_name        = module.compute.worker_service_name
  alb_arn_suffix             = module.compute.alb_arn_suffix
  target_group_arn_suffix    = module.compute.target_group_arn_suffix
  db_instance_id             = module.database.instance_id
  db_max_connections         = module.database.max_connections
  cache_replication_group_id = module.cache.replication_group_id
  cache_node_count           = 1 + var.cache.replicas
}
