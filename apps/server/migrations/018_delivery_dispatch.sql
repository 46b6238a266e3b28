-- Issue 13: a notification's first attempt is made at once by the worker node that planned it,
-- not through the job queue; only retries (and deliveries held by quiet hours) are jobs.
-- queued_at: when the delivery was handed to the job queue. A delivery still pending without a
-- job long after it was planned lost its node before its first attempt: a worker queues it.
ALTER TABLE notification_deliveries ADD COLUMN queued_at timestamptz;
UPDATE notification_deliveries SET queued_at = created_at;
CREATE INDEX notification_deliveries_unqueued ON notification_deliveries (created_at)
  WHERE queued_at IS NULL AND status IN ('pending', 'failed');
