import type { Queryable } from '../../platform/db/database.js';
import type { Actor } from '../accounts/actor.js';

/** Who did what to which resource, and with what result. */
export class AuditLog {
  constructor(private readonly db: Queryable) {}

  async record(e: {
    orgId: string;
    actor: Actor | { kind: 'device'; deviceId: string };
    action: string;
    targetKind: string;
    targetId: string | null;
    details?: unknown;
  }): Promise<void> {
    const actorKind = e.actor.kind;
    const actorId = 'deviceId' in e.actor ? e.actor.deviceId : (e.actor.userId ?? e.actor.apiKeyId);
    await this.db.query('INSERT INTO audit_log (org_id, actor_kind, actor_id, action, target_kind, target_id, details) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
      e.orgId,
      actorKind,
      actorId,
      e.action,
      e.targetKind,
      e.targetId,
      JSON.stringify(e.details ?? {}),
    ]);
  }

  async list(orgId: string, q: { targetId?: string; limit: number }) {
    const rows = await this.db.query<{
      id: string;
      actor_kind: string;
      actor_id: string | null;
      action: string;
      target_kind: string;
      target_id: string | null;
      details: unknown;
      created_at: Date;
    }>(
      `SELECT id, actor_kind, actor_id, action, target_kind, target_id, details, created_at FROM audit_log
       WHERE org_id = $1 AND ($2::uuid IS NULL OR target_id = $2) ORDER BY created_at DESC LIMIT $3`,
      [orgId, q.targetId ?? null, q.limit],
    );
    return rows.map((r) => ({
      id: r.id,
      actorKind: r.actor_kind,
      actorId: r.actor_id,
      action: r.action,
      targetKind: r.target_kind,
      targetId: r.target_id,
      details: r.details,
      at: r.created_at.toISOString(),
    }));
  }
}
