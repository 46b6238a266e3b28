import type { Queryable } from '../../platform/db/database.js';

export interface SigningKeyRow {
  kid: string;
  sealed: string;
  created_at: Date;
  retired_at: Date | null;
}

/** SQL for jwt_signing_keys. */
export class SigningKeysRepository {
  constructor(private readonly db: Queryable) {}

  /** The signing key first (the newest not retired), then the others; none retired longer ago than `retainS`. */
  list(retainS: number, q: Queryable = this.db): Promise<SigningKeyRow[]> {
    return q.query<SigningKeyRow>(
      `SELECT kid, sealed, created_at, retired_at FROM jwt_signing_keys
       WHERE retired_at IS NULL OR retired_at >= now() - $1 * interval '1 second'
       ORDER BY retired_at IS NOT NULL, created_at DESC, kid`,
      [retainS],
    );
  }

  async insert(k: { kid: string; sealed: string; retired: boolean }, q: Queryable = this.db): Promise<void> {
    await q.query('INSERT INTO jwt_signing_keys (kid, sealed, retired_at) VALUES ($1, $2, CASE WHEN $3 THEN now() END)', [k.kid, k.sealed, k.retired]);
  }

  async retireAllBut(kid: string, q: Queryable = this.db): Promise<void> {
    await q.query('UPDATE jwt_signing_keys SET retired_at = now() WHERE kid <> $1 AND retired_at IS NULL', [kid]);
  }

  async deleteAllBut(kid: string, q: Queryable = this.db): Promise<void> {
    await q.query('DELETE FROM jwt_signing_keys WHERE kid <> $1', [kid]);
  }

  /** Keys retired longer ago than any token they signed can live. */
  async deleteRetiredBefore(seconds: number, q: Queryable = this.db): Promise<void> {
    await q.query("DELETE FROM jwt_signing_keys WHERE retired_at < now() - $1 * interval '1 second'", [seconds]);
  }
}
