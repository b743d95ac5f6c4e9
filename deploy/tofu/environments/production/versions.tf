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

  # Remote state in S3, configured at init time so no bucket is hard-coded here:
  #   cp backend.hcl.example backend.hcl   # fill in your bucket (docs/deploy.md, step 1)
  #   tofu init -backend-config=backend.hcl
  # Each environment has its own state key. For a throwaway local experiment, use
  # `tofu init -backend=false` instead (nothing is stored remotely then).
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
