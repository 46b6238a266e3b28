import type { Queryable } from '../../platform/db/database.js';
import { likeStartingWith } from '../../platform/db/text-match.js';
import type { Actor } from '../accounts/actor.js';

/** Someone not (yet) known: a failed sign-in. */
export interface AnonymousActor {
  kind: 'anonymous';
  ip: string | null;
}

export interface AuditQuery {
  actor?: string;
  /** Exact, or a prefix when it ends with a dot (`device.`). */
  action?: string;
  targetKind?: string;
  targetId?: string;
  from?: Date;
  to?: Date;
  /** The id of the last entry of the previous page: the next page is older. */
  before?: string;
  limit: number;
}

export interface AuditRow {
  id: string;
  actor_kind: string;
  actor_id: string | null;
  actor_name: string | null;
  actor_email: string | null;
  action: string;
  target_kind: string;
  target_id: string | null;
  ip: string | null;
  details: unknown;
  created_at: Date;
}

/**
 * Who did what to which resource, from where. `details` say what changed and
 * must never hold a secret (password, token, key, claim code): callers pass
 * names and field lists, not request bodies with credentials in them.
 */
export class AuditLog {
  constructor(private readonly db: Queryable) {}

  async record(e: {
    orgId: string;
    actor: Actor | AnonymousActor | { kind: 'device'; deviceId: string };
    action: string;
    targetKind: string;
    targetId: string | null;
    details?: unknown;
  }): Promise<void> {
    const a = e.actor;
    const actorId = a.kind === 'device' ? a.deviceId : a.kind === 'anonymous' ? null : (a.userId ?? a.apiKeyId);
    const ip = 'ip' in a ? (a.ip ?? null) : null;
    await this.db.query(
      'INSERT INTO audit_log (org_id, actor_kind, actor_id, action, target_kind, target_id, details, ip) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      [e.orgId, a.kind, actorId, e.action, e.targetKind, e.targetId, JSON.stringify(e.details ?? {}), ip],
    );
  }

  /** The org's entries, newest first; a user actor comes with their name and e-mail, an API key with its name. */
  list(orgId: string, q: AuditQuery): Promise<AuditRow[]> {
    const where = ['a.org_id = $1'];
    const params: unknown[] = [orgId];
    const add = (sql: (n: string) => string, v: unknown) => {
      params.push(v);
      where.push(sql(`$${params.length}`));
    };
    if (q.actor) add((n) => `a.actor_id = ${n}::uuid`, q.actor);
    if (q.action?.endsWith('.')) add((n) => `a.action LIKE ${n}`, likeStartingWith(q.action));
    else if (q.action) add((n) => `a.action = ${n}`, q.action);
    if (q.targetKind) add((n) => `a.target_kind = ${n}`, q.targetKind);
    if (q.targetId) add((n) => `a.target_id = ${n}::uuid`, q.targetId);
    if (q.from) add((n) => `a.created_at >= ${n}`, q.from);
    if (q.to) add((n) => `a.created_at < ${n}`, q.to);
    if (q.before) add((n) => `(a.created_at, a.id) < (SELECT created_at, id FROM audit_log WHERE id = ${n}::uuid AND org_id = $1)`, q.before);
    params.push(q.limit);
    return this.db.query<AuditRow>(
      `SELECT a.id, a.actor_kind, a.actor_id, a.action, a.target_kind, a.target_id, a.ip, a.details, a.created_at,
              COALESCE(u.name, k.name) AS actor_name, u.email AS actor_email
         FROM audit_log a
         LEFT JOIN users u ON a.actor_kind = 'user' AND u.id = a.actor_id
         LEFT JOIN api_keys k ON a.actor_kind = 'api_key' AND k.id = a.actor_id AND k.org_id = a.org_id
        WHERE ${where.join(' AND ')}
        ORDER BY a.created_at DESC, a.id DESC LIMIT $${params.length}`,
      params,
    );
  }
}
