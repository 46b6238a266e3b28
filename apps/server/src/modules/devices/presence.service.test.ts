/**
 * PresenceService against a real database (PGlite, or PostgreSQL with
 * DATABASE_URL). The broker is a set of device ids; a database outage is a
 * wrapper whose queries fail while `down` is set. The outage with a real
 * PostgreSQL and real clients is test/database-outage.test.ts.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testDatabase } from '../../../test/helpers.js';
import type { Database } from '../../platform/db/database.js';
import { createLogger } from '../../platform/observability/logger.js';
import type { DeviceIdentity } from './devices.repository.js';
import { PresenceService } from './presence.service.js';

let db: Database;
let close: () => Promise<void>;
let orgId: string;
let down = false;
let slowOffline = false;

/** The real database, failing every query while `down` is set, and slow to write an offline while `slowOffline` is. */
function flaky(real: Database): Database {
  const guard = async (sql: unknown) => {
    if (down) throw new Error('connect ECONNREFUSED (test outage)');
    if (slowOffline && String(sql).includes('online = false')) await new Promise((r) => setTimeout(r, 300));
  };
  return new Proxy(real, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function' || !['query', 'queryPrepared', 'transaction', 'exec'].includes(String(prop))) return v;
      return async (...args: unknown[]) => {
        await guard(args[0]);
        return (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
}

class Node {
  readonly connected = new Set<string>();
  readonly events: { deviceId: string; online: boolean }[] = [];
  readonly presence: PresenceService;
  constructor(database: Database) {
    this.presence = new PresenceService({
      db: database,
      logger: createLogger('silent'),
      leaseS: 3600, // ticks are driven by the tests
      statusChanged: (d, online) => this.events.push({ deviceId: d.deviceId, online }),
    });
  }
  start() {
    return this.presence.start({ connectedIds: () => this.connected, holds: (id) => this.connected.has(id) });
  }
  connect(d: DeviceIdentity) {
    this.connected.add(d.deviceId);
    return this.presence.changed(d);
  }
  disconnect(d: DeviceIdentity) {
    this.connected.delete(d.deviceId);
    return this.presence.changed(d);
  }
}

async function buildDevice(name: string): Promise<DeviceIdentity> {
  const [d] = await db.query<{ id: string }>('INSERT INTO devices (org_id, name) VALUES ($1, $2) RETURNING id', [orgId, name]);
  return { deviceId: d!.id, orgId, projectId: null };
}
const online = async (d: DeviceIdentity) => (await db.query<{ online: boolean }>('SELECT online FROM devices WHERE id = $1', [d.deviceId]))[0]!.online;

beforeAll(async () => {
  ({ db, close } = await testDatabase());
  const [o] = await db.query<{ id: string }>("INSERT INTO orgs (name) VALUES ('presence') RETURNING id");
  orgId = o!.id;
});
afterAll(async () => close?.());
beforeEach(() => {
  down = false;
  slowOffline = false;
});

describe('presence', () => {
  it('records connects and disconnects, and tells the listeners', async () => {
    const node = new Node(db);
    await node.start();
    const d = await buildDevice('plain');
    await node.connect(d);
    expect(await online(d)).toBe(true);
    await node.disconnect(d);
    expect(await online(d)).toBe(false);
    const [row] = await db.query<{ last_connected_at: Date | null; last_disconnected_at: Date | null }>(
      'SELECT last_connected_at, last_disconnected_at FROM devices WHERE id = $1',
      [d.deviceId],
    );
    expect(row!.last_connected_at).not.toBeNull();
    expect(row!.last_disconnected_at).not.toBeNull();
    expect(node.events.filter((e) => e.deviceId === d.deviceId)).toEqual([
      { deviceId: d.deviceId, online: true },
      { deviceId: d.deviceId, online: false },
    ]);
    await node.presence.stop();
  });

  it('never lets a late disconnect mark offline a device that reconnected', async () => {
    const node = new Node(flaky(db));
    await node.start();
    const d = await buildDevice('flapping');
    await node.connect(d);
    // The disconnect's write is slow (a busy pool); the device is back before it lands.
    slowOffline = true;
    const writes = [node.disconnect(d), node.connect(d)];
    await Promise.all(writes);
    expect(await online(d)).toBe(true);
    await node.presence.stop();
  });

  it('writes the truth again once the database answers after an outage', async () => {
    const node = new Node(flaky(db));
    await node.start();
    const stays = await buildDevice('stays');
    const leaves = await buildDevice('leaves');
    const arrives = await buildDevice('arrives');
    await node.connect(stays);
    await node.connect(leaves);
    down = true;
    await node.disconnect(leaves);
    await node.connect(arrives);
    await node.presence.tick(); // fails too
    expect([await online(leaves), await online(arrives)]).toEqual([true, false]);
    down = false;
    await node.presence.tick();
    expect([await online(stays), await online(leaves), await online(arrives)]).toEqual([true, false, true]);
    await node.presence.stop();
  });

  it('sets offline the devices of a node whose lease ran out, and of no node', async () => {
    const dead = new Node(db);
    await dead.start();
    const ghost = await buildDevice('ghost');
    await dead.connect(ghost);
    // Legacy: online from before leases existed.
    const legacy = await buildDevice('legacy');
    await db.query('UPDATE devices SET online = true, connected_node = NULL WHERE id = $1', [legacy.deviceId]);
    // The dead node stops renewing; its last renewal is long past.
    await db.query("UPDATE broker_nodes SET seen_at = now() - interval '2 hours' WHERE id = $1", [dead.presence.nodeId]);

    const alive = new Node(db);
    await alive.start();
    const mine = await buildDevice('mine');
    await alive.connect(mine);
    await alive.presence.tick();
    expect([await online(ghost), await online(legacy), await online(mine)]).toEqual([false, false, true]);
    expect(alive.events).toEqual(expect.arrayContaining([{ deviceId: ghost.deviceId, online: false }]));
    await alive.presence.stop();
    // A node that stops cleanly gives its devices up at once.
    expect(await online(mine)).toBe(false);
  });
});
