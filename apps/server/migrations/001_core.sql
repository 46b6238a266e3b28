-- Tether core schema: tenancy, devices, streams.
-- Runs unchanged on PGlite and PostgreSQL 15+.

CREATE TABLE settings (
  key   text PRIMARY KEY,
  value text NOT NULL
);

CREATE TABLE orgs (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email         text NOT NULL,
  name          text NOT NULL DEFAULT '',
  password_hash text NOT NULL,
  disabled      boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
-- Sign-in looks users up by email, case-insensitively.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE memberships (
  org_id     uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role       text NOT NULL CHECK (role IN ('owner', 'admin', 'operator', 'viewer')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, user_id)
);
-- "Which orgs does this user belong to" at sign-in.
CREATE INDEX memberships_user_idx ON memberships (user_id);

CREATE TABLE refresh_tokens (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  org_id     uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  token_hash text NOT NULL UNIQUE,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id       uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  name         text NOT NULL,
  role         text NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
  prefix       text NOT NULL,
  key_hash     text NOT NULL UNIQUE,
  created_by   uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at   timestamptz
);
CREATE INDEX api_keys_org_idx ON api_keys (org_id);

CREATE TABLE projects (
  id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id               uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  name                 text NOT NULL,
  description          text NOT NULL DEFAULT '',
  inactivity_timeout_s integer,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX projects_org_name_key ON projects (org_id, lower(name));

CREATE TABLE devices (
  id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id               uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  project_id           uuid REFERENCES projects (id) ON DELETE SET NULL,
  name                 text NOT NULL,
  type                 text NOT NULL DEFAULT '',
  tags                 text[] NOT NULL DEFAULT '{}',
  metadata             jsonb NOT NULL DEFAULT '{}',
  firmware_version     text,
  inactivity_timeout_s integer,
  online               boolean NOT NULL DEFAULT false,
  last_connected_at    timestamptz,
  last_disconnected_at timestamptz,
  first_seen_at        timestamptz,
  last_seen_at         timestamptz,
  location_lat         double precision,
  location_lon         double precision,
  location_at          timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);
-- The device list is always read per org, newest first, and filtered by project and tag.
CREATE INDEX devices_org_created_idx ON devices (org_id, created_at DESC, id);
CREATE INDEX devices_project_idx ON devices (project_id);
CREATE INDEX devices_tags_idx ON devices USING gin (tags);

CREATE TABLE device_credentials (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  device_id  uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  token_hash text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
-- MQTT CONNECT checks the device's live credentials by device id.
CREATE INDEX device_credentials_device_idx ON device_credentials (device_id) WHERE revoked_at IS NULL;

-- Telemetry: one row per (device, key, ts), partitioned by day so retention
-- drops whole partitions and a billion rows stay indexable.
-- The primary key is also the index every history query uses, and makes
-- store-and-forward uploads idempotent.
CREATE TABLE telemetry (
  device_id uuid NOT NULL,
  key       text NOT NULL,
  ts        timestamptz NOT NULL,
  num       double precision,
  str       text,
  bool      boolean,
  json      jsonb,
  PRIMARY KEY (device_id, key, ts)
) PARTITION BY RANGE (ts);
-- Late or far-future data lands here instead of failing the batch.
CREATE TABLE telemetry_default PARTITION OF telemetry DEFAULT;

-- One row per (device, key): "latest value" reads never touch the history.
CREATE TABLE telemetry_latest (
  device_id uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  key       text NOT NULL,
  ts        timestamptz NOT NULL,
  num       double precision,
  str       text,
  bool      boolean,
  json      jsonb,
  PRIMARY KEY (device_id, key)
);

-- Alerts and other device events.
CREATE TABLE events (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id     uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  device_id  uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  project_id uuid,
  kind       text NOT NULL DEFAULT 'alert',
  type       text,
  severity   text NOT NULL,
  message    text NOT NULL,
  data       jsonb NOT NULL DEFAULT '{}',
  ts         timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- The admin alert query (seed 003) filters by org and time, then device, project, type or severity.
CREATE INDEX events_org_ts_idx ON events (org_id, ts DESC);
CREATE INDEX events_device_ts_idx ON events (device_id, ts DESC);
CREATE INDEX events_project_ts_idx ON events (project_id, ts DESC) WHERE project_id IS NOT NULL;

CREATE TABLE heartbeats (
  device_id uuid NOT NULL,
  ts        timestamptz NOT NULL,
  uptime    double precision,
  battery   double precision,
  rssi      double precision,
  data      jsonb,
  PRIMARY KEY (device_id, ts)
) PARTITION BY RANGE (ts);
CREATE TABLE heartbeats_default PARTITION OF heartbeats DEFAULT;

CREATE TABLE locations (
  device_id uuid NOT NULL,
  ts        timestamptz NOT NULL,
  lat       double precision NOT NULL,
  lon       double precision NOT NULL,
  alt       double precision,
  speed     double precision,
  heading   double precision,
  accuracy  double precision,
  PRIMARY KEY (device_id, ts)
) PARTITION BY RANGE (ts);
CREATE TABLE locations_default PARTITION OF locations DEFAULT;

-- Reported attributes (fw_version, model, …), kept apart from desired configuration.
CREATE TABLE device_attributes (
  device_id  uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  key        text NOT NULL,
  value      jsonb NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (device_id, key)
);

-- Raw per-device message history (seed 002), short retention.
CREATE TABLE messages (
  device_id   uuid NOT NULL,
  received_at timestamptz NOT NULL,
  seq         bigint GENERATED ALWAYS AS IDENTITY,
  channel     text NOT NULL,
  transport   text NOT NULL,
  payload     jsonb NOT NULL,
  PRIMARY KEY (device_id, received_at, seq)
) PARTITION BY RANGE (received_at);
CREATE TABLE messages_default PARTITION OF messages DEFAULT;

-- Creates the daily partitions of a time-partitioned table for [from, from + days).
-- A day whose rows already sit in the default partition is skipped; they stay readable there.
CREATE FUNCTION tether_ensure_partitions(tbl text, from_day date, days integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  d date;
  part text;
  created integer := 0;
BEGIN
  FOR i IN 0 .. days - 1 LOOP
    d := from_day + i;
    part := tbl || '_' || to_char(d, 'YYYYMMDD');
    IF to_regclass(part) IS NULL THEN
      BEGIN
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                       part, tbl, d::text || ' 00:00:00+00', (d + 1)::text || ' 00:00:00+00');
        created := created + 1;
      EXCEPTION WHEN check_violation OR invalid_object_definition THEN
        RAISE NOTICE 'partition % skipped: default partition holds rows for that day', part;
      END;
    END IF;
  END LOOP;
  RETURN created;
END $$;

-- Retention: drops the daily partitions of tbl that end on or before the given day.
CREATE FUNCTION tether_drop_partitions_before(tbl text, before_day date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  dropped integer := 0;
BEGIN
  FOR r IN SELECT c.relname FROM pg_inherits i
           JOIN pg_class c ON c.oid = i.inhrelid
           JOIN pg_class p ON p.oid = i.inhparent
           WHERE p.relname = tbl AND c.relname ~ ('^' || tbl || '_[0-9]{8}$')
  LOOP
    IF to_date(right(r.relname, 8), 'YYYYMMDD') < before_day THEN
      EXECUTE format('DROP TABLE %I', r.relname);
      dropped := dropped + 1;
    END IF;
  END LOOP;
  RETURN dropped;
END $$;
