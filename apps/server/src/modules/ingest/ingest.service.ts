import type { UplinkChannel } from '@tether/contracts';
import type { Database, Queryable } from '../../platform/db/database.js';
import type { Logger } from '../../platform/observability/logger.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import type { DeviceIdentity } from '../devices/devices.repository.js';
import { decodePayload } from './decode.js';
import { Batcher } from './ingest.batcher.js';
import { IngestBudget } from './ingest.budget.js';
import { IngestQuota, QuotaExceeded, type QuotaRates } from './ingest.quota.js';
import { IngestRejection, type IngestMessage, type IngestPoint, type Transport } from './ingest-message.js';
import { writeBatch, writeIngestBatch } from './ingest.repository.js';
import { ReceiveClock } from './receive-clock.js';

/**
 * Batches written at once. Every batch updates the same hot rows (latest
 * values, rollups, devices), so a third concurrent transaction mostly waits
 * on the first two's row locks; meanwhile, fewer writers mean bigger batches
 * and less fixed cost per message. Two keep one batch's inserts overlapping
 * the other's hot updates and commit (measured in bench/: 2 beat 5 on
 * throughput and latency).
 */
const MAX_WRITES_IN_FLIGHT = 2;

/** The budget is spent and the caller asked not to wait: HTTP answers 503 and the device retries. */
export class IngestOverloaded extends Error {
  constructor() {
    super('ingest is saturated; retry with backoff');
    this.name = 'IngestOverloaded';
  }
}

/** What a message does when the budget is spent: wait for room (MQTT) or be refused (HTTP). */
export type Admission = 'wait' | 'refuse';

/** Receives committed batches (live updates, rule evaluation). */
export interface IngestListener {
  committed(batch: readonly IngestMessage[]): void;
}

export interface IngestServiceDeps {
  db: Database;
  metrics: Metrics;
  logger: Logger;
  maxBatch: number;
  flushMs: number;
  maxPayloadBytes: number;
  /** Uncommitted messages and payload bytes held at once (see IngestBudget). */
  budget: { maxMessages: number; maxBytes: number };
  /** Messages a second per device and per org (see IngestQuota). */
  quota: QuotaRates;
  /** Checks a seed-000 embedded `jwt_token`; returns the device id it was issued to. */
  verifyDeviceJwt(token: string): Promise<string | null>;
  listeners: IngestListener[];
}

/**
 * The ingest pipeline: decode → validate → normalize → batch → one transaction.
 * `accept` resolves only after the message is committed (QoS 1 / HTTP 2xx).
 */
export class IngestService {
  private readonly batcher: Batcher<IngestMessage>;
  private readonly clock = new ReceiveClock();
  readonly budget: IngestBudget;
  private readonly quota: IngestQuota;

  constructor(private readonly deps: IngestServiceDeps) {
    this.budget = new IngestBudget(deps.budget);
    this.quota = new IngestQuota(deps.quota);
    this.batcher = new Batcher<IngestMessage>({
      maxBatch: deps.maxBatch,
      flushMs: deps.flushMs,
      concurrency: Math.min(deps.db.maxConcurrency, MAX_WRITES_IN_FLIGHT),
      write: (items) => this.write(items),
    });
  }

  get pending(): number {
    return this.batcher.pending;
  }

  private async takeQuota(device: DeviceIdentity, transport: Transport, admission: Admission): Promise<void> {
    try {
      await this.quota.take(device, admission, (scope) => this.deps.metrics.quotaWaits.inc({ scope }));
    } catch (err) {
      if (err instanceof QuotaExceeded) this.deps.metrics.rejected.inc({ reason: `quota_${err.scope}`, transport });
      throw err;
    }
  }

  /**
   * Validates and queues one device message; resolves when it is durable.
   * Throws IngestRejection for bad input, before anything is queued, and
   * IngestOverloaded (budget spent) or QuotaExceeded (device or org over its
   * rate) when `admission` is 'refuse'; with 'wait' it waits for either.
   */
  async accept(device: DeviceIdentity, channel: UplinkChannel, transport: Transport, payload: Buffer | string, admission: Admission): Promise<void> {
    // Unique per device: a message without `ts` is stored at this time (the device protocol).
    // Taken before any wait for room, so it is the time the message arrived.
    const now = this.clock.next(device.deviceId);
    if (this.quota.enabled) await this.takeQuota(device, transport, admission);
    const bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    if (!this.budget.tryTake(bytes)) {
      if (admission === 'refuse') {
        this.deps.metrics.rejected.inc({ reason: 'overloaded', transport });
        throw new IngestOverloaded();
      }
      this.deps.metrics.budgetWaits.inc();
      await this.budget.take(bytes);
    }
    let msg: IngestMessage;
    try {
      const decoded = decodePayload(channel, payload, now, this.deps.maxPayloadBytes, device.deviceId);
      // Seed 000 embeds the device's identity in the payload: it must match the connection.
      if (decoded.identity.deviceId !== null && decoded.identity.deviceId.toLowerCase() !== device.deviceId) {
        throw new IngestRejection('identity_mismatch', 'device_id does not match the authenticated device');
      }
      if (decoded.identity.jwt !== null && (await this.deps.verifyDeviceJwt(decoded.identity.jwt)) !== device.deviceId) {
        throw new IngestRejection('identity_mismatch', 'jwt_token is not a valid token of this device');
      }
      msg = {
        device,
        channel,
        transport,
        receivedAt: now,
        rawJson: decoded.rawJson,
        telemetry: decoded.telemetry,
        alert: decoded.alert,
        heartbeat: decoded.heartbeat,
        location: decoded.location,
        attributes: decoded.attributes,
      };
    } catch (err) {
      this.budget.give(bytes);
      if (err instanceof IngestRejection) this.reject(device.deviceId, transport, err);
      throw err;
    }
    // The pending gauge is read from `pending` when metrics are scraped, not counted per message.
    try {
      await this.batcher.submit(msg);
    } finally {
      this.budget.give(bytes);
    }
  }

  /**
   * Writes readings a device had buffered and uploaded later (the reports
   * module's parser), in the caller's transaction, so its own bookkeeping
   * commits with them. The same write as live ingest: telemetry idempotent on
   * (device, key, ts) (a repeated reading is a replay: the last copy's value,
   * no new row), rollups and latest values kept right, one row in the message
   * log (`note`) and the device's last-seen time at `receivedAtUs`. Every point
   * must carry its own time. No live event or rule evaluation: these are
   * history, not what the device measures now.
   */
  async writeBufferedReadings(
    tx: Queryable,
    device: DeviceIdentity,
    receivedAtUs: number,
    points: IngestPoint[],
    note: Record<string, unknown>,
  ): Promise<void> {
    if (points.length === 0) return;
    if (points.some((p) => p.stamped)) throw new Error('buffered readings carry their own times');
    const msg: IngestMessage = {
      device,
      channel: 'telemetry',
      transport: 'http',
      receivedAt: receivedAtUs,
      rawJson: JSON.stringify(note),
      telemetry: points,
      alert: null,
      heartbeat: null,
      location: null,
      attributes: null,
    };
    await writeIngestBatch(tx, [msg]);
  }

  /** Counts and logs a refused message (debug level, with the reason). */
  reject(deviceId: string | null, transport: Transport, err: IngestRejection): void {
    this.deps.metrics.rejected.inc({ reason: err.reason, transport });
    this.deps.logger.debug({ deviceId, transport, reason: err.reason, detail: err.message }, 'device message rejected');
  }

  /**
   * One commit per batch. If it fails, the batch is split in halves and
   * retried, so one poison message fails alone and the rest still commit.
   */
  private async write(items: IngestMessage[]): Promise<(unknown | undefined)[]> {
    const started = Date.now();
    try {
      await writeBatch(this.deps.db, items);
    } catch (err) {
      if (items.length === 1) {
        this.deps.metrics.dropped.inc({ reason: 'write_failed' });
        this.deps.logger.warn({ err, deviceId: items[0]!.device.deviceId }, 'device message could not be written; not acknowledged');
        return [err];
      }
      const mid = items.length >> 1;
      return [...(await this.write(items.slice(0, mid))), ...(await this.write(items.slice(mid)))];
    }
    const done = Date.now();
    const m = this.deps.metrics;
    m.batchSize.observe(items.length);
    m.batchSeconds.observe((done - started) / 1000);
    // Counted per (channel, transport) once per batch: label lookups per message add up at 20K msg/s.
    const accepted = new Map<string, { channel: string; transport: string; n: number }>();
    for (const it of items) {
      const key = it.channel + it.transport;
      const a = accepted.get(key);
      if (a) a.n++;
      else accepted.set(key, { channel: it.channel, transport: it.transport, n: 1 });
      m.ingestLag.observe((done - it.receivedAt / 1000) / 1000);
      // A collision may have moved a receive time (resolveStampCollisions): later ones follow it.
      this.clock.advance(it.device.deviceId, it.receivedAt);
    }
    for (const a of accepted.values()) m.accepted.inc({ channel: a.channel, transport: a.transport }, a.n);
    for (const l of this.deps.listeners) {
      try {
        l.committed(items);
      } catch (err) {
        this.deps.logger.error({ err }, 'ingest listener failed');
      }
    }
    return new Array(items.length);
  }

  /** Flushes every pending batch (graceful shutdown). */
  drain(): Promise<void> {
    return this.batcher.drain();
  }
}
