-- Per-hour rollups are built from the per-minute ones once an hour is over,
-- not on every ingest batch (finalizeHourRollups in ingest.repository.ts, run
-- every minute by the worker). On the hot path each message's points updated
-- a row in telemetry_1m, telemetry_1h and telemetry_latest; the hour row was a
-- third of that work and of its WAL, for a table that is read only for charts
-- of whole past hours.
--
-- Two instants, both whole hours:
--   hours_routed_until  ingest still adds points before it to telemetry_1h
--                       itself (late data: a device uploading its backlog);
--                       points from it on are left to the job.
--   hours_done_until    telemetry_1h is complete before it: the history query
--                       reads hours before it from telemetry_1h and everything
--                       after it from telemetry_1m.
-- The job moves the first, waits for every batch that read the old value, then
-- rebuilds those hours from telemetry_1m and moves the second.

CREATE TABLE rollup_state (
  id                 boolean PRIMARY KEY DEFAULT true CHECK (id),
  hours_routed_until timestamptz NOT NULL,
  hours_done_until   timestamptz NOT NULL,
  CHECK (hours_done_until <= hours_routed_until)
);

-- The job reads one hour of minute rows across every device. Without this it
-- scans the whole table (3 days of 1,000 devices x 3 keys: 13M rows, 1.7 s; with
-- it 0.14 s, whatever the history). Increments leave bucket alone, so they stay
-- HOT updates; only a new minute row adds an entry.
CREATE INDEX telemetry_1m_bucket ON telemetry_1m (bucket);

-- Until now ingest kept telemetry_1h complete, the current hour included: the
-- hours before it are done, and the job rebuilds the current one when it ends.
INSERT INTO rollup_state (hours_routed_until, hours_done_until)
SELECT h, h FROM (SELECT date_bin('1 hour', now(), TIMESTAMPTZ '2000-01-01 00:00:00+00') AS h) x;

-- An ingest batch's view of hours_routed_until. The shared advisory lock, held
-- to the end of the batch's transaction, is what the job's exclusive one waits
-- for; plpgsql reads the row with a snapshot taken after the lock, so a batch
-- that waited sees the value the job committed.
CREATE FUNCTION tether_rollup_hours_routed() RETURNS timestamptz
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock_shared(hashtext('tether.rollup_hours'));
  RETURN (SELECT hours_routed_until FROM rollup_state);
END $$;
