-- Presence that survives an outage and a dead node (issue 20 §4): each node that runs the
-- embedded broker holds a lease, renewed every few seconds, on the devices connected to it.
-- A node whose lease runs out (killed, or cut off from the database) has its devices set
-- offline by any other node, or by itself when it starts again under a new id.
CREATE TABLE broker_nodes (
  id         uuid PRIMARY KEY,
  started_at timestamptz NOT NULL DEFAULT now(),
  seen_at    timestamptz NOT NULL DEFAULT now()
);

-- The node whose broker holds the device's connection; kept while online.
ALTER TABLE devices ADD COLUMN connected_node uuid;

-- The sweep looks up the online devices of one node; offline devices are not indexed.
CREATE INDEX devices_connected_node ON devices (connected_node) WHERE online;
