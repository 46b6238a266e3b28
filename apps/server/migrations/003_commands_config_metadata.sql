-- Commands (RPC), configuration, properties, notes, device templates, photos, audit.

CREATE TABLE device_templates (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id     uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  name       text NOT NULL,
  description text NOT NULL DEFAULT '',
  -- [{name, unit?, type?, min?, max?}]: expected telemetry keys with units and display ranges
  telemetry  jsonb NOT NULL DEFAULT '[]',
  -- [{name, description?, params?: JSON Schema}]: the commands devices of this type accept
  commands   jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX device_templates_org_name_key ON device_templates (org_id, lower(name));

ALTER TABLE devices ADD COLUMN template_id uuid REFERENCES device_templates (id) ON DELETE SET NULL;
ALTER TABLE devices ADD COLUMN photo_key text;
ALTER TABLE devices ADD COLUMN photo_content_type text;

CREATE TABLE commands (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id          uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  device_id       uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  name            text NOT NULL,
  params          jsonb NOT NULL DEFAULT '{}',
  status          text NOT NULL CHECK (status IN ('queued', 'sent', 'delivered', 'succeeded', 'failed', 'expired', 'cancelled')),
  timeout_ms      integer NOT NULL,
  retries         integer NOT NULL DEFAULT 0,
  attempts        integer NOT NULL DEFAULT 0,
  expires_at      timestamptz NOT NULL,
  result          jsonb,
  error           text,
  created_by      uuid,
  created_by_kind text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  sent_at         timestamptz,
  delivered_at    timestamptz,
  completed_at    timestamptz,
  updated_at      timestamptz NOT NULL DEFAULT now()
);
-- Delivery on reconnect and the HTTP long-poll read a device's open commands in order.
CREATE INDEX commands_device_open_idx ON commands (device_id, created_at) WHERE status IN ('queued', 'sent');
CREATE INDEX commands_device_created_idx ON commands (device_id, created_at DESC);

CREATE TABLE audit_log (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id      uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  actor_kind  text NOT NULL,
  actor_id    uuid,
  action      text NOT NULL,
  target_kind text NOT NULL,
  target_id   uuid,
  details     jsonb NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_org_created_idx ON audit_log (org_id, created_at DESC);
CREATE INDEX audit_log_target_idx ON audit_log (target_id, created_at DESC);

-- Desired configuration: JSON values on an org, project, device or user.
-- Resolution for a device is device → project → org.
CREATE TABLE config_attributes (
  org_id     uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  scope      text NOT NULL CHECK (scope IN ('org', 'project', 'device', 'user')),
  scope_id   uuid NOT NULL,
  key        text NOT NULL,
  value      jsonb NOT NULL,
  updated_by uuid,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, scope, scope_id, key)
);

-- Searchable name/value pairs on a device or project.
CREATE TABLE properties (
  org_id      uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  entity_kind text NOT NULL CHECK (entity_kind IN ('device', 'project')),
  entity_id   uuid NOT NULL,
  name        text NOT NULL,
  value       text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (entity_kind, entity_id, name)
);
-- "Which devices have property X (= Y)" within an org.
CREATE INDEX properties_search_idx ON properties (org_id, name, value);

-- Timestamped text on a device, project or one of a device's streams (seed 004).
CREATE TABLE notes (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id      uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  entity_kind text NOT NULL CHECK (entity_kind IN ('device', 'project', 'stream')),
  entity_id   uuid NOT NULL,
  stream_key  text,
  body        text NOT NULL,
  author_id   uuid,
  author_name text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notes_entity_idx ON notes (entity_kind, entity_id, created_at DESC);
