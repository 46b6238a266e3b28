/**
 * MQTT CONNECTs refused for bad credentials, counted per client IP
 * (rate-limiter-flexible): past `free` refusals a minute from one IP, each
 * further refusal is answered late, up to `maxDelayMs`, so guessing tokens
 * costs time. Correct credentials are never delayed: a fleet behind one NAT
 * with one misconfigured device keeps connecting.
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export class ConnectFailures {
  private readonly limiter: RateLimiterMemory;

  constructor(
    private readonly free = 10,
    private readonly maxDelayMs = 5000,
  ) {
    this.limiter = new RateLimiterMemory({ points: free, duration: 60 });
  }

  /** Records a refusal; resolves with how long to hold its CONNACK. */
  async refused(ip: string | undefined): Promise<number> {
    if (!ip) return 0;
    try {
      await this.limiter.consume(ip);
      return 0;
    } catch (res) {
      if (!(res instanceof RateLimiterRes)) throw res;
      const over = res.consumedPoints - this.free;
      return Math.min(this.maxDelayMs, 250 * 2 ** Math.min(over - 1, 10));
    }
  }
}
