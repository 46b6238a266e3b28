import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A high-entropy random token (device tokens, API keys, refresh tokens). */
export function randomToken(prefix = '', bytes = 24): string {
  return prefix + randomBytes(bytes).toString('base64url');
}

/**
 * Random tokens carry ≥192 bits of entropy, so a fast hash is enough to store them:
 * a stolen table cannot be brute-forced back. Passwords use argon2id instead.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}
