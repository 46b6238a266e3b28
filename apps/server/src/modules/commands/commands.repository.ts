import type { Queryable } from '../../platform/db/database.js';

import type { CommandStatus } from '@tether/contracts';
export { COMMAND_STATUSES, type CommandStatus } from '@tether/contracts';
export const OPEN_STATUSES: readonly CommandStatus[] = ['queued', 'sent', 'delivered'];

export interface CommandRow {
  id: string;
  org_id: string;
  device_id: string;
  name: string;
  params: Record<string, unknown>;
  status: CommandStatus;
  timeout_ms: number;
  retries: number;
  attempts: number;
  expires_at: Date;
  result: unknown;
  error: string | null;
  created_by: string | null;
  created_by_kind: string;
  created_at: Date;
  sent_at: Date | null;
  delivered_at: Date | null;
  completed_at: Date | null;
  updated_at: Date;
}

/** SQL for commands. State changes are single conditional UPDATEs, so concurrent nodes never double-deliver. */
export class CommandsRepository {
  constructor(private readonly db: Queryable) {}

  async insert(c: {
    orgId: string;
    deviceId: string;
    name: string;
    params: unknown;
    timeoutMs: number;
    retries: number;
    expiresAt: Date;
    createdBy: string | null;
    createdByKind: string;
  }): Promise<CommandRow> {
    const [r] = await this.db.query<CommandRow>(
      `INSERT INTO commands (org_id, device_id, name, params, status, timeout_ms, retries, expires_at, created_by, created_by_kind)
       VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $8, $9) RETURNING *`,
      [c.orgId, c.deviceId, c.name, JSON.stringify(c.params ?? {}), c.timeoutMs, c.retries, c.expiresAt, c.createdBy, c.createdByKind],
    );
    return r!;
  }

  async get(orgId: string, deviceId: string, id: string): Promise<CommandRow | null> {
    const [r] = await this.db.query<CommandRow>('SELECT * FROM commands WHERE org_id = $1 AND device_id = $2 AND id = $3', [orgId, deviceId, id]);
    return r ?? null;
  }

  async byId(id: string): Promise<CommandRow | null> {
    const [r] = await this.db.query<CommandRow>('SELECT * FROM commands WHERE id = $1', [id]);
    return r ?? null;
  }

  async list(orgId: string, deviceId: string, status: string | null, limit: number): Promise<CommandRow[]> {
    return this.db.query<CommandRow>(
      'SELECT * FROM commands WHERE org_id = $1 AND device_id = $2 AND ($3::text IS NULL OR status = $3) ORDER BY created_at DESC LIMIT $4',
      [orgId, deviceId, status, limit],
    );
  }

  /** HTTP long-poll: claims a device's open, unexpired commands not yet delivered; the response delivers them. */
  async claimForPoll(deviceId: string): Promise<CommandRow[]> {
    return this.db.query<CommandRow>(
      `UPDATE commands SET status = 'delivered', attempts = attempts + 1, sent_at = now(), delivered_at = now(), updated_at = now()
       WHERE id IN (SELECT id FROM commands WHERE device_id = $1 AND status IN ('queued', 'sent') AND expires_at > now() ORDER BY created_at LIMIT 100)
         AND status IN ('queued', 'sent')
       RETURNING *`,
      [deviceId],
    );
  }

  /**
   * MQTT: claims queued commands for sending while fewer than `window` of the
   * device's commands are sent and not yet PUBACKed, oldest first.
   */
  async claimQueued(deviceId: string, window: number): Promise<CommandRow[]> {
    return this.db.query<CommandRow>(
      `UPDATE commands SET status = 'sent', attempts = attempts + 1, sent_at = now(), updated_at = now()
       WHERE id IN (SELECT id FROM commands WHERE device_id = $1 AND status = 'queued' AND expires_at > now() ORDER BY created_at
                    LIMIT greatest(0, $2 - (SELECT count(*) FROM commands WHERE device_id = $1 AND status = 'sent')))
         AND status = 'queued'
       RETURNING *`,
      [deviceId, window],
    );
  }

  /**
   * MQTT, a new session of the device: its commands sent to an earlier one and
   * never PUBACKed are sent again (that session's unacknowledged publishes are
   * gone with it), each as one more attempt.
   */
  async claimUnacked(deviceId: string, window: number): Promise<CommandRow[]> {
    return this.db.query<CommandRow>(
      `UPDATE commands SET attempts = attempts + 1, sent_at = now(), updated_at = now()
       WHERE id IN (SELECT id FROM commands WHERE device_id = $1 AND status = 'sent' AND expires_at > now() ORDER BY created_at LIMIT $2)
         AND status = 'sent'
       RETURNING *`,
      [deviceId, window],
    );
  }

  /**
   * A resend after a timeout without PUBACK: only while still `sent`, unexpired,
   * within the retry budget, and a whole timeout after the last send (so a
   * check scheduled by an earlier send cannot resend early, or twice).
   */
  async claimRetry(id: string): Promise<CommandRow | null> {
    const [r] = await this.db.query<CommandRow>(
      `UPDATE commands SET attempts = attempts + 1, sent_at = now(), updated_at = now()
       WHERE id = $1 AND status = 'sent' AND expires_at > now() AND attempts <= retries
         AND sent_at <= now() - timeout_ms * interval '1 millisecond' RETURNING *`,
      [id],
    );
    return r ?? null;
  }

  /**
   * Ends a command nobody answered: `sent` with its attempts used up and no
   * PUBACK a timeout after the last one, or `delivered` with no result a
   * timeout after delivery.
   */
  async timeOut(id: string): Promise<CommandRow | null> {
    const [r] = await this.db.query<CommandRow>(
      `UPDATE commands SET status = 'timed-out', completed_at = now(), updated_at = now(),
         error = CASE status WHEN 'sent' THEN format('no PUBACK after %s attempt(s), %s ms each', attempts, timeout_ms)
                             ELSE format('delivered, but no result within %s ms', timeout_ms) END
       WHERE id = $1 AND (
         (status = 'sent' AND attempts > retries AND sent_at <= now() - timeout_ms * interval '1 millisecond')
         OR (status = 'delivered' AND delivered_at <= now() - timeout_ms * interval '1 millisecond'))
       RETURNING *`,
      [id],
    );
    return r ?? null;
  }

  /** `sent` to a device that went away before its PUBACK: queued again, sent when it is back. */
  async requeue(id: string): Promise<CommandRow | null> {
    const [r] = await this.db.query<CommandRow>(
      `UPDATE commands SET status = 'queued', updated_at = now()
       WHERE id = $1 AND status = 'sent' AND attempts <= retries AND sent_at <= now() - timeout_ms * interval '1 millisecond' RETURNING *`,
      [id],
    );
    return r ?? null;
  }

  async markDelivered(deviceId: string, id: string): Promise<CommandRow | null> {
    const [r] = await this.db.query<CommandRow>(
      `UPDATE commands SET status = 'delivered', delivered_at = now(), updated_at = now()
       WHERE id = $1 AND device_id = $2 AND status = 'sent' RETURNING *`,
      [id, deviceId],
    );
    return r ?? null;
  }

  async complete(deviceId: string, id: string, ok: boolean, result: unknown, error: string | null): Promise<CommandRow | null> {
    const [r] = await this.db.query<CommandRow>(
      `UPDATE commands SET status = $3, result = $4, error = $5, completed_at = now(), updated_at = now(),
         delivered_at = coalesce(delivered_at, now())
       WHERE id = $1 AND device_id = $2 AND status IN ('sent', 'delivered') RETURNING *`,
      [id, deviceId, ok ? 'succeeded' : 'failed', result === undefined ? null : JSON.stringify(result), error],
    );
    return r ?? null;
  }

  async cancel(orgId: string, deviceId: string, id: string): Promise<CommandRow | null> {
    const [r] = await this.db.query<CommandRow>(
      `UPDATE commands SET status = 'cancelled', completed_at = now(), updated_at = now()
       WHERE org_id = $1 AND device_id = $2 AND id = $3 AND status = 'queued' RETURNING *`,
      [orgId, deviceId, id],
    );
    return r ?? null;
  }

  async expire(id: string): Promise<CommandRow | null> {
    const [r] = await this.db.query<CommandRow>(
      `UPDATE commands SET status = 'expired', completed_at = now(), updated_at = now()
       WHERE id = $1 AND status IN ('queued', 'sent', 'delivered') AND expires_at <= now() RETURNING *`,
      [id],
    );
    return r ?? null;
  }
}
