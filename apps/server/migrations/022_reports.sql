-- Store-and-forward reports (issue 15, seed 004 "streamer reports"): a device that was offline
-- uploads its buffered readings as one file (JSON lines or CSV). The file is stored first and the
-- report acknowledged; a job parses it afterwards, and the readings go to telemetry through ingest.
CREATE TABLE reports (
  id               uuid PRIMARY KEY,
  org_id           uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  device_id        uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  -- The device's own id for the report (X-Report-Id): a re-upload with it is the same report.
  client_report_id text,
  format           text NOT NULL CHECK (format IN ('jsonl', 'csv')),
  state            text NOT NULL DEFAULT 'stored' CHECK (state IN ('stored', 'parsing', 'done', 'failed')),
  storage_key      text NOT NULL,
  bytes            bigint NOT NULL,
  sha256           text NOT NULL,
  -- The clock anchor: readings stamped with `uptime` get received_at − (sent_uptime − uptime).
  received_at      timestamptz NOT NULL,
  sent_uptime_s    double precision,
  -- Progress, committed with each batch of readings: the last physical line handled, so a
  -- retried job skips what is already written.
  last_line        bigint NOT NULL DEFAULT 0,
  lines_accepted   bigint NOT NULL DEFAULT 0,
  lines_rejected   bigint NOT NULL DEFAULT 0,
  readings         bigint NOT NULL DEFAULT 0,
  -- Rejected lines past the stored cap (report_errors keeps the first ones).
  errors_dropped   bigint NOT NULL DEFAULT 0,
  attempts         integer NOT NULL DEFAULT 0,
  failure          text,
  started_at       timestamptz,
  finished_at      timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now()
);
-- A re-upload with the same X-Report-Id finds the first one (and its clock anchor).
CREATE UNIQUE INDEX reports_client_id_key ON reports (device_id, client_report_id) WHERE client_report_id IS NOT NULL;
-- The org's and a device's reports, newest first.
CREATE INDEX reports_org_created_idx ON reports (org_id, created_at DESC);
CREATE INDEX reports_device_created_idx ON reports (device_id, created_at DESC);

-- The bad lines of a report, with their line numbers (1-based, physical lines of the file).
CREATE TABLE report_errors (
  report_id uuid NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
  line      bigint NOT NULL,
  reason    text NOT NULL,
  message   text NOT NULL,
  PRIMARY KEY (report_id, line)
);
