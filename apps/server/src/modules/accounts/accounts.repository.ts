import type { Queryable } from '../../platform/db/database.js';
import type { OrgRole } from './actor.js';

export interface UserRow {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  disabled: boolean;
  created_at: Date;
  updated_at: Date;
}
export interface MemberRow extends Omit<UserRow, 'password_hash'> {
  role: OrgRole;
}
export interface OrgRow {
  id: string;
  name: string;
  created_at: Date;
}
export interface ApiKeyRow {
  id: string;
  org_id: string;
  name: string;
  role: Exclude<OrgRole, 'owner'>;
  prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const MEMBER_COLS = 'u.id, u.email, u.name, u.disabled, u.created_at, u.updated_at, m.role';

/** SQL for orgs, users, memberships, refresh tokens and API keys. */
export class AccountsRepository {
  constructor(private readonly db: Queryable) {}

  async countUsers(): Promise<number> {
    const [r] = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
    return r?.n ?? 0;
  }

  async createOrg(name: string, q: Queryable = this.db): Promise<OrgRow> {
    const [r] = await q.query<OrgRow>('INSERT INTO orgs (name) VALUES ($1) RETURNING id, name, created_at', [name]);
    return r!;
  }

  async getOrg(id: string): Promise<OrgRow | null> {
    const [r] = await this.db.query<OrgRow>('SELECT id, name, created_at FROM orgs WHERE id = $1', [id]);
    return r ?? null;
  }

  async orgsOfUser(userId: string): Promise<(OrgRow & { role: OrgRole })[]> {
    return this.db.query(
      `SELECT o.id, o.name, o.created_at, m.role FROM memberships m JOIN orgs o ON o.id = m.org_id
       WHERE m.user_id = $1 ORDER BY m.created_at, o.id`,
      [userId],
    );
  }

  async createUser(u: { email: string; name: string; passwordHash: string }, q: Queryable = this.db): Promise<UserRow> {
    const [r] = await q.query<UserRow>('INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3) RETURNING *', [u.email, u.name, u.passwordHash]);
    return r!;
  }

  async userByEmail(email: string): Promise<UserRow | null> {
    const [r] = await this.db.query<UserRow>('SELECT * FROM users WHERE lower(email) = lower($1)', [email]);
    return r ?? null;
  }

  /** A user's name and email, for other modules that show who did something (metadata's note authors). */
  async nameAndEmail(userId: string): Promise<{ name: string; email: string } | null> {
    return (await this.db.query<{ name: string; email: string }>('SELECT name, email FROM users WHERE id = $1', [userId]))[0] ?? null;
  }

  async addMember(orgId: string, userId: string, role: OrgRole, q: Queryable = this.db): Promise<void> {
    await q.query('INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, $3)', [orgId, userId, role]);
  }

  async member(orgId: string, userId: string): Promise<MemberRow | null> {
    const [r] = await this.db.query<MemberRow>(
      `SELECT ${MEMBER_COLS} FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 AND m.user_id = $2`,
      [orgId, userId],
    );
    return r ?? null;
  }

  /** E-mail addresses of the org's members who are enabled and among `userIds` or hold one of `roles`. */
  async memberEmails(orgId: string, userIds: string[], roles: string[]): Promise<string[]> {
    const rows = await this.db.query<{ email: string }>(
      `SELECT DISTINCT u.email FROM memberships m JOIN users u ON u.id = m.user_id
       WHERE m.org_id = $1 AND NOT u.disabled AND (m.user_id = ANY($2::uuid[]) OR m.role = ANY($3::text[]))`,
      [orgId, userIds, roles],
    );
    return rows.map((r) => r.email);
  }

  async listMembers(orgId: string, limit: number, offset: number): Promise<{ items: MemberRow[]; total: number }> {
    const items = await this.db.query<MemberRow>(
      `SELECT ${MEMBER_COLS} FROM memberships m JOIN users u ON u.id = m.user_id
       WHERE m.org_id = $1 ORDER BY u.created_at, u.id LIMIT $2 OFFSET $3`,
      [orgId, limit, offset],
    );
    const [c] = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM memberships WHERE org_id = $1', [orgId]);
    return { items, total: c?.n ?? 0 };
  }

  async updateUser(id: string, patch: { name?: string; passwordHash?: string; disabled?: boolean }, q: Queryable = this.db): Promise<void> {
    await q.query(
      `UPDATE users SET name = coalesce($2, name), password_hash = coalesce($3, password_hash),
         disabled = coalesce($4, disabled), updated_at = now() WHERE id = $1`,
      [id, patch.name ?? null, patch.passwordHash ?? null, patch.disabled ?? null],
    );
  }

  async removeMember(orgId: string, userId: string): Promise<boolean> {
    return (await this.db.query('DELETE FROM memberships WHERE org_id = $1 AND user_id = $2 RETURNING user_id', [orgId, userId])).length > 0;
  }

  /** Ends a user's sessions in one org (removed from it); their sessions in other orgs go on. */
  async revokeRefreshTokensIn(orgId: string, userId: string): Promise<void> {
    await this.db.query('UPDATE refresh_tokens SET revoked_at = now() WHERE org_id = $1 AND user_id = $2 AND revoked_at IS NULL', [orgId, userId]);
  }

  async storePasswordReset(r: { userId: string; hash: string; expiresAt: Date }): Promise<void> {
    await this.db.query('INSERT INTO password_resets (user_id, token_hash, expires_at) VALUES ($1, $2, $3)', [r.userId, r.hash, r.expiresAt]);
  }

  /** Uses a reset token: marked used in the same statement, so it works once; null when unknown, used or expired. */
  async consumePasswordReset(hash: string, q: Queryable = this.db): Promise<string | null> {
    const [r] = await q.query<{ user_id: string }>(
      'UPDATE password_resets SET used_at = now() WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING user_id',
      [hash],
    );
    return r?.user_id ?? null;
  }

  /** Resets a user asked for within the last hour (mail-bombing guard, next to the rate limits). */
  async recentPasswordResets(userId: string): Promise<number> {
    const [r] = await this.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM password_resets WHERE user_id = $1 AND created_at > now() - interval '1 hour'",
      [userId],
    );
    return r?.n ?? 0;
  }

  async setRole(orgId: string, userId: string, role: OrgRole): Promise<void> {
    await this.db.query('UPDATE memberships SET role = $3 WHERE org_id = $1 AND user_id = $2', [orgId, userId, role]);
  }

  async countOwners(orgId: string): Promise<number> {
    const [r] = await this.db.query<{ n: number }>("SELECT count(*)::int AS n FROM memberships WHERE org_id = $1 AND role = 'owner'", [orgId]);
    return r?.n ?? 0;
  }

  async storeRefreshToken(t: { userId: string; orgId: string; hash: string; expiresAt: Date }): Promise<void> {
    await this.db.query('INSERT INTO refresh_tokens (user_id, org_id, token_hash, expires_at) VALUES ($1, $2, $3, $4)', [
      t.userId,
      t.orgId,
      t.hash,
      t.expiresAt,
    ]);
  }

  /** Consumes a refresh token: it is revoked in the same statement, so it works once. */
  async revokeRefreshTokens(userId: string, q: Queryable = this.db): Promise<void> {
    await q.query('UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL', [userId]);
  }

  async consumeRefreshToken(hash: string): Promise<{ user_id: string; org_id: string } | null> {
    const [r] = await this.db.query<{ user_id: string; org_id: string }>(
      `UPDATE refresh_tokens SET revoked_at = now()
       WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now() RETURNING user_id, org_id`,
      [hash],
    );
    return r ?? null;
  }

  async createApiKey(k: { orgId: string; name: string; role: string; prefix: string; hash: string; createdBy: string | null }): Promise<ApiKeyRow> {
    const [r] = await this.db.query<ApiKeyRow>(
      `INSERT INTO api_keys (org_id, name, role, prefix, key_hash, created_by) VALUES ($1, $2, $3, $4, $5, $6)
       RETURNING id, org_id, name, role, prefix, created_at, last_used_at, revoked_at`,
      [k.orgId, k.name, k.role, k.prefix, k.hash, k.createdBy],
    );
    return r!;
  }

  async listApiKeys(orgId: string): Promise<ApiKeyRow[]> {
    return this.db.query(
      'SELECT id, org_id, name, role, prefix, created_at, last_used_at, revoked_at FROM api_keys WHERE org_id = $1 ORDER BY created_at DESC',
      [orgId],
    );
  }

  async revokeApiKey(orgId: string, id: string): Promise<boolean> {
    const r = await this.db.query('UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE org_id = $1 AND id = $2 RETURNING id', [orgId, id]);
    return r.length > 0;
  }

  async apiKeyActive(orgId: string, id: string): Promise<boolean> {
    return (await this.db.query('SELECT 1 FROM api_keys WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL', [orgId, id])).length > 0;
  }

  async apiKeyByHash(hash: string): Promise<ApiKeyRow | null> {
    const [r] = await this.db.query<ApiKeyRow>(
      `UPDATE api_keys SET last_used_at = now() WHERE key_hash = $1 AND revoked_at IS NULL
       RETURNING id, org_id, name, role, prefix, created_at, last_used_at, revoked_at`,
      [hash],
    );
    return r ?? null;
  }

  async getSetting(key: string): Promise<string | null> {
    const [r] = await this.db.query<{ value: string }>('SELECT value FROM settings WHERE key = $1', [key]);
    return r?.value ?? null;
  }

  async deleteSetting(key: string): Promise<void> {
    await this.db.query('DELETE FROM settings WHERE key = $1', [key]);
  }
}
