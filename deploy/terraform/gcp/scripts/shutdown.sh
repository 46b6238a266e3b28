#!/usr/bin/env bash
# Shutdown script of Tether's Compute Engine VM (deploy/terraform/gcp): on a stop or a delete
# (terraform destroy included), stop Tether and back the database and its files up to the bucket,
# with a timestamped key and the LATEST pointer that the next VM's start-up script restores from.
# The work is startup.sh's steps "stop backup", in the copy the start-up script unpacked.
# Compute Engine gives a shutdown script about 90 s: a larger database needs the daily backup
# (tether-backup.timer) or a stop with more time (README, Deploying).
set -euo pipefail
TETHER_HOME=${TETHER_HOME:-/opt/tether}
STARTUP_SCRIPT=${STARTUP_SCRIPT:-$TETHER_HOME/src/deploy/terraform/gcp/scripts/startup.sh}
if [ ! -f "$STARTUP_SCRIPT" ]; then
  echo "tether-shutdown: $STARTUP_SCRIPT is missing (the VM never finished starting): nothing to back up" >&2
  exit 0
fi
STEPS=${STEPS:-stop backup} exec bash "$STARTUP_SCRIPT"
