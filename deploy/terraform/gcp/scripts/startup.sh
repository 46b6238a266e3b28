#!/usr/bin/env bash
# Start-up script of Tether's Compute Engine VM (deploy/terraform/gcp). On every boot:
#   install  Docker Engine and its compose plugin (once)
#   credentials  the backup bucket's HMAC key (Secret Manager) for its S3 interoperability endpoint
#   fetch    Tether's source: the archive terraform uploaded to the bucket, or TETHER_REPO at TETHER_REF;
#            the image is built from it unless TETHER_IMAGE names one
#   secrets  the deployment's own secrets, from the bucket (generated and stored there on the very
#            first boot, so a VM made after a destroy gets the same ones)
#   tls      Caddy gets the Let's Encrypt certificates; broker.<domain>'s goes to Tether (MQTT over TLS)
#   restore  on a new database only: `tether restore` of the backup the bucket's LATEST pointer names
#   start    docker compose up, plus the daily backup timer and the certificate renewal check
# and the steps shutdown.sh runs (the VM's shutdown script, and the daily backup timer):
#   stop     stop Tether, so that everything it acknowledged is committed before the backup
#   backup   `tether backup` to s3://<bucket>/backups/tether-<UTC time>.tgz, then the LATEST pointer names it
# Settings come from the instance's metadata (tether-* attributes, set by main.tf). Every path, command
# and setting below can be overridden from the environment, which is how
# apps/server/test/deploy-scripts.test.ts runs the restore step against a local PostgreSQL and S3 server:
#   STEPS="restore" TETHER_CLI="node apps/server/dist/cli/index.js" COMPOSE=true ... startup.sh
set -euo pipefail

TETHER_HOME=${TETHER_HOME:-/opt/tether}
STEPS=${STEPS:-install credentials fetch secrets tls restore start}
METADATA_URL=${METADATA_URL:-http://metadata.google.internal/computeMetadata/v1/instance/attributes}

log() { printf 'tether-startup: %s\n' "$*" >&2; }

# An instance metadata attribute, or $2 when it is not set.
metadata() {
  curl -sf -H 'Metadata-Flavor: Google' "$METADATA_URL/$1" || printf '%s' "${2:-}"
}

TETHER_DOMAIN=${TETHER_DOMAIN:-$(metadata tether-domain)}
BACKUP_BUCKET=${BACKUP_BUCKET:-$(metadata tether-backup-bucket)}
TETHER_REPO=${TETHER_REPO:-$(metadata tether-repo)}
TETHER_SOURCE_OBJECT=${TETHER_SOURCE_OBJECT:-$(metadata tether-source-object)}
TETHER_REF=${TETHER_REF:-$(metadata tether-ref main)}
TETHER_IMAGE=${TETHER_IMAGE:-$(metadata tether-image)}
ACME_EMAIL=${ACME_EMAIL:-$(metadata tether-acme-email "admin@$TETHER_DOMAIN")}
ACME_CA=${ACME_CA:-$(metadata tether-acme-ca https://acme-v02.api.letsencrypt.org/directory)}
HMAC_SECRET=${HMAC_SECRET:-$(metadata tether-hmac-secret)}
BACKUP_PREFIX=${BACKUP_PREFIX:-backups/}
SRC_DIR=${SRC_DIR:-$TETHER_HOME/src}
DEPLOY_DIR=${DEPLOY_DIR:-$SRC_DIR/deploy}
STATE_DIR=${STATE_DIR:-$TETHER_HOME/state}
TLS_DIR=${TLS_DIR:-$TETHER_HOME/tls}
CADDY_DATA_DIR=${CADDY_DATA_DIR:-$TETHER_HOME/caddy-data}
# What the backup and restore commands get: the bucket's S3 interoperability endpoint and key.
BACKUP_ENV=${BACKUP_ENV:-$TETHER_HOME/backup.env}
COMPOSE=${COMPOSE:-docker compose --project-directory $DEPLOY_DIR --env-file $DEPLOY_DIR/.env -f $DEPLOY_DIR/compose.yaml -f $DEPLOY_DIR/compose.tls.yaml}
# The tether CLI, in a one-off container of the tether service (its data volume, its .env) with the S3 settings added.
TETHER_CLI=${TETHER_CLI:-$COMPOSE run --rm --no-deps -T -e TETHER_S3_ENDPOINT -e TETHER_S3_REGION -e TETHER_S3_FORCE_PATH_STYLE \
  -e TETHER_S3_ACCESS_KEY_ID -e TETHER_S3_SECRET_ACCESS_KEY tether}
# The object that names the latest backup (written by shutdown.sh).
LATEST_KEY=${LATEST_KEY:-${BACKUP_PREFIX}LATEST}

# curl's arguments that sign a request to the backup bucket with its HMAC key (S3 signature V4;
# S3 servers want the payload's hash header, which this curl does not add by itself).
s3_signing() {
  printf '%s\n' --aws-sigv4 "aws:amz:${TETHER_S3_REGION}:s3" --user "$TETHER_S3_ACCESS_KEY_ID:$TETHER_S3_SECRET_ACCESS_KEY" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD'
}

# An object of the backup bucket over the S3 API: get KEY [FILE], put KEY FILE.
s3() {
  local verb=$1 key=$2 file=${3:-} sign
  mapfile -t sign < <(s3_signing)
  local url="$TETHER_S3_ENDPOINT/$BACKUP_BUCKET/$key"
  case $verb in
    get) curl -sSf "${sign[@]}" -o "${file:-/dev/stdout}" "$url" ;;
    put) curl -sSf "${sign[@]}" -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$file" "$url" >/dev/null ;;
  esac
}

# 0 when the object exists, 1 when the bucket says it does not (404), and the script stops otherwise.
s3_exists() {
  local code sign
  mapfile -t sign < <(s3_signing)
  code=$(curl -s -o /dev/null -w '%{http_code}' "${sign[@]}" -I "$TETHER_S3_ENDPOINT/$BACKUP_BUCKET/$1")
  case $code in
    200) return 0 ;;
    404) return 1 ;;
    *) log "the backup bucket answered $code for $1"; exit 1 ;;
  esac
}

step_install() {
  if docker compose version >/dev/null 2>&1; then return; fi
  log "installing Docker Engine and the compose plugin"
  apt-get update -q
  apt-get install -y -q ca-certificates curl git unzip
  install -m 0755 -d /etc/apt/keyrings
  curl -fsSL https://download.docker.com/linux/debian/gpg -o /etc/apt/keyrings/docker.asc
  # shellcheck disable=SC1091 # the VM's own os-release
  echo "deb [signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/debian $(. /etc/os-release && echo "$VERSION_CODENAME") stable" \
    >/etc/apt/sources.list.d/docker.list
  apt-get update -q
  apt-get install -y -q docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin
  systemctl enable --now docker
}

step_fetch() {
  if [ -z "$TETHER_REPO" ]; then
    log "unpacking gs://$BACKUP_BUCKET/$TETHER_SOURCE_OBJECT"
    rm -rf "$SRC_DIR.new" && mkdir -p "$SRC_DIR.new"
    gcloud storage cp "gs://$BACKUP_BUCKET/$TETHER_SOURCE_OBJECT" "$TETHER_HOME/source.zip"
    unzip -q "$TETHER_HOME/source.zip" -d "$SRC_DIR.new"
    # The deployment's .env survives a new source.
    [ -f "$DEPLOY_DIR/.env" ] && cp -p "$DEPLOY_DIR/.env" "$SRC_DIR.new/deploy/.env"
    rm -rf "$SRC_DIR" && mv "$SRC_DIR.new" "$SRC_DIR"
  elif [ -d "$SRC_DIR/.git" ]; then
    git -C "$SRC_DIR" fetch -q --depth 1 origin "$TETHER_REF"
    git -C "$SRC_DIR" checkout -q --force FETCH_HEAD
  else
    git clone -q --depth 1 --branch "$TETHER_REF" "$TETHER_REPO" "$SRC_DIR"
  fi
  if [ -z "$TETHER_IMAGE" ]; then
    log "building the image from $TETHER_REPO at $TETHER_REF"
    docker build -q -t tether:local "$SRC_DIR" >/dev/null
  fi
}

step_credentials() {
  mkdir -p "$TETHER_HOME"
  if [ -z "${TETHER_S3_SECRET_ACCESS_KEY:-}" ]; then
    # "<access id> <secret>", put in Secret Manager by main.tf; the VM's service account may read it.
    local pair
    pair=$(gcloud secrets versions access latest --secret="$HMAC_SECRET")
    TETHER_S3_ACCESS_KEY_ID=${pair%% *}
    TETHER_S3_SECRET_ACCESS_KEY=${pair#* }
  fi
  umask 077
  {
    echo "BACKUP_BUCKET=$BACKUP_BUCKET"
    echo "TETHER_S3_ENDPOINT=${TETHER_S3_ENDPOINT:-https://storage.googleapis.com}"
    echo "TETHER_S3_REGION=${TETHER_S3_REGION:-auto}"
    echo "TETHER_S3_FORCE_PATH_STYLE=true"
    echo "TETHER_S3_ACCESS_KEY_ID=$TETHER_S3_ACCESS_KEY_ID"
    echo "TETHER_S3_SECRET_ACCESS_KEY=$TETHER_S3_SECRET_ACCESS_KEY"
  } >"$BACKUP_ENV"
}

step_secrets() {
  mkdir -p "$STATE_DIR"
  load_backup_env
  # The secrets that must outlive the VM: the JWT secret decrypts the signing keys a restored
  # database holds, so every VM of this deployment gets the same one from the bucket.
  local secrets=$STATE_DIR/secrets.env
  if s3_exists secrets/tether.env; then
    s3 get secrets/tether.env "$secrets"
  else
    log "first boot of this deployment: generating its secrets"
    {
      echo "POSTGRES_PASSWORD=$(openssl rand -hex 24)"
      echo "TETHER_JWT_SECRET=$(openssl rand -base64 48 | tr -d '\n')"
      echo "TETHER_ADMIN_PASSWORD=$(openssl rand -base64 18 | tr -d '\n')"
    } >"$secrets"
    s3 put secrets/tether.env "$secrets"
  fi
  {
    echo "COMPOSE_PROJECT_NAME=tether"
    echo "COMPOSE_PROFILES=single"
    [ -n "$TETHER_IMAGE" ] && echo "TETHER_IMAGE=$TETHER_IMAGE"
    echo "TETHER_DOMAIN=$TETHER_DOMAIN"
    echo "ACME_EMAIL=$ACME_EMAIL"
    echo "ACME_CA=$ACME_CA"
    echo "TETHER_TLS_DIR=$TLS_DIR"
    echo "CADDY_DATA_DIR=$CADDY_DATA_DIR"
    echo "TETHER_PUBLIC_URL=https://api.$TETHER_DOMAIN"
    echo "TETHER_ADMIN_EMAIL=admin@$TETHER_DOMAIN"
    cat "$secrets"
  } >"$DEPLOY_DIR/.env"
}

load_backup_env() {
  set -a
  # shellcheck disable=SC1090 # written by step_secrets
  . "$BACKUP_ENV"
  set +a
}

# Copies broker.<domain>'s certificate out of Caddy's storage when it changed; prints "changed" then.
sync_certificate() {
  local crt key
  crt=$(find "$CADDY_DATA_DIR/caddy/certificates" -name "broker.$TETHER_DOMAIN.crt" 2>/dev/null | head -n1)
  [ -n "$crt" ] || return 1
  key=${crt%.crt}.key
  if ! cmp -s "$crt" "$TLS_DIR/cert.pem"; then
    install -d -m 0750 -o 1000 -g 1000 "$TLS_DIR"
    # The image's user (uid 1000) reads them; Caddy's copies stay root's.
    install -m 0640 -o 1000 -g 1000 "$key" "$TLS_DIR/key.pem"
    install -m 0644 -o 1000 -g 1000 "$crt" "$TLS_DIR/cert.pem"
    echo changed
  fi
}

step_tls() {
  mkdir -p "$CADDY_DATA_DIR"
  $COMPOSE up -d caddy
  log "waiting for the certificate of broker.$TETHER_DOMAIN (its DNS name must resolve to this VM)"
  local waited=0
  until sync_certificate >/dev/null; do
    if [ "$waited" -ge "${TLS_WAIT_MINUTES:-180}" ]; then
      log "no certificate after $waited minutes (docker compose logs caddy says why); once DNS resolves, run again: sudo google_metadata_script_runner startup"
      exit 1
    fi
    sleep 60
    waited=$((waited + 1))
  done
}

step_restore() {
  mkdir -p "$STATE_DIR"
  if [ -f "$STATE_DIR/database-initialized" ]; then
    log "the database was set up by an earlier boot: no restore"
    return
  fi
  load_backup_env
  $COMPOSE up -d --wait postgres
  if s3_exists "$LATEST_KEY"; then
    local key
    key=$(s3 get "$LATEST_KEY" | tr -d '[:space:]')
    log "restoring s3://$BACKUP_BUCKET/$key"
    $TETHER_CLI restore "s3://$BACKUP_BUCKET/$key"
  else
    log "no backup in s3://$BACKUP_BUCKET/$LATEST_KEY: starting with an empty database"
  fi
  touch "$STATE_DIR/database-initialized"
}

step_start() {
  $COMPOSE up -d
  # The shutdown script backs up before Docker stops: it must stop first.
  mkdir -p /etc/systemd/system/google-shutdown-scripts.service.d
  printf '[Unit]\nAfter=docker.service\nWants=docker.service\n' >/etc/systemd/system/google-shutdown-scripts.service.d/tether.conf
  # Every day: a backup (this script's backup step), and a look for a renewed certificate (renew).
  local timer name
  for timer in backup:backup certificate:renew; do
    name=tether-${timer%%:*}
    printf '[Service]\nType=oneshot\nEnvironment=TETHER_HOME=%s SRC_DIR=%s DEPLOY_DIR=%s STEPS=%s\nExecStart=/bin/bash %s\n' \
      "$TETHER_HOME" "$SRC_DIR" "$DEPLOY_DIR" "${timer#*:}" "$SRC_DIR/deploy/terraform/gcp/scripts/startup.sh" \
      >"/etc/systemd/system/$name.service"
    printf '[Timer]\nOnCalendar=daily\nRandomizedDelaySec=1h\nPersistent=true\n[Install]\nWantedBy=timers.target\n' \
      >"/etc/systemd/system/$name.timer"
  done
  systemctl daemon-reload
  systemctl enable --now tether-backup.timer tether-certificate.timer
  log "Tether is starting: https://api.$TETHER_DOMAIN, mqtts://broker.$TETHER_DOMAIN:8883"
}

step_stop() {
  $COMPOSE stop tether
}

step_backup() {
  load_backup_env
  local key list
  key="${BACKUP_PREFIX}tether-$(date -u +%Y%m%dT%H%M%SZ).tgz"
  log "backing up to s3://$BACKUP_BUCKET/$key"
  $TETHER_CLI backup "s3://$BACKUP_BUCKET/$key"
  # Only a complete backup moves the pointer: the backup command fails (and set -e stops here) otherwise.
  list=$(mktemp)
  printf '%s\n' "$key" >"$list"
  s3 put "$LATEST_KEY" "$list"
  rm -f "$list"
  log "backup done; $LATEST_KEY names it"
}

# Tether reads its certificate at start: after Caddy renewed it, copy it and restart Tether
# (devices reconnect by themselves; about every 60 days).
step_renew() {
  if [ "$(sync_certificate)" = changed ]; then
    log "renewed certificate: restarting Tether"
    $COMPOSE restart tether
  fi
}

for step in $STEPS; do
  "step_$step"
done
