# Three are required: project, zone and domain. The rest have defaults.

variable "project" {
  description = "The GCP project id to deploy into."
  type        = string
}

variable "zone" {
  description = "The Compute Engine zone of the VM, e.g. europe-west1-b; its region holds the static IP and the bucket."
  type        = string
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+-[a-z]$", var.zone))
    error_message = "zone: a Compute Engine zone such as europe-west1-b."
  }
}

variable "domain" {
  description = "The domain Tether answers under: api.<domain> (web, REST), wss.<domain> (WebSockets), broker.<domain> (MQTT over TLS, 8883)."
  type        = string
  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,}$", var.domain))
    error_message = "domain: a DNS name such as iot.example.com, lower case, without a trailing dot."
  }
}

variable "dns_zone" {
  description = "The name of an existing Cloud DNS managed zone of this project that serves the domain (or a parent of it). Empty: a new zone is made for the domain; delegate to its name servers (output name_servers)."
  type        = string
  default     = ""
}

variable "machine_type" {
  description = "The VM's machine type. The first boot builds the image on it (about 3 GB of memory)."
  type        = string
  default     = "e2-standard-2"
}

variable "disk_size_gb" {
  description = "The VM's boot disk, which holds PostgreSQL's data and Tether's stored files."
  type        = number
  default     = 50
}

variable "backup_bucket" {
  description = "The name of the backup bucket. Empty: <project>-tether-backups."
  type        = string
  default     = ""
}

variable "backup_retention_days" {
  description = "Backups older than this are deleted by the bucket's lifecycle rule; 0 keeps every backup. A VM that stays destroyed for longer loses its backups: raise it, or set 0, if that can happen."
  type        = number
  default     = 90
}

variable "acme_email" {
  description = "The contact address for Let's Encrypt. Empty: admin@<domain>."
  type        = string
  default     = ""
}

variable "acme_ca" {
  description = "The ACME directory; Let's Encrypt's staging one (https://acme-staging-v02.api.letsencrypt.org/directory) for trials."
  type        = string
  default     = "https://acme-v02.api.letsencrypt.org/directory"
}

variable "tether_repo" {
  description = "A git URL the VM clones Tether from (at tether_ref). Empty: this checkout, zipped by terraform and put in the bucket."
  type        = string
  default     = ""
}

variable "tether_ref" {
  description = "The branch or tag of tether_repo."
  type        = string
  default     = "main"
}

variable "tether_image" {
  description = "A built Tether image to run (e.g. from Artifact Registry). Empty: the VM builds one from the source."
  type        = string
  default     = ""
}

variable "ssh_source_ranges" {
  description = "Who may reach the VM's SSH port. The default is Identity-Aware Proxy's range (gcloud compute ssh --tunnel-through-iap); [] closes it."
  type        = list(string)
  default     = ["35.235.240.0/20"]
}
