-- Fleet health (issue 16): the daily rollup split in two, and running totals.
--
-- A day row carried two 25-bucket arrays (about 450 bytes), so the mean gap of
-- a 10,000-device fleet over 30 days read 250 MB. The arrays move to
-- heartbeat_day_hists; heartbeat_days keeps the narrow totals, plus each
-- device's running totals through that day (cum_*), so the mean gap over any
-- range is two index probes per device: the totals through the range's last
-- day minus those through the day before it.
CREATE TABLE heartbeat_day_hists (
  device_id      uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  day            timestamptz NOT NULL,
  gap_hist       integer[] NOT NULL,
  gap_hist_sum_s double precision[] NOT NULL,
  PRIMARY KEY (device_id, day)
);
INSERT INTO heartbeat_day_hists (device_id, day, gap_hist, gap_hist_sum_s) SELECT device_id, day, gap_hist, gap_hist_sum_s FROM heartbeat_days;

ALTER TABLE heartbeat_days
  DROP COLUMN gap_hist,
  DROP COLUMN gap_hist_sum_s,
  ADD COLUMN cum_beats bigint NOT NULL DEFAULT 0,
  ADD COLUMN cum_gap_count bigint NOT NULL DEFAULT 0,
  ADD COLUMN cum_gap_sum_s double precision NOT NULL DEFAULT 0;
UPDATE heartbeat_days h SET cum_beats = x.cb, cum_gap_count = x.cc, cum_gap_sum_s = x.cs
FROM (
  SELECT device_id, day, sum(beats) OVER w AS cb, sum(gap_count) OVER w AS cc, sum(gap_sum_s) OVER w AS cs
  FROM heartbeat_days WINDOW w AS (PARTITION BY device_id ORDER BY day)
) x
WHERE x.device_id = h.device_id AND x.day = h.day;
