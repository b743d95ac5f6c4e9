terraform {
  required_version = ">= 1.10" # S3-native state locking (use_lockfile)

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # Remote state in S3, configured at init time so no bucket is hard-coded here; each
  # environment has its own state key in environments/<env>/backend.hcl and its own data
  # directory, so one environment's init never points another's plan at its state:
  #   export TF_DATA_DIR=.terraform-dev   # .terraform-staging, .terraform-production
  #   tofu init -backend-config=environments/dev/backend.hcl
  #   tofu plan -var-file=environments/dev/terraform.tfvars
  # (docs/deploy.md). For a throwaway local experiment, use `tofu init -backend=false`
  # instead (nothing is stored remotely then).
  backend "s3" {}
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project     = "wump"
      Environment = var.environment
      ManagedBy   = "opentofu"
    }
  }
}
