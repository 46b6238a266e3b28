/**
 * CONNECTs counted per key a minute (rate-limiter-flexible): past `free` of
 * them, each further CONNACK is answered late, 250 ms doubling up to
 * `maxDelayMs`. Late, never refused: mqtt.js and much firmware stop for good
 * after a refusing CONNACK.
 *
 * Two of them: refusals for bad credentials per client IP, so guessing tokens
 * costs time (correct credentials are not counted, so a fleet behind one NAT
 * with one misconfigured device keeps connecting); and successful CONNECTs per
 * device, so a device in a reconnect loop cannot churn sessions hundreds of
 * times a second.
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export class ConnectThrottle {
  private readonly limiter: RateLimiterMemory | null;

  /** `free` 0: no limit. */
  constructor(
    private readonly free: number,
    private readonly maxDelayMs = 5000,
  ) {
    this.limiter = free > 0 ? new RateLimiterMemory({ points: free, duration: 60 }) : null;
  }

  /** Counts a CONNECT of `key`; resolves with how long to hold its CONNACK. */
  async delayFor(key: string | undefined): Promise<number> {
    if (!key || !this.limiter) return 0;
    try {
      await this.limiter.consume(key);
      return 0;
    } catch (res) {
      if (!(res instanceof RateLimiterRes)) throw res;
      const over = res.consumedPoints - this.free;
      return Math.min(this.maxDelayMs, 250 * 2 ** Math.min(over - 1, 10));
    }
  }
}
