-- Device files (issue 15): videos, images and logs a device uploads, resumable (tus). One row per
-- file, created when the upload starts (its declared size counts against the org's quota from
-- then on) and marked stored when the last byte is in and the bytes' type has been checked.
-- A device's files form a folder (seed 003: `<device>/<file>`): a name is unique per device.
-- The bytes live in the file storage under storage_key, never under the device's name for them.
CREATE TABLE device_files (
  id            uuid PRIMARY KEY,
  org_id        uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  device_id     uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  name          text NOT NULL,
  size          bigint NOT NULL CHECK (size >= 0),
  -- The type the device declared, and the one the bytes turned out to be (set when stored).
  declared_type text,
  content_type  text,
  state         text NOT NULL CHECK (state IN ('uploading', 'stored')),
  storage_key   text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  stored_at     timestamptz,
  CHECK ((state = 'stored') = (stored_at IS NOT NULL) AND (state = 'stored') = (content_type IS NOT NULL))
);
CREATE UNIQUE INDEX device_files_device_name_key ON device_files (device_id, name);
CREATE INDEX device_files_org_created_idx ON device_files (org_id, created_at DESC);
-- Retention and the sweep of abandoned uploads.
CREATE INDEX device_files_state_created_idx ON device_files (state, created_at);

-- Events with files (seed 003's alarm `file_list`, seed 004's StreamEventData): the names of the
-- device's files the event will have. They attach as they arrive: a file is the event's when the
-- device has a file of that name (device_files), whichever came first.
ALTER TABLE events ADD COLUMN files text[] NOT NULL DEFAULT '{}';
-- The alerts that name a file (a file's page links back to its events).
CREATE INDEX events_files_idx ON events USING gin (files) WHERE files <> '{}';
