import type { Queryable } from '../../platform/db/database.js';
import { requireRole, type Actor } from '../accounts/actor.js';
import { AuditLog, type AuditRow } from './audit.repository.js';
import type { AuditEntry, AuditQuery } from './audit.schemas.js';

const toEntry = (r: AuditRow): AuditEntry => ({
  id: r.id,
  at: r.created_at.toISOString(),
  actor: { kind: r.actor_kind as AuditEntry['actor']['kind'], id: r.actor_id, name: r.actor_name, email: r.actor_email },
  action: r.action,
  target: { kind: r.target_kind, id: r.target_id },
  ip: r.ip,
  details: (r.details ?? {}) as Record<string, unknown>,
});

/** Reading the audit log: admins and owners, their own org only. */
export class AuditService {
  private readonly log: AuditLog;
  constructor(db: Queryable) {
    this.log = new AuditLog(db);
  }

  async list(actor: Actor, q: AuditQuery): Promise<{ items: AuditEntry[]; nextBefore: string | null }> {
    requireRole(actor, 'admin');
    const limit = q.limit ?? 100;
    const rows = await this.log.list(actor.orgId, {
      ...q,
      from: q.from ? new Date(q.from) : undefined,
      to: q.to ? new Date(q.to) : undefined,
      limit,
    });
    return { items: rows.map(toEntry), nextBefore: rows.length === limit ? rows[rows.length - 1]!.id : null };
  }
}
