variable "name" {
  description = "Prefix of the repository names, e.g. wump-production (repositories <name>/api and <name>/worker)."
  type        = string
}

variable "keep_images" {
  description = "Tagged images kept per repository; older ones expire (rollback reaches this far back)."
  type        = number
  default     = 30
}

variable "force_delete" {
  description = "Allow `tofu destroy` to delete repositories that still hold images (dev only)."
  type        = bool
  default     = false
}
