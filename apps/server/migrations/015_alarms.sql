-- Alarms (issue 13): rules an org defines, alarms with a lifecycle, their history,
-- and the evaluation state that must outlive a restart or a node.

-- A rule applies to an org, a project, a device template or one device. Rules share a
-- name across scopes: for a device, the most specific one of a name applies
-- (device, then project, then template, then org), so a project can override an org rule.
CREATE TABLE alarm_rules (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id      uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  name        text NOT NULL,
  scope       text NOT NULL CHECK (scope IN ('org', 'project', 'template', 'device')),
  scope_id    uuid,
  enabled     boolean NOT NULL DEFAULT true,
  -- threshold: key op value(s) for duration_s, cleared by `clear`; rate: key changes by more
  -- than `by` within window_s; no_data: the device silent for silent_s; device_alert: an alert
  -- type the device raises (key), cleared by hand or after clear.afterS without a repeat.
  kind        text NOT NULL CHECK (kind IN ('threshold', 'rate', 'no_data', 'device_alert')),
  key         text,
  condition   jsonb NOT NULL,
  clear       jsonb,
  duration_s  integer NOT NULL DEFAULT 0 CHECK (duration_s >= 0),
  severity    text NOT NULL CHECK (severity IN ('critical', 'major', 'minor', 'warning', 'info')),
  message     text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CHECK ((scope = 'org') = (scope_id IS NULL))
);
CREATE UNIQUE INDEX alarm_rules_name_scope ON alarm_rules (org_id, name, scope, coalesce(scope_id, '00000000-0000-0000-0000-000000000000'));

-- One open (not cleared) alarm per rule and device: a repeat counts on it, under any
-- number of parallel writers on any node (INSERT … ON CONFLICT on the partial unique index).
CREATE TABLE alarms (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id           uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  device_id        uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  project_id       uuid,
  rule_id          uuid REFERENCES alarm_rules (id) ON DELETE SET NULL,
  rule_name        text NOT NULL,
  severity         text NOT NULL,
  message          text NOT NULL,
  value            jsonb,
  count            integer NOT NULL DEFAULT 1,
  raised_at        timestamptz NOT NULL DEFAULT now(),
  last_seen_at     timestamptz NOT NULL DEFAULT now(),
  acknowledged_at  timestamptz,
  acknowledged_by  uuid REFERENCES users (id) ON DELETE SET NULL,
  cleared_at       timestamptz,
  cleared_by       uuid REFERENCES users (id) ON DELETE SET NULL,
  assignee_id      uuid REFERENCES users (id) ON DELETE SET NULL,
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX alarms_open ON alarms (rule_id, device_id) WHERE cleared_at IS NULL;
CREATE INDEX alarms_org_raised ON alarms (org_id, raised_at DESC);
CREATE INDEX alarms_device ON alarms (device_id, raised_at DESC);

-- Everything that happened to an alarm, and who did it (a null user: Tether itself).
CREATE TABLE alarm_history (
  id        bigserial PRIMARY KEY,
  alarm_id  uuid NOT NULL REFERENCES alarms (id) ON DELETE CASCADE,
  at        timestamptz NOT NULL DEFAULT now(),
  action    text NOT NULL CHECK (action IN ('raised', 'acknowledged', 'cleared', 'assigned', 'commented')),
  user_id   uuid REFERENCES users (id) ON DELETE SET NULL,
  comment   text,
  details   jsonb
);
CREATE INDEX alarm_history_alarm ON alarm_history (alarm_id, id);

-- A threshold's duration window: since when the condition holds, and its latest value,
-- so that a rule "above 80 for 5 minutes" fires at 5 minutes after a restart or on another node.
CREATE TABLE alarm_pending (
  rule_id     uuid NOT NULL REFERENCES alarm_rules (id) ON DELETE CASCADE,
  device_id   uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  since       timestamptz NOT NULL,
  last_value  double precision NOT NULL,
  last_ts     timestamptz NOT NULL,
  PRIMARY KEY (rule_id, device_id)
);
