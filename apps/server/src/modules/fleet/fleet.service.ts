import type { Database } from '../../platform/db/database.js';
import type { Actor } from '../accounts/actor.js';
import { FleetRepository } from './fleet.repository.js';
import type { FleetOverview } from './fleet.schemas.js';

/** The fleet overview (dashboard home): counts, recent alerts, message rate, recently silent devices. */
export class FleetService {
  private readonly repo: FleetRepository;
  constructor(db: Database, defaultTimeoutS: number) {
    this.repo = new FleetRepository(db, defaultTimeoutS);
  }

  async overview(actor: Actor, projectId?: string): Promise<FleetOverview> {
    const counts = await this.repo.deviceCounts(actor.orgId, projectId ?? null);
    const alerts = await this.repo.alertCounts(actor.orgId, projectId ?? null);
    const rate = await this.repo.messagesPerMinute(actor.orgId, projectId ?? null);
    const silent = await this.repo.recentlySilent(actor.orgId, projectId ?? null);
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
