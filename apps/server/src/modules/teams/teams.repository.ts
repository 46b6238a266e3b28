import type { Queryable } from '../../platform/db/database.js';
import type { OrgRole } from '../accounts/actor.js';

export type MailStatus = 'sent' | 'failed' | 'not_configured';

export interface InvitationRow {
  id: string;
  org_id: string;
  email: string;
  role: OrgRole;
  invited_by: string | null;
  invited_by_email: string | null;
  created_at: Date;
  expires_at: Date;
  accepted_at: Date | null;
  accepted_by: string | null;
  revoked_at: Date | null;
  mail_status: MailStatus;
  mail_error: string | null;
}

const COLS = `i.id, i.org_id, i.email, i.role, i.invited_by, u.email AS invited_by_email, i.created_at, i.expires_at,
  i.accepted_at, i.accepted_by, i.revoked_at, i.mail_status, i.mail_error`;
const FROM = 'invitations i LEFT JOIN users u ON u.id = i.invited_by';
const PENDING = 'i.accepted_at IS NULL AND i.revoked_at IS NULL';

/** SQL for invitations. */
export class TeamsRepository {
  constructor(private readonly db: Queryable) {}

  /** A new invitation; a pending one for the same address and org is revoked in the same transaction (inviting again replaces it). */
  async create(
    i: { orgId: string; email: string; role: OrgRole; tokenHash: string; invitedBy: string | null; expiresAt: Date; mailStatus: MailStatus },
    q: Queryable,
  ): Promise<string> {
    await q.query(`UPDATE invitations i SET revoked_at = now() WHERE i.org_id = $1 AND lower(i.email) = lower($2) AND ${PENDING}`, [i.orgId, i.email]);
    const [r] = await q.query<{ id: string }>(
      `INSERT INTO invitations (org_id, email, role, token_hash, invited_by, expires_at, mail_status) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [i.orgId, i.email, i.role, i.tokenHash, i.invitedBy, i.expiresAt, i.mailStatus],
    );
    return r!.id;
  }

  async setMailStatus(id: string, status: MailStatus, error: string | null): Promise<void> {
    await this.db.query('UPDATE invitations SET mail_status = $2, mail_error = $3 WHERE id = $1', [id, status, error]);
  }

  async get(orgId: string, id: string): Promise<InvitationRow | null> {
    const [r] = await this.db.query<InvitationRow>(`SELECT ${COLS} FROM ${FROM} WHERE i.org_id = $1 AND i.id = $2`, [orgId, id]);
    return r ?? null;
  }

  async byTokenHash(hash: string): Promise<InvitationRow | null> {
    const [r] = await this.db.query<InvitationRow>(`SELECT ${COLS} FROM ${FROM} WHERE i.token_hash = $1`, [hash]);
    return r ?? null;
  }

  /** Newest first; `pending` only those that can still be accepted. */
  list(orgId: string, pendingOnly: boolean, limit: number): Promise<InvitationRow[]> {
    return this.db.query<InvitationRow>(
      `SELECT ${COLS} FROM ${FROM} WHERE i.org_id = $1 ${pendingOnly ? `AND ${PENDING} AND i.expires_at > now()` : ''}
       ORDER BY i.created_at DESC, i.id LIMIT $2`,
      [orgId, limit],
    );
  }

  async revoke(orgId: string, id: string): Promise<boolean> {
    return (
      (await this.db.query(`UPDATE invitations i SET revoked_at = now() WHERE i.org_id = $1 AND i.id = $2 AND ${PENDING} RETURNING id`, [orgId, id])).length > 0
    );
  }

  /** Uses the invitation: one statement, so two acceptances race to one winner. */
  async accept(id: string, userId: string, q: Queryable): Promise<boolean> {
    const r = await q.query(
      `UPDATE invitations i SET accepted_at = now(), accepted_by = $2 WHERE i.id = $1 AND ${PENDING} AND i.expires_at > now() RETURNING id`,
      [id, userId],
    );
    return r.length > 0;
  }
}
