-- Per-minute and per-hour rollups of telemetry, so a chart of a day or a month
-- reads a few thousand rollup rows instead of millions of raw points.
--
-- The ingest transaction maintains them from the rows it actually inserts
-- (ingest.repository.ts): a point re-sent with the same (device, key, ts) is
-- counted once, and one whose value changed makes its buckets be recomputed
-- from the raw rows. Buckets are aligned on 2000-01-01 UTC like the history
-- query's date_bin, so they do not depend on the session time zone.
--
--   cnt  every point in the bucket, whatever its type  (agg=count)
--   n    the numeric points                            (avg = sum / n)
--   sum, min, max over the numeric points; min and max are NULL when n = 0
--
-- 'last' is not rolled up: it is read from the raw rows.
-- fillfactor leaves room on each page, so the per-batch increments are HOT
-- updates that do not touch the primary key index.

CREATE TABLE telemetry_1m (
  device_id uuid NOT NULL,
  key       text NOT NULL,
  bucket    timestamptz NOT NULL,
  cnt       bigint NOT NULL,
  n         bigint NOT NULL,
  sum       double precision NOT NULL,
  min       double precision,
  max       double precision,
  -- Also the index of every rollup read: one device, a few keys, a time range.
  PRIMARY KEY (device_id, key, bucket)
) WITH (fillfactor = 70);

CREATE TABLE telemetry_1h (
  device_id uuid NOT NULL,
  key       text NOT NULL,
  bucket    timestamptz NOT NULL,
  cnt       bigint NOT NULL,
  n         bigint NOT NULL,
  sum       double precision NOT NULL,
  min       double precision,
  max       double precision,
  PRIMARY KEY (device_id, key, bucket)
) WITH (fillfactor = 70);

-- Ingest updates these rows in every batch: the latest value per key, a
-- device's last-seen time. Free space on each page lets those be HOT updates,
-- which leave the indexes alone; on a full page every update adds index entries.
ALTER TABLE telemetry_latest SET (fillfactor = 50);
ALTER TABLE devices SET (fillfactor = 70);

-- Recomputes the rollups of the whole hours around [from_ts, to_ts] from the
-- raw rows, for every device or one: bulk loads that bypass ingest, repairs.
-- Run it while no ingest writes that range; ingest itself never calls it.
CREATE FUNCTION tether_rebuild_rollups(from_ts timestamptz, to_ts timestamptz, only_device uuid DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  origin CONSTANT timestamptz := TIMESTAMPTZ '2000-01-01 00:00:00+00';
  h0 timestamptz := date_bin('1 hour', from_ts, origin);
  h1 timestamptz := date_bin('1 hour', to_ts, origin) + interval '1 hour';
BEGIN
  DELETE FROM telemetry_1m WHERE bucket >= h0 AND bucket < h1 AND (only_device IS NULL OR device_id = only_device);
  DELETE FROM telemetry_1h WHERE bucket >= h0 AND bucket < h1 AND (only_device IS NULL OR device_id = only_device);
  INSERT INTO telemetry_1m (device_id, key, bucket, cnt, n, sum, min, max)
  SELECT device_id, key, date_bin('1 minute', ts, origin) AS b, count(*), count(num), coalesce(sum(num), 0), min(num), max(num)
  FROM telemetry
  WHERE ts >= h0 AND ts < h1 AND (only_device IS NULL OR device_id = only_device)
  GROUP BY device_id, key, b;
  INSERT INTO telemetry_1h (device_id, key, bucket, cnt, n, sum, min, max)
  SELECT device_id, key, date_bin('1 hour', bucket, origin) AS b, sum(cnt), sum(n), sum(sum), min(min), max(max)
  FROM telemetry_1m
  WHERE bucket >= h0 AND bucket < h1 AND (only_device IS NULL OR device_id = only_device)
  GROUP BY device_id, key, b;
END $$;

-- Telemetry stored before this migration.
SELECT tether_rebuild_rollups(min(ts), max(ts)) FROM telemetry;
