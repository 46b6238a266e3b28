-- OTA (issue 14): firmware artifacts and fleets. Deployments follow. An artifact is described first (version,
-- target template, release notes, optionally the sha256 it must have), then its bytes are
-- uploaded once, streamed to the file storage; size and sha256 are computed on the way.
CREATE TABLE firmware (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id        uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  -- The device template the firmware is built for: a deployment only reaches devices of it.
  template_id   uuid NOT NULL REFERENCES device_templates (id) ON DELETE RESTRICT,
  version       text NOT NULL,
  release_notes text NOT NULL DEFAULT '',
  -- The sha256 the uploader declared (hex): an upload that does not match it is refused.
  declared_sha256 text,
  -- Set once the bytes are stored; until then the firmware cannot be downloaded or deployed.
  size          bigint,
  sha256        text,
  storage_key   text,
  uploaded_at   timestamptz,
  created_by    uuid,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CHECK ((size IS NULL) = (sha256 IS NULL) AND (size IS NULL) = (storage_key IS NULL) AND (size IS NULL) = (uploaded_at IS NULL))
);
CREATE UNIQUE INDEX firmware_template_version_key ON firmware (org_id, template_id, version);
CREATE INDEX firmware_org_created_idx ON firmware (org_id, created_at DESC);

-- Fleets (seed 004): the devices a deployment goes to. Static: listed members. Selector: every
-- device of the org matching a selector over project, template, tags and the reported firmware
-- version (a semver range, evaluated by the ota module, since SQL cannot compare versions).
CREATE TABLE fleets (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id      uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  name        text NOT NULL,
  description text NOT NULL DEFAULT '',
  kind        text NOT NULL CHECK (kind IN ('static', 'selector')),
  -- selector: {projectId?, templateId?, tags?, firmware?}; static: null
  selector    jsonb,
  created_by  uuid,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CHECK ((kind = 'selector') = (selector IS NOT NULL))
);
CREATE UNIQUE INDEX fleets_org_name_key ON fleets (org_id, lower(name));

CREATE TABLE fleet_devices (
  fleet_id  uuid NOT NULL REFERENCES fleets (id) ON DELETE CASCADE,
  device_id uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  added_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (fleet_id, device_id)
);
CREATE INDEX fleet_devices_device_idx ON fleet_devices (device_id);
