import type { Database } from '../../platform/db/database.js';

/** A device whose online state a statement changed. */
export interface PresenceChange {
  id: string;
  org_id: string;
  project_id: string | null;
  online: boolean;
  last_seen_at: Date | null;
}

const CHANGED = 'RETURNING id, org_id, project_id, online, last_seen_at';

/** The SQL of presence: which node holds which device, and the nodes' leases. */
export class PresenceRepository {
  constructor(private readonly db: Database) {}

  async connected(nodeId: string, deviceId: string): Promise<PresenceChange | null> {
    const [r] = await this.db.query<PresenceChange>(
      `UPDATE devices SET online = true, connected_node = $2, last_connected_at = now() WHERE id = $1 ${CHANGED}`,
      [deviceId, nodeId],
    );
    return r ?? null;
  }

  /** Only while this node holds it: a device that moved to another node meanwhile stays online there. */
  async disconnected(nodeId: string, deviceId: string): Promise<PresenceChange | null> {
    const [r] = await this.db.query<PresenceChange>(
      `UPDATE devices SET online = false, connected_node = NULL, last_disconnected_at = now() WHERE id = $1 AND connected_node = $2 ${CHANGED}`,
      [deviceId, nodeId],
    );
    return r ?? null;
  }

  /** Starts or renews the node's lease. */
  async renew(nodeId: string): Promise<void> {
    await this.db.query('INSERT INTO broker_nodes (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET seen_at = now()', [nodeId]);
  }

  /**
   * Makes the database say what this node's broker knows: the devices connected
   * here are online and held by it, and those it held that are gone are offline.
   * Only the rows that change are written.
   */
  async reconcile(nodeId: string, connectedIds: string[]): Promise<PresenceChange[]> {
    return this.db.transaction(async (tx) => {
      const on = await tx.query<PresenceChange>(
        `UPDATE devices SET online = true, connected_node = $2, last_connected_at = now()
         WHERE id = ANY($1::uuid[]) AND NOT (online AND connected_node IS NOT DISTINCT FROM $2) ${CHANGED}`,
        [connectedIds, nodeId],
      );
      const off = await tx.query<PresenceChange>(
        `UPDATE devices SET online = false, connected_node = NULL, last_disconnected_at = now()
         WHERE online AND connected_node = $2 AND NOT (id = ANY($1::uuid[])) ${CHANGED}`,
        [connectedIds, nodeId],
      );
      return [...on, ...off];
    });
  }

  /**
   * Devices held by a node whose lease ran out `staleS` ago, or by no node at all
   * (online from before leases existed), go offline; the dead nodes are forgotten.
   */
  async sweep(staleS: number): Promise<PresenceChange[]> {
    return this.db.transaction(async (tx) => {
      const dead = (await tx.query<{ id: string }>(`DELETE FROM broker_nodes WHERE seen_at < now() - make_interval(secs => $1) RETURNING id`, [staleS])).map(
        (r) => r.id,
      );
      return tx.query<PresenceChange>(
        `UPDATE devices SET online = false, connected_node = NULL, last_disconnected_at = now()
         WHERE online AND (connected_node IS NULL OR connected_node = ANY($1::uuid[])) ${CHANGED}`,
        [dead],
      );
    });
  }

  /** A node that stops cleanly gives its lease up at once. */
  async release(nodeId: string): Promise<PresenceChange[]> {
    const off = await this.db.query<PresenceChange>(
      `UPDATE devices SET online = false, connected_node = NULL, last_disconnected_at = now() WHERE online AND connected_node = $1 ${CHANGED}`,
      [nodeId],
    );
    await this.db.query('DELETE FROM broker_nodes WHERE id = $1', [nodeId]);
    return off;
  }
}
