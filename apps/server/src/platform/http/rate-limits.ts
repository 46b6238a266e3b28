/**
 * Limits on the endpoints that check a secret (sign-in: an argon2 hash each;
 * device-token verification), per client IP and per account, with
 * @fastify/rate-limit's store. A limited request gets 429 RATE_LIMITED and
 * Retry-After, before any secret is checked.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';
import type { App } from './server.js';

export interface SecretLimits {
  /** Requests per minute from one IP. */
  perIp: number;
  /** Requests per minute naming one account (e-mail or device). */
  perAccount: number;
}

export async function registerRateLimits(app: App): Promise<void> {
  await app.register(rateLimit, { global: false });
}

/**
 * A preHandler that counts the request against its IP and against the account
 * `accountOf` names (null: no account, the IP limit only).
 */
export function secretLimits(app: App, limits: SecretLimits, accountOf: (req: FastifyRequest) => string | null) {
  const minute = 60_000;
  const byIp = app.createRateLimit({ max: limits.perIp, timeWindow: minute, keyGenerator: (req) => `ip:${req.ip}` });
  const byAccount = app.createRateLimit({ max: limits.perAccount, timeWindow: minute, keyGenerator: (req) => `account:${accountOf(req)}` });
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const checks = [byIp(req)];
    if (accountOf(req) !== null) checks.push(byAccount(req));
    for (const r of await Promise.all(checks)) {
      if (!r.isAllowed && r.isExceeded) {
        reply.header('retry-after', r.ttlInSeconds);
        throw new HttpError(429, 'RATE_LIMITED', `too many attempts; retry in ${r.ttlInSeconds} s`);
      }
    }
  };
}
