/**
 * Ingest quotas: messages a second per device and per org (rate-limiter-flexible,
 * one-second windows), so one device or one org cannot take the ingest
 * pipeline from everyone else. Past a quota an MQTT publish waits for the next
 * window (its PUBACK comes later: the device is slowed, as by the ingest
 * budget, and nothing is lost); an HTTP post is refused with 429
 * QUOTA_EXCEEDED and Retry-After.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { DeviceIdentity } from '../devices/devices.repository.js';

export type QuotaScope = 'device' | 'org';

/** Messages a second; 0 is no quota. */
export interface QuotaRates {
  perDevice: number;
  perOrg: number;
}

export class QuotaExceeded extends Error {
  constructor(
    readonly scope: QuotaScope,
    readonly retryAfterMs: number,
    rate: number,
  ) {
    super(
      `${scope === 'device' ? 'this device' : 'this organization'} is over its ingest quota of ${rate} messages a second; retry in ${Math.ceil(retryAfterMs / 1000)} s`,
    );
    this.name = 'QuotaExceeded';
  }
}

export class IngestQuota {
  private readonly device: RateLimiterMemory | null;
  private readonly org: RateLimiterMemory | null;

  constructor(private readonly rates: QuotaRates) {
    this.device = rates.perDevice > 0 ? new RateLimiterMemory({ keyPrefix: 'device', points: rates.perDevice, duration: 1 }) : null;
    this.org = rates.perOrg > 0 ? new RateLimiterMemory({ keyPrefix: 'org', points: rates.perOrg, duration: 1 }) : null;
  }

  get enabled(): boolean {
    return this.device !== null || this.org !== null;
  }

  /**
   * Counts one message of the device and its org. Past a quota, 'wait' waits
   * for the window to turn (calling `onWait` each time) and 'refuse' throws
   * QuotaExceeded.
   */
  async take(device: DeviceIdentity, admission: 'wait' | 'refuse', onWait: (scope: QuotaScope) => void): Promise<void> {
    for (;;) {
      const over = (await this.over(this.device, device.deviceId, 'device')) ?? (await this.over(this.org, device.orgId, 'org'));
      if (!over) return;
      if (admission === 'refuse') throw new QuotaExceeded(over.scope, over.ms, over.scope === 'device' ? this.rates.perDevice : this.rates.perOrg);
      onWait(over.scope);
      await sleep(Math.max(1, over.ms));
    }
  }

  private async over(limiter: RateLimiterMemory | null, key: string, scope: QuotaScope): Promise<{ scope: QuotaScope; ms: number } | null> {
    if (!limiter) return null;
    try {
      await limiter.consume(key);
      return null;
    } catch (res) {
      if (res instanceof RateLimiterRes) return { scope, ms: res.msBeforeNext };
      throw res;
    }
  }
}
