-- Early warning of failing devices (issue 16): the worker's scan runs the
-- detector (modules/health/early-warning.ts) over each device's last
-- heartbeat gaps and keeps one row per device it flags. A device flagged again
-- keeps its first_warned_at; one no longer flagged loses its row.
CREATE TABLE health_warnings (
  device_id       uuid PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
  score           double precision NOT NULL,
  reasons         text[] NOT NULL,
  since           timestamptz NOT NULL,
  first_warned_at timestamptz NOT NULL,
  assessed_at     timestamptz NOT NULL
);
CREATE INDEX health_warnings_score_idx ON health_warnings (score DESC);

-- The last scan: when it ran, how many devices it judged, how long it took.
CREATE TABLE health_scan_state (
  id          boolean PRIMARY KEY DEFAULT true CHECK (id),
  scanned_at  timestamptz,
  assessed    integer NOT NULL DEFAULT 0,
  warned      integer NOT NULL DEFAULT 0,
  duration_ms integer NOT NULL DEFAULT 0
);
INSERT INTO health_scan_state DEFAULT VALUES;

-- An alarm rule kind for it: raised while the scan flags a device at or above
-- the rule's minScore, cleared when a scan no longer does.
ALTER TABLE alarm_rules DROP CONSTRAINT alarm_rules_kind_check;
ALTER TABLE alarm_rules ADD CONSTRAINT alarm_rules_kind_check CHECK (kind IN ('threshold', 'rate', 'no_data', 'device_alert', 'health_warning'));

-- The scan reads the heartbeats received since its last run by time alone;
-- heartbeats arrive in time order, so a BRIN index finds them for almost nothing.
CREATE INDEX heartbeats_ts_brin ON heartbeats USING brin (ts);
