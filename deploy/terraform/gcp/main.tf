# Tether on one Compute Engine VM (README, Deploying → GCP): Docker compose with PostgreSQL, Caddy
# for Let's Encrypt, the database restored from the backup bucket at boot and backed up to it at
# shutdown. scripts/startup.sh and scripts/shutdown.sh do the VM's part.

locals {
  region        = regex("^(.*)-[a-z]$", var.zone)[0]
  bucket        = var.backup_bucket != "" ? var.backup_bucket : "${var.project}-tether-backups"
  hosts         = toset(["api", "wss", "broker"])
  zone_name     = var.dns_zone != "" ? var.dns_zone : google_dns_managed_zone.tether[0].name
  repo_root     = abspath("${path.module}/../../..")
  upload_source = var.tether_repo == "" && var.tether_image == ""
}

resource "google_project_service" "apis" {
  for_each           = toset(["compute.googleapis.com", "dns.googleapis.com", "storage.googleapis.com", "secretmanager.googleapis.com", "iam.googleapis.com"])
  service            = each.value
  disable_on_destroy = false
}

# --- network: a static address, its DNS names, and the ports Tether serves.

resource "google_compute_address" "tether" {
  name       = "tether"
  region     = local.region
  depends_on = [google_project_service.apis]
}

resource "google_dns_managed_zone" "tether" {
  count      = var.dns_zone == "" ? 1 : 0
  name       = "tether-${replace(var.domain, ".", "-")}"
  dns_name   = "${var.domain}."
  depends_on = [google_project_service.apis]
}

resource "google_dns_record_set" "tether" {
  for_each     = local.hosts
  managed_zone = local.zone_name
  name         = "${each.value}.${var.domain}."
  type         = "A"
  ttl          = 300
  rrdatas      = [google_compute_address.tether.address]
}

resource "google_compute_firewall" "tether" {
  name    = "tether-public"
  network = "default"
  # 80: Let's Encrypt's HTTP challenge (and Caddy's redirect to HTTPS); 443: web, REST, WebSockets; 8883: MQTT over TLS.
  allow {
    protocol = "tcp"
    ports    = ["80", "443", "8883"]
  }
  source_ranges = ["0.0.0.0/0"]
  target_tags   = ["tether"]
  depends_on    = [google_project_service.apis]
}

resource "google_compute_firewall" "ssh" {
  count         = length(var.ssh_source_ranges) > 0 ? 1 : 0
  name          = "tether-ssh"
  network       = "default"
  source_ranges = var.ssh_source_ranges
  target_tags   = ["tether"]
  allow {
    protocol = "tcp"
    ports    = ["22"]
  }
  depends_on = [google_project_service.apis]
}

# --- the backup bucket, and the VM's identity that may use it.
# The bucket outlives the VM: `terraform destroy` cannot delete it while it holds backups
# (force_destroy is off), so the next `terraform apply` restores from it (README, Deploying).

resource "google_storage_bucket" "backups" {
  name                        = local.bucket
  location                    = local.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  dynamic "lifecycle_rule" {
    for_each = var.backup_retention_days > 0 ? [var.backup_retention_days] : []
    content {
      condition {
        age            = lifecycle_rule.value
        matches_prefix = ["backups/tether-"]
      }
      action {
        type = "Delete"
      }
    }
  }
  depends_on = [google_project_service.apis]
}

resource "google_service_account" "tether" {
  account_id   = "tether-vm"
  display_name = "Tether VM: backups in ${local.bucket}"
  depends_on   = [google_project_service.apis]
}

resource "google_storage_bucket_iam_member" "tether" {
  bucket = google_storage_bucket.backups.name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.tether.email}"
}

# `tether backup` and `tether restore` reach the bucket through GCS's S3 interoperability
# endpoint, with this HMAC key of the service account. Its secret is in terraform's state (keep
# the state private) and in Secret Manager, where only the VM's service account reads it.
resource "google_storage_hmac_key" "tether" {
  service_account_email = google_service_account.tether.email
}

resource "google_secret_manager_secret" "hmac" {
  secret_id = "tether-backup-hmac"
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_version" "hmac" {
  secret      = google_secret_manager_secret.hmac.id
  secret_data = "${google_storage_hmac_key.tether.access_id} ${google_storage_hmac_key.tether.secret}"
}

resource "google_secret_manager_secret_iam_member" "hmac" {
  secret_id = google_secret_manager_secret.hmac.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.tether.email}"
}

# --- Tether's source for the VM to build, when no repository or image is given: this checkout.

data "archive_file" "source" {
  count       = local.upload_source ? 1 : 0
  type        = "zip"
  source_dir  = local.repo_root
  output_path = "${path.root}/.terraform/tether-source.zip"
  # Nothing installed, built or private: what a deployment must never carry away.
  excludes = [
    ".git", "node_modules", "data", ".tether-test", "coverage", "bench/results",
    "apps/server/dist", "apps/server/node_modules", "apps/web/dist", "apps/web/node_modules",
    "packages/contracts/dist", "packages/device-sdk/dist", "packages/api-client/dist",
    "packages/contracts/node_modules", "packages/device-sdk/node_modules", "packages/api-client/node_modules",
    "packages/device-sdk-python/.venv",
    "deploy/.env", "deploy/tls", "deploy/caddy-data",
    "deploy/terraform/gcp/.terraform", "deploy/terraform/gcp/terraform.tfstate",
    "deploy/terraform/gcp/terraform.tfstate.backup", "deploy/terraform/gcp/terraform.tfvars",
  ]
}

resource "google_storage_bucket_object" "source" {
  count  = local.upload_source ? 1 : 0
  bucket = google_storage_bucket.backups.name
  name   = "source/tether-${data.archive_file.source[0].output_md5}.zip"
  source = data.archive_file.source[0].output_path
}

# --- the VM.

resource "google_compute_instance" "tether" {
  name                      = "tether"
  machine_type              = var.machine_type
  zone                      = var.zone
  tags                      = ["tether"]
  allow_stopping_for_update = true

  boot_disk {
    initialize_params {
      image = "debian-cloud/debian-12"
      size  = var.disk_size_gb
      type  = "pd-balanced"
    }
  }

  network_interface {
    network = "default"
    access_config {
      nat_ip = google_compute_address.tether.address
    }
  }

  service_account {
    email  = google_service_account.tether.email
    scopes = ["cloud-platform"]
  }

  metadata = {
    startup-script         = file("${path.module}/scripts/startup.sh")
    shutdown-script        = file("${path.module}/scripts/shutdown.sh")
    tether-domain          = var.domain
    tether-backup-bucket   = google_storage_bucket.backups.name
    tether-hmac-secret     = google_secret_manager_secret.hmac.secret_id
    tether-source-object   = local.upload_source ? google_storage_bucket_object.source[0].name : ""
    tether-repo            = var.tether_repo
    tether-ref             = var.tether_ref
    tether-image           = var.tether_image
    tether-acme-email      = var.acme_email != "" ? var.acme_email : "admin@${var.domain}"
    tether-acme-ca         = var.acme_ca
    enable-oslogin         = "TRUE"
    block-project-ssh-keys = "TRUE"
  }

  # The VM reads the key and the bucket at its first boot.
  depends_on = [
    google_storage_bucket_iam_member.tether,
    google_secret_manager_secret_iam_member.hmac,
    google_secret_manager_secret_version.hmac,
  ]
}
