import { randomBytes } from 'node:crypto';
import type { Database, Queryable } from '../../platform/db/database.js';
import type { Logger } from '../../platform/observability/logger.js';
import { LEGACY_KID, type SigningKey, type SigningKeySource } from '../../platform/security/jwt.js';
import { seal, unseal } from '../../platform/security/key-encryption.js';
import { AccountsRepository } from './accounts.repository.js';
import { SigningKeysRepository, type SigningKeyRow } from './signing-keys.repository.js';

/** How often a node reads the keys again, to follow a rotation made elsewhere (the CLI, another node). */
const RELOAD_MS = 60_000;
/** An unknown key id reads them again at once, but not more often than this: the id comes from the token. */
const UNKNOWN_KID_RELOAD_MS = 5_000;
/** Earlier versions kept the signing secret in this setting, in plaintext. */
const PLAINTEXT_SETTING = 'jwt_secret';
const LOCK = 'tether-jwt-keys';

export class SigningKeyMismatchError extends Error {
  constructor() {
    super(
      "The JWT signing keys in the database are encrypted with another key than this one (TETHER_JWT_SECRET, or the data dir's jwt-master.key when it is not set). " +
        'Every node sharing a database needs the same TETHER_JWT_SECRET. If that key is lost, `tether admin rotate-jwt-key --drop-old` replaces the signing keys: ' +
        'tokens signed so far stop working (signed-in users refresh theirs; devices fetch new JWTs).',
    );
  }
}

export interface SigningKeysOptions {
  db: Database;
  /** From loadMasterKey: never stored in the database. */
  masterKey: Buffer;
  /** The longest lifetime of a signed token (access token, device JWT): a retired key verifies that long. */
  longestTokenTtlS: number;
  /** TETHER_JWT_SECRET: before keys were kept in the database, it signed the tokens itself. */
  configuredSecret: string | null;
  logger?: Logger;
}

/**
 * The install's JWT signing keys, kept encrypted in the database so every node reads the same
 * ones. The newest signs; older ones verify until the tokens they signed have expired.
 */
export class SigningKeys implements SigningKeySource {
  private keys: SigningKey[] = [];
  private loadedAt = 0;
  private unknownKidAt = 0;
  private reloading: Promise<void> | null = null;
  private readonly repo: SigningKeysRepository;
  generation = 0;

  private constructor(private readonly opts: SigningKeysOptions) {
    this.repo = new SigningKeysRepository(opts.db);
  }

  /**
   * On start: creates the first key; moves a plaintext secret of an earlier version out of the
   * settings (kept encrypted as a retired key, so nobody is signed out); deletes expired keys.
   */
  static async open(opts: SigningKeysOptions): Promise<SigningKeys> {
    const ring = new SigningKeys(opts);
    await opts.db.withExclusiveLock(LOCK, () => opts.db.transaction((tx) => ring.prepare(tx)));
    await ring.load();
    return ring;
  }

  /**
   * `tether admin rotate-jwt-key`: a new key signs from now on; the others verify until their
   * tokens expire, or stop at once with dropOld (a leaked key, or a lost master key: then the
   * old keys are not read at all). Running nodes follow within a minute.
   */
  static async rotate(opts: SigningKeysOptions, rotation: { dropOld: boolean }): Promise<string> {
    // Checks first that this master key opens the keys kept, so the new one is readable by every node.
    if (!rotation.dropOld) await SigningKeys.open(opts);
    const ring = new SigningKeys(opts);
    return opts.db.withExclusiveLock(LOCK, () =>
      opts.db.transaction(async (tx) => {
        const kid = await ring.addKey(tx);
        if (rotation.dropOld) await ring.repo.deleteAllBut(kid, tx);
        await ring.repo.deleteRetiredBefore(ring.retainS, tx);
        return kid;
      }),
    );
  }

  /** Reads the keys again now (another node or the CLI rotated them). */
  reload(): Promise<void> {
    return this.reloadIfOlderThan(0);
  }

  async current(): Promise<SigningKey> {
    await this.reloadIfOlderThan(RELOAD_MS);
    return this.keys[0]!;
  }

  async find(kid: string): Promise<SigningKey | null> {
    await this.reloadIfOlderThan(RELOAD_MS);
    let key = this.keys.find((k) => k.kid === kid);
    if (!key && Date.now() - this.unknownKidAt > UNKNOWN_KID_RELOAD_MS) {
      // Perhaps a key another node or the CLI added since the last read.
      this.unknownKidAt = Date.now();
      await this.reloadIfOlderThan(0);
      key = this.keys.find((k) => k.kid === kid);
    }
    return key ?? null;
  }

  /** A retired key is deleted once no token it signed can still be valid (a node may sign with it until its next read). */
  private get retainS(): number {
    return this.opts.longestTokenTtlS + RELOAD_MS / 1000;
  }

  private async prepare(tx: Queryable): Promise<void> {
    const accounts = new AccountsRepository(tx);
    await this.repo.deleteRetiredBefore(this.retainS, tx);
    const plaintext = await accounts.getSetting(PLAINTEXT_SETTING);
    if ((await this.repo.list(this.retainS, tx)).length === 0) {
      // Tokens signed with the earlier secret (the setting's, or TETHER_JWT_SECRET's) carry no key
      // id: that secret stays, encrypted and retired, until they have expired.
      const configured = this.opts.configuredSecret !== null && (await accounts.countUsers()) > 0 ? this.opts.configuredSecret : null;
      const earlier = plaintext ?? configured;
      if (earlier !== null) await this.repo.insert({ kid: LEGACY_KID, sealed: seal(this.opts.masterKey, Buffer.from(earlier), LEGACY_KID), retired: true }, tx);
      await this.addKey(tx);
    }
    if (plaintext !== null) await accounts.deleteSetting(PLAINTEXT_SETTING);
  }

  private async addKey(tx: Queryable): Promise<string> {
    const kid = randomBytes(8).toString('hex');
    await this.repo.insert({ kid, sealed: seal(this.opts.masterKey, randomBytes(48), kid), retired: false }, tx);
    await this.repo.retireAllBut(kid, tx);
    return kid;
  }

  private async load(): Promise<void> {
    const rows = await this.repo.list(this.retainS);
    if (!rows[0] || rows[0].retired_at) throw new Error('no JWT signing key is kept: restart a node to create one, or run tether admin rotate-jwt-key');
    const keys = rows.map((r) => ({ kid: r.kid, key: this.open(r) }));
    if (this.keys.some((k) => !keys.some((n) => n.kid === k.kid))) this.generation++;
    this.keys = keys;
    this.loadedAt = Date.now();
  }

  private open(row: SigningKeyRow): Uint8Array {
    try {
      return unseal(this.opts.masterKey, row.sealed, row.kid);
    } catch {
      throw new SigningKeyMismatchError();
    }
  }

  private reloadIfOlderThan(ms: number): Promise<void> {
    if (Date.now() - this.loadedAt < ms) return Promise.resolve();
    this.reloading ??= this.load()
      .catch((err: unknown) => {
        // Keep the keys read before (the database may be down); try again at the next interval.
        this.loadedAt = Date.now();
        this.opts.logger?.warn({ err }, 'could not read the JWT signing keys again; using those read before');
      })
      .finally(() => (this.reloading = null));
    return this.reloading;
  }
}
