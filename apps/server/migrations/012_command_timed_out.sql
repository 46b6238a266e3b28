-- A command nobody answers ends at its timeout (issue 11): no PUBACK after its last attempt, or
-- no result within timeout_ms of delivery, is 'timed-out', a final state like 'expired'.
ALTER TABLE commands DROP CONSTRAINT commands_status_check;
ALTER TABLE commands ADD CONSTRAINT commands_status_check
  CHECK (status IN ('queued', 'sent', 'delivered', 'succeeded', 'failed', 'expired', 'timed-out', 'cancelled'));
