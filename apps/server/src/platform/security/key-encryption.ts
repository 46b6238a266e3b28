import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Where the key that encrypts the JWT signing keys lives when TETHER_JWT_SECRET is not set. */
export const KEY_FILE = 'jwt-master.key';

export class KeyFileError extends Error {}

/**
 * The key that encrypts secrets kept in the database. It never goes into the database, so a
 * database backup alone cannot forge a token: derived from TETHER_JWT_SECRET when set (every
 * node of a cluster gets the same one), otherwise read from dataDir/jwt-master.key, which the
 * first start creates (0600).
 */
export function loadMasterKey(opts: { secret: string | null; dataDir: string }): Buffer {
  if (opts.secret !== null) return Buffer.from(hkdfSync('sha256', opts.secret, 'tether', 'jwt signing keys', 32));
  const file = path.join(opts.dataDir, KEY_FILE);
  try {
    fs.writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new KeyFileError(`${file} does not hold a 32-byte base64 key`);
  return key;
}

/** AES-256-GCM; `context` (a key id, say) is authenticated, so a sealed value cannot be moved to another row. */
export function seal(masterKey: Buffer, plaintext: Buffer, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', masterKey, iv).setAAD(Buffer.from(context));
  const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return ['v1', iv, cipher.getAuthTag(), data].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
}

/** Throws when the value was sealed with another key (or altered). */
export function unseal(masterKey: Buffer, sealed: string, context: string): Buffer {
  const [v, iv, tag, data] = sealed.split('.');
  if (v !== 'v1' || iv === undefined || tag === undefined || data === undefined) throw new Error('not a sealed value');
  const decipher = createDecipheriv('aes-256-gcm', masterKey, Buffer.from(iv, 'base64url')).setAAD(Buffer.from(context));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]);
}
