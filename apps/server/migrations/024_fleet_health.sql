-- Fleet health (issue 16, seed 001): retirement, and heartbeat-gap rollups so
-- the silent share, gap statistics, lifespans and uptime are answered without
-- scanning raw heartbeats.
--
-- A heartbeat is a row of `heartbeats` (the device's heartbeat channel), not
-- any message: a device that sends telemetry but no heartbeats is silent here.

-- Retirement ends a device's lifespan (it is then neither alive nor silent).
ALTER TABLE devices ADD COLUMN retired_at timestamptz, ADD COLUMN retired_reason text;

-- One row per device and hour that has heartbeats. A gap (seconds between two
-- consecutive heartbeats) belongs to the hour of the heartbeat that ends it;
-- the first heartbeat of an hour is paired with the last one before it.
-- gap_hist counts gaps per bucket of HEARTBEAT_GAP_BOUNDS (health.repository.ts):
-- bucket 1 is below the first bound, bucket k is [bound k-1, bound k), the
-- last one is at or above the last bound. gap_hist_sum_s sums the gaps of
-- each bucket (uptime with a threshold uses it).
CREATE TABLE heartbeat_hours (
  device_id      uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  hour           timestamptz NOT NULL,
  beats          integer NOT NULL,
  gap_count      integer NOT NULL,
  gap_sum_s      double precision NOT NULL,
  gap_max_s      double precision,
  gap_hist       integer[] NOT NULL,
  gap_hist_sum_s double precision[] NOT NULL,
  first_ts       timestamptz NOT NULL,
  last_ts        timestamptz NOT NULL,
  PRIMARY KEY (device_id, hour)
);

-- The same per UTC day, summed from heartbeat_hours: a 30-day fleet question
-- reads 30 rows per device instead of 720.
CREATE TABLE heartbeat_days (
  device_id      uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  day            timestamptz NOT NULL,
  beats          integer NOT NULL,
  gap_count      integer NOT NULL,
  gap_sum_s      double precision NOT NULL,
  gap_max_s      double precision,
  gap_hist       integer[] NOT NULL,
  gap_hist_sum_s double precision[] NOT NULL,
  first_ts       timestamptz NOT NULL,
  last_ts        timestamptz NOT NULL,
  PRIMARY KEY (device_id, day)
);

-- Each device's first and last heartbeat (silent now, lifespan): one row per
-- device, so "silent for more than N minutes" reads the fleet's size in rows.
CREATE TABLE heartbeat_span (
  device_id uuid PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
  first_ts  timestamptz NOT NULL,
  last_ts   timestamptz NOT NULL
);

-- The rollup job rebuilds hours from hours_done_until minus a look-back of 3
-- hours up to now, the current hour included, then moves it to the current
-- hour's start. Null: never run (the first run starts at the oldest heartbeat). late_from: the oldest heartbeat inserted since, when it is
-- older than the look-back (a device uploading its backlog): the next run
-- starts there.
CREATE TABLE heartbeat_rollup_state (
  id               boolean PRIMARY KEY DEFAULT true CHECK (id),
  hours_done_until timestamptz,
  late_from        timestamptz
);
INSERT INTO heartbeat_rollup_state (hours_done_until) VALUES (NULL);

-- Once per insert statement (an ingest batch), not per row: the batch's oldest
-- heartbeat is compared with the state row, which is written only for late data,
-- so concurrent batches do not queue on it.
CREATE FUNCTION tether_heartbeats_late() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE oldest timestamptz;
BEGIN
  SELECT min(ts) INTO oldest FROM new_rows;
  UPDATE heartbeat_rollup_state SET late_from = least(coalesce(late_from, oldest), oldest)
  WHERE hours_done_until IS NOT NULL AND oldest < hours_done_until - interval '3 hours' AND (late_from IS NULL OR oldest < late_from);
  RETURN NULL;
END $$;
CREATE TRIGGER heartbeats_late AFTER INSERT ON heartbeats REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION tether_heartbeats_late();
