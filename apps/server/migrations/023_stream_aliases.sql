-- Stream aliases (seed 004 StreamAlias, issue 15): a virtual stream stitched from taps of
-- physical streams over time, e.g. device A's temperature until the sensor was replaced,
-- then device B's. The aliases module owns these tables; it reads the telemetry through
-- the telemetry module's service, one tap's time slice at a time.
CREATE TABLE stream_aliases (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id      uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  project_id  uuid REFERENCES projects (id) ON DELETE SET NULL,
  name        text NOT NULL,
  unit        text,
  description text NOT NULL DEFAULT '',
  created_by  uuid,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
-- Names are unique per org (case-insensitively), and the list is read per org by name.
CREATE UNIQUE INDEX stream_aliases_org_name_key ON stream_aliases (org_id, lower(name));

-- A tap points the alias at one device's key from starts_at on, until the next tap's start.
-- One tap per start: two taps cannot begin at the same time.
CREATE TABLE alias_taps (
  alias_id  uuid NOT NULL REFERENCES stream_aliases (id) ON DELETE CASCADE,
  starts_at timestamptz NOT NULL,
  -- A deleted device leaves its slice of time empty (null), rather than letting the previous
  -- tap run on over it and show another device's readings for that time.
  device_id uuid REFERENCES devices (id) ON DELETE SET NULL,
  key       text NOT NULL,
  PRIMARY KEY (alias_id, starts_at)
);
-- Deleting a device sets its taps' device to null: without this index that scans every tap.
CREATE INDEX alias_taps_device_idx ON alias_taps (device_id) WHERE device_id IS NOT NULL;

-- The fleet map (GET /api/v1/locations/latest) pages through the org's devices that have a
-- position, by id; the devices list's index (org, created_at) does not serve that order.
CREATE INDEX devices_located_idx ON devices (org_id, id) WHERE location_at IS NOT NULL;
