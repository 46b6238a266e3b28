/**
 * SQL for the fleet overview. Every query here aggregates over devices, so it
 * joins tables other modules own rather than fetching rows to count in memory:
 * - `devices` (devices module): the counts, the org and project scope, last_seen_at;
 * - `projects` (projects module): the project's inactivity timeout, the fallback
 *   between the device's own and the default one (as DevicesRepository does);
 * - `events` (written by ingest): alerts of the last 24 hours;
 * - `messages` (written by ingest): messages per minute over the last hour.
 * These reads are kept in one SQL statement each so a fleet of any size costs four queries.
 */
import type { Queryable } from '../../platform/db/database.js';

export interface FleetCountsRow {
  total: number;
  online: number;
  active: number;
  never_seen: number;
}

// $1 is always the org, $2 the default inactivity timeout, $3 the project or null (every project).
const SCOPE = 'd.org_id = $1 AND ($3::uuid IS NULL OR d.project_id = $3)';

export class FleetRepository {
  constructor(
    private readonly db: Queryable,
    private readonly defaultTimeoutS: number,
  ) {}

  async deviceCounts(orgId: string, projectId: string | null): Promise<FleetCountsRow | null> {
    const [counts] = await this.db.query<FleetCountsRow>(
      `SELECT count(*)::int AS total,
              count(*) FILTER (WHERE d.online)::int AS online,
              count(*) FILTER (WHERE d.last_seen_at > now() - make_interval(secs => coalesce(d.inactivity_timeout_s, p.inactivity_timeout_s, $2::int)))::int AS active,
              count(*) FILTER (WHERE d.last_seen_at IS NULL)::int AS never_seen
       FROM devices d LEFT JOIN projects p ON p.id = d.project_id WHERE ${SCOPE}`,
      [orgId, this.defaultTimeoutS, projectId],
    );
    return counts ?? null;
  }

  /** Alerts of the last 24 hours, and how many of them are critical. */
  async alertCounts(orgId: string, projectId: string | null): Promise<{ n: number; critical: number } | null> {
    // $2 is bound here too so every statement shares one parameter list.
    const [alerts] = await this.db.query<{ n: number; critical: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE e.severity = 'critical')::int AS critical
       FROM events e JOIN devices d ON d.id = e.device_id
       WHERE ${SCOPE} AND e.kind = 'alert' AND e.ts > now() - interval '24 hours' AND $2::int IS NOT NULL`,
      [orgId, this.defaultTimeoutS, projectId],
    );
    return alerts ?? null;
  }

  /** Messages per minute over the last hour, from the raw message history; minutes without messages have no row. */
  async messagesPerMinute(orgId: string, projectId: string | null): Promise<{ minute: Date; n: number }[]> {
    return this.db.query<{ minute: Date; n: number }>(
      `SELECT date_trunc('minute', m.received_at) AS minute, count(*)::int AS n
       FROM messages m JOIN devices d ON d.id = m.device_id
       WHERE ${SCOPE} AND m.received_at > now() - interval '60 minutes' AND $2::int IS NOT NULL
       GROUP BY 1 ORDER BY 1`,
      [orgId, this.defaultTimeoutS, projectId],
    );
  }

  /** The ten devices that went silent (seen once, inactive now) most recently. */
  async recentlySilent(orgId: string, projectId: string | null): Promise<{ id: string; name: string; last_seen_at: Date }[]> {
    return this.db.query<{ id: string; name: string; last_seen_at: Date }>(
      `SELECT d.id, d.name, d.last_seen_at FROM devices d LEFT JOIN projects p ON p.id = d.project_id
       WHERE ${SCOPE} AND d.last_seen_at IS NOT NULL
         AND d.last_seen_at <= now() - make_interval(secs => coalesce(d.inactivity_timeout_s, p.inactivity_timeout_s, $2::int))
       ORDER BY d.last_seen_at DESC LIMIT 10`,
      [orgId, this.defaultTimeoutS, projectId],
    );
  }
}
