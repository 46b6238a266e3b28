output "ip_address" {
  description = "The VM's static address; api., wss. and broker.<domain> point at it."
  value       = google_compute_address.tether.address
}

output "urls" {
  description = "Where Tether answers once its certificates are issued (a few minutes after DNS resolves)."
  value = {
    web_and_api = "https://api.${var.domain}"
    live        = "wss://wss.${var.domain}/api/v1/live"
    mqtt        = "mqtts://broker.${var.domain}:8883"
    mqtt_ws     = "wss://wss.${var.domain}/mqtt"
  }
}

output "name_servers" {
  description = "With a new DNS zone (dns_zone empty): delegate the domain to these name servers at its registrar or parent zone."
  value       = var.dns_zone == "" ? google_dns_managed_zone.tether[0].name_servers : []
}

output "backup_bucket" {
  description = "Backups (backups/tether-<time>.tgz, backups/LATEST) and the deployment's secrets (secrets/tether.env)."
  value       = google_storage_bucket.backups.name
}

output "first_admin" {
  description = "How to read the first admin's login (made at the first boot, kept in the bucket)."
  value       = "admin@${var.domain}; password: gcloud storage cat gs://${google_storage_bucket.backups.name}/secrets/tether.env | grep TETHER_ADMIN_PASSWORD"
}
