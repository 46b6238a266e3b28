import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics, one registry per server instance (no module-level singletons). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tether_' });
  return {
    registry,
    accepted: new Counter({
      name: 'tether_messages_accepted_total',
      help: 'Device messages committed',
      labelNames: ['channel', 'transport'],
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'tether_messages_rejected_total',
      help: 'Device messages rejected',
      labelNames: ['reason', 'transport'],
      registers: [registry],
    }),
    dropped: new Counter({
      name: 'tether_messages_dropped_total',
      help: 'Accepted messages whose write failed',
      labelNames: ['reason'],
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'tether_ingest_batch_size',
      help: 'Messages per ingest transaction',
      buckets: [1, 10, 50, 100, 500, 1000, 2000, 5000, 10000],
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: 'tether_ingest_batch_seconds',
      help: 'Time to commit one ingest batch',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    ingestLag: new Histogram({
      name: 'tether_ingest_lag_seconds',
      help: 'From receipt to commit',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    busEvents: new Counter({
      name: 'tether_bus_events_total',
      help: 'Events between nodes on the cluster bus: sent, received, dropped (at most once: a dropped event is a missed wake-up)',
      labelNames: ['direction'],
      registers: [registry],
    }),
    signInsFailed: new Counter({
      name: 'tether_sign_ins_failed_total',
      help: 'Failed sign-ins: of a known account (also in its org’s audit log) or of an unknown e-mail (only here)',
      labelNames: ['account'],
      registers: [registry],
    }),
    ready: new Gauge({
      name: 'tether_ready',
      help: 'Each dependency /readyz checks (database, broker, bus, …), at this scrape: 1 reachable, 0 not; one this node does not use is absent',
      labelNames: ['check'],
      registers: [registry],
    }),
    pending: new Gauge({ name: 'tether_ingest_pending_messages', help: 'Messages waiting for a commit', registers: [registry] }),
    budgetHeldBytes: new Gauge({
      name: 'tether_ingest_budget_held_bytes',
      help: 'Payload bytes of uncommitted messages holding ingest budget',
      registers: [registry],
    }),
    budgetWaiting: new Gauge({
      name: 'tether_ingest_budget_waiting_messages',
      help: 'MQTT publishes waiting for ingest budget (their PUBACK waits too)',
      registers: [registry],
    }),
    quotaWaits: new Counter({
      name: 'tether_ingest_quota_waits_total',
      help: 'MQTT publishes that waited because their device or org was over its ingest quota',
      labelNames: ['scope'],
      registers: [registry],
    }),
    budgetWaits: new Counter({ name: 'tether_ingest_budget_waits_total', help: 'MQTT publishes that had to wait for ingest budget', registers: [registry] }),
    connectedDevices: new Gauge({ name: 'tether_mqtt_connected_devices', help: 'Devices connected to the embedded broker', registers: [registry] }),
    connectionsRefused: new Counter({
      name: 'tether_mqtt_connections_refused_total',
      help: 'MQTT connections closed on accept by a connection cap',
      labelNames: ['reason'],
      registers: [registry],
    }),
    connectsSlowed: new Counter({
      name: 'tether_mqtt_connects_slowed_total',
      help: 'Successful MQTT CONNECTs answered late because their device connected too often in the last minute',
      registers: [registry],
    }),
    connectsHeld: new Counter({
      name: 'tether_mqtt_connects_held_total',
      help: 'MQTT CONNECTs whose CONNACK waited for the database (waited), and those closed unanswered when it did not come back in time (closed)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    slowReaders: new Counter({
      name: 'tether_mqtt_slow_readers_dropped_total',
      help: 'MQTT clients dropped because they did not read what they were sent (reason: backlog over the limit, or nothing taken for too long)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    liveDropped: new Counter({ name: 'tether_live_dropped_total', help: 'Live sockets closed by the server', labelNames: ['reason'], registers: [registry] }),
    liveSockets: new Gauge({ name: 'tether_live_sockets', help: 'Open live WebSocket connections', registers: [registry] }),
    alarmBacklog: new Gauge({
      name: 'tether_alarm_evaluation_backlog_messages',
      help: 'Committed messages waiting for alarm evaluation on this node',
      registers: [registry],
    }),
    alarmLag: new Histogram({
      name: 'tether_alarm_evaluation_lag_seconds',
      help: "From a batch's commit to its alarm decisions committed",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    alarmFailures: new Counter({
      name: 'tether_alarm_evaluation_failures_total',
      help: 'Evaluations whose decisions could not be written after their retries (their messages were not evaluated)',
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
