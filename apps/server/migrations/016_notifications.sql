-- Notifications of alarms (issue 13): where an org sends them, and every delivery tried.

CREATE TABLE notification_targets (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id      uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  name        text NOT NULL,
  -- webhook: {url, secret} (the secret signs each body, HMAC-SHA256); email: {to: [addresses]}
  kind        text NOT NULL CHECK (kind IN ('webhook', 'email')),
  config      jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (org_id, name)
);

-- The targets a rule notifies when its alarms are raised or cleared.
ALTER TABLE alarm_rules ADD COLUMN notify uuid[] NOT NULL DEFAULT '{}';

-- The outbox: a raise or clear in the history not yet handed to the notifier. Written in the
-- statement that raises or clears, so no notification is lost to a crash after the commit.
ALTER TABLE alarm_history ADD COLUMN notified_at timestamptz;
CREATE INDEX alarm_history_to_notify ON alarm_history (id) WHERE notified_at IS NULL AND action IN ('raised', 'cleared');
-- What is already in the history needs no notification.
UPDATE alarm_history SET notified_at = at;

CREATE TABLE notification_deliveries (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id           uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  target_id        uuid REFERENCES notification_targets (id) ON DELETE SET NULL,
  alarm_id         uuid REFERENCES alarms (id) ON DELETE CASCADE,
  history_id       bigint,
  event            text NOT NULL,
  payload          jsonb NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  last_status_code integer,
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  delivered_at     timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (history_id, target_id)
);
CREATE INDEX notification_deliveries_org ON notification_deliveries (org_id, created_at DESC);
