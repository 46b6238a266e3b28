-- Issue 13: escalation (tell more targets when an alarm stays unacknowledged), quiet hours
-- (hold a rule's notifications while they last) and a storm limit (at most N a rule per
-- hour; the rest summarised in one notification after the hour).
ALTER TABLE alarm_rules ADD COLUMN escalate jsonb;      -- {afterS, notify: [target ids]}
ALTER TABLE alarm_rules ADD COLUMN quiet_hours jsonb;   -- {from: 'HH:MM', to: 'HH:MM', timezone}
ALTER TABLE alarm_rules ADD COLUMN storm_limit integer CHECK (storm_limit IS NULL OR storm_limit > 0);

ALTER TABLE alarms ADD COLUMN escalated_at timestamptz;

ALTER TABLE alarm_history DROP CONSTRAINT alarm_history_action_check;
ALTER TABLE alarm_history ADD CONSTRAINT alarm_history_action_check
  CHECK (action IN ('raised', 'acknowledged', 'cleared', 'assigned', 'commented', 'escalated'));
DROP INDEX alarm_history_to_notify;
CREATE INDEX alarm_history_to_notify ON alarm_history (id) WHERE notified_at IS NULL AND action IN ('raised', 'cleared', 'escalated');

-- Deliveries know their rule (the storm limit counts per rule); one past the limit is
-- 'summarised': not sent, counted in the summary sent after the hour.
ALTER TABLE notification_deliveries ADD COLUMN rule_id uuid;
ALTER TABLE notification_deliveries DROP CONSTRAINT notification_deliveries_status_check;
ALTER TABLE notification_deliveries ADD CONSTRAINT notification_deliveries_status_check
  CHECK (status IN ('pending', 'delivered', 'failed', 'summarised'));
CREATE INDEX notification_deliveries_rule ON notification_deliveries (rule_id, created_at) WHERE rule_id IS NOT NULL;
-- Held by quiet hours: sent at this time.
ALTER TABLE notification_deliveries ADD COLUMN deliver_after timestamptz;
