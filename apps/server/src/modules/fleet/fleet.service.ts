import type { Database } from '../../platform/db/database.js';
import type { Actor } from '../accounts/actor.js';
import type { FleetOverview } from './fleet.schemas.js';

/** The fleet overview (dashboard home): counts, recent alerts, message rate, recently silent devices. */
export class FleetService {
  constructor(
    private readonly db: Database,
    private readonly defaultTimeoutS: number,
  ) {}

  async overview(actor: Actor, projectId?: string): Promise<FleetOverview> {
    const params = [actor.orgId, this.defaultTimeoutS, projectId ?? null];
    const scope = 'd.org_id = $1 AND ($3::uuid IS NULL OR d.project_id = $3)';
    const [counts] = await this.db.query<{ total: number; online: number; active: number; never_seen: number }>(
      `SELECT count(*)::int AS total,
              count(*) FILTER (WHERE d.online)::int AS online,
              count(*) FILTER (WHERE d.last_seen_at > now() - make_interval(secs => coalesce(d.inactivity_timeout_s, p.inactivity_timeout_s, $2::int)))::int AS active,
              count(*) FILTER (WHERE d.last_seen_at IS NULL)::int AS never_seen
       FROM devices d LEFT JOIN projects p ON p.id = d.project_id WHERE ${scope}`,
      params,
    );
    const [alerts] = await this.db.query<{ n: number; critical: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE e.severity = 'critical')::int AS critical
       FROM events e JOIN devices d ON d.id = e.device_id
       WHERE ${scope} AND e.kind = 'alert' AND e.ts > now() - interval '24 hours' AND $2::int IS NOT NULL`,
      params,
    );
    // Messages per minute over the last hour, from the raw message history.
    const rate = await this.db.query<{ minute: Date; n: number }>(
      `SELECT date_trunc('minute', m.received_at) AS minute, count(*)::int AS n
       FROM messages m JOIN devices d ON d.id = m.device_id
       WHERE ${scope} AND m.received_at > now() - interval '60 minutes' AND $2::int IS NOT NULL
       GROUP BY 1 ORDER BY 1`,
      params,
    );
    const silent = await this.db.query<{ id: string; name: string; last_seen_at: Date }>(
      `SELECT d.id, d.name, d.last_seen_at FROM devices d LEFT JOIN projects p ON p.id = d.project_id
       WHERE ${scope} AND d.last_seen_at IS NOT NULL
         AND d.last_seen_at <= now() - make_interval(secs => coalesce(d.inactivity_timeout_s, p.inactivity_timeout_s, $2::int))
       ORDER BY d.last_seen_at DESC LIMIT 10`,
      params,
    );
    const total = counts?.total ?? 0;
    const byMinute = new Map(rate.map((r) => [r.minute.getTime(), r.n]));
    const start = Math.floor(Date.now() / 60_000) * 60_000 - 59 * 60_000;
    return {
      devices: {
        total,
        online: counts?.online ?? 0,
        offline: total - (counts?.online ?? 0),
        active: counts?.active ?? 0,
        inactive: total - (counts?.active ?? 0),
        neverSeen: counts?.never_seen ?? 0,
      },
      alerts24h: { total: alerts?.n ?? 0, critical: alerts?.critical ?? 0 },
      messagesPerMinute: Array.from({ length: 60 }, (_, i) => {
        const t = start + i * 60_000;
        return { minute: new Date(t).toISOString(), count: byMinute.get(t) ?? 0 };
      }),
      recentlySilent: silent.map((d) => ({ id: d.id, name: d.name, lastSeenAt: d.last_seen_at.toISOString() })),
    };
  }
}
