-- OTA deployments (issue 14): a firmware rolled out to the devices of a fleet, in groups. The
-- fleet's members are copied in when the deployment is made, so later changes to the fleet do
-- not move a rollout under way. The state machine lives here: every node's worker advances it
-- (ota/deployments.engine.ts), one deployment at a time under its row lock.
CREATE TABLE deployments (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id            uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  name              text NOT NULL,
  firmware_id       uuid NOT NULL REFERENCES firmware (id) ON DELETE RESTRICT,
  -- Kept for reference only: the devices are deployment_devices.
  fleet_id          uuid REFERENCES fleets (id) ON DELETE SET NULL,
  -- running → completed; running ⇄ paused; running | paused → stopped (error threshold) | cancelled.
  -- A retry of the failed devices takes a completed or stopped deployment back to running.
  status            text NOT NULL CHECK (status IN ('running', 'paused', 'stopped', 'cancelled', 'completed')),
  stop_reason       text,
  -- Per group, in percent of its devices: the next group starts once this share is installed;
  -- failed + timed-out past error_threshold stops the deployment.
  success_threshold int NOT NULL CHECK (success_threshold BETWEEN 1 AND 100),
  error_threshold   int NOT NULL CHECK (error_threshold BETWEEN 0 AND 100),
  -- Seconds a device has from the start of its group to report the new version.
  device_timeout_s  int NOT NULL CHECK (device_timeout_s > 0),
  -- {days: [0-6], start: "HH:MM", end: "HH:MM", timezone}: devices are told only inside it.
  maintenance_window jsonb,
  -- Whether the window was open at the engine's last look: when it opens, waiting devices are told.
  window_open       boolean NOT NULL DEFAULT true,
  -- The group under way (0-based); the groups before it are done.
  current_group     int NOT NULL DEFAULT 0,
  created_by        uuid,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  finished_at       timestamptz
);
CREATE INDEX deployments_org_created_idx ON deployments (org_id, created_at DESC);
CREATE INDEX deployments_open_idx ON deployments (id) WHERE status IN ('running', 'paused');

CREATE TABLE deployment_groups (
  deployment_id uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
  idx           int NOT NULL,
  size          int NOT NULL,
  started_at    timestamptz,
  finished_at   timestamptz,
  PRIMARY KEY (deployment_id, idx)
);

-- One row per device of a deployment (seed 004's DeploymentAction).
-- pending → notified → downloading → downloaded → installing → installed | failed | timed-out;
-- cancelled when the deployment ends before the device was told.
CREATE TABLE deployment_devices (
  deployment_id uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
  device_id     uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  org_id        uuid NOT NULL,
  group_idx     int NOT NULL,
  state         text NOT NULL CHECK (state IN ('pending', 'notified', 'downloading', 'downloaded', 'installing', 'installed', 'failed', 'timed-out', 'cancelled')),
  progress      int CHECK (progress BETWEEN 0 AND 100),
  error         text,
  -- The version the device reported when the deployment was made.
  from_version  text,
  attempts      int NOT NULL DEFAULT 1,
  -- Set when its group starts (and again on a retry or a resume): from then on the device may be
  -- told, and past deadline_at it is timed-out.
  released_at   timestamptz,
  deadline_at   timestamptz,
  notified_at   timestamptz,
  finished_at   timestamptz,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (deployment_id, device_id)
);
CREATE INDEX deployment_devices_group_idx ON deployment_devices (deployment_id, group_idx, state);
-- A device's open job, whatever deployment it is in: what a connecting device is sent.
CREATE INDEX deployment_devices_open_idx ON deployment_devices (device_id)
  WHERE state IN ('pending', 'notified', 'downloading', 'downloaded', 'installing');
CREATE INDEX deployment_devices_deadline_idx ON deployment_devices (deadline_at)
  WHERE state IN ('pending', 'notified', 'downloading', 'downloaded', 'installing');

-- Every transition of every device's job, timestamped and kept.
CREATE TABLE deployment_device_events (
  id            bigserial PRIMARY KEY,
  deployment_id uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
  device_id     uuid NOT NULL,
  state         text NOT NULL,
  progress      int,
  error         text,
  -- Who moved it: the device (a report), the server (notify, deadline, group start) or a user.
  source        text NOT NULL CHECK (source IN ('device', 'server', 'user')),
  at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deployment_device_events_device_idx ON deployment_device_events (deployment_id, device_id, id);
