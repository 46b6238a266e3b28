/**
 * The evaluator's rounds against a database that answers like PostgreSQL, one
 * turn of the event loop later: an `alarm.changed` heard while a round waits
 * for its reads must not break the round (it once did: a pair dropped from
 * memory mid-round failed the whole round, and its clears were lost).
 */
import { describe, expect, it } from 'vitest';
import { thresholdRule } from '../../../test/alarm-rules.js';
import type { Database, Queryable } from '../../platform/db/database.js';
import { EventBus } from '../../platform/bus/event-bus.js';
import { createLogger } from '../../platform/observability/logger.js';
import type { DevicePlace } from '../devices/devices.service.js';
import type { DomainEvents } from '../events/domain-events.js';
import type { IngestMessage } from '../ingest/ingest-message.js';
import { AlarmEvaluator } from './evaluator.js';

const ORG = '00000000-0000-4000-8000-00000000000a';
const RULE = '00000000-0000-4000-8000-000000000001';

/** Open alarms by `${rule}/${device}`, kept by the statements the evaluator sends. */
function fakeDatabase() {
  const open = new Set<string>();
  const writes: string[] = [];
  let seq = 0;
  const later = () => new Promise((r) => setImmediate(r));
  const q: Queryable = {
    async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
      await later();
      const p = params as string[][];
      if (sql.includes('INSERT INTO alarms') || sql.includes('UPDATE alarms a SET cleared_at')) {
        // decide(): the raises' ten arrays first, then the clears' three.
        const rows: { what: string; id: string; org_id: string; project_id: null; rule_id: string; device_id: string }[] = [];
        let at = 0;
        if (sql.includes('INSERT INTO alarms')) {
          at = 10;
          p[1]!.forEach((device, i) => {
            const k = `${p[3]![i]}/${device}`;
            const inserted = !open.has(k);
            open.add(k);
            const n = Number(p[8]![i]);
            writes.push(`${inserted ? 'raise' : 'repeat'} ${device}${n > 1 ? ` x${n}` : ''}`);
            if (inserted) rows.push({ what: 'raised', id: `a${++seq}`, org_id: ORG, project_id: null, rule_id: p[3]![i]!, device_id: device });
          });
        }
        if (sql.includes('UPDATE alarms a SET cleared_at'))
          p[at]!.forEach((rule, i) => {
            const device = p[at + 1]![i]!;
            if (!open.delete(`${rule}/${device}`)) return;
            writes.push(`clear ${device}`);
            rows.push({ what: 'cleared', id: `c${++seq}`, org_id: ORG, project_id: null, rule_id: rule, device_id: device });
          });
        return rows as T[];
      }
      if (sql.includes('FROM alarms a JOIN unnest')) {
        return p[0]!.flatMap((rule, i) => (open.has(`${rule}/${p[1]![i]}`) ? [{ rule_id: rule, device_id: p[1]![i] }] : [])) as T[];
      }
      return [];
    },
    async exec() {},
  } as unknown as Queryable;
  const db = { ...q, query: q.query, transaction: <T>(fn: (tx: Queryable) => Promise<T>) => fn(q) } as unknown as Database;
  return { db, open, writes };
}

const rule = thresholdRule({ id: RULE, orgId: ORG, message: '{{device.name}} {{value}}' });

let clock = Date.now() * 1000;
const msg = (deviceId: string, temperature: number): IngestMessage => {
  clock += 1000;
  return {
    device: { deviceId, orgId: ORG, projectId: null },
    channel: 'telemetry',
    transport: 'mqtt',
    receivedAt: clock,
    rawJson: '{}',
    telemetry: [{ key: 'temperature', type: 'num', value: temperature, ts: clock, stamped: true }],
    alert: null,
    heartbeat: null,
    location: null,
    attributes: null,
  } as IngestMessage;
};

describe('alarm evaluation rounds', () => {
  it('clears and raises again, round after round, while alarm changes are heard mid-round', async () => {
    const { db, open, writes } = fakeDatabase();
    const bus = new EventBus<DomainEvents>(null, createLogger('silent'));
    const place = (deviceId: string): DevicePlace => ({ deviceId, orgId: ORG, projectId: null, templateId: null, name: deviceId });
    const failures: unknown[] = [];
    const logger = createLogger('silent');
    const evaluator = new AlarmEvaluator({
      db,
      bus,
      rules: { rulesOf: async () => [rule] },
      devices: { places: async (ids: string[]) => ids.map(place), silent: async () => [] },
      logger: Object.assign(Object.create(logger) as typeof logger, { error: (o: unknown) => failures.push(o) }),
    });
    evaluator.start();
    // Device A goes hot and cool again and again; each round also brings a device never seen, whose state is read
    // from the database, so the round waits while the previous round's alarm.changed is heard.
    for (let i = 0; i < 10; i++) {
      // Committed one after the other: the second round starts as soon as the first has written.
      bus.emit('telemetry.stored', { batch: [msg('dev-a', 90), msg(`new-${i}-x`, 20)] });
      bus.emit('telemetry.stored', { batch: [msg('dev-a', 20), msg(`new-${i}-y`, 20)] });
      await evaluator.idle();
    }
    expect(failures).toEqual([]);
    expect(writes.filter((w) => w.endsWith('dev-a'))).toEqual(Array.from({ length: 10 }, () => ['raise dev-a', 'clear dev-a']).flat());
    expect(open.size).toBe(0);
  });

  it('in one round, hot, cool, hot, hot, cool makes two alarms raised and cleared in order, the repeat counted on the second', async () => {
    const { db, open, writes } = fakeDatabase();
    const bus = new EventBus<DomainEvents>(null, createLogger('silent'));
    const evaluator = new AlarmEvaluator({
      db,
      bus,
      rules: { rulesOf: async () => [rule] },
      devices: {
        places: async (ids: string[]) => ids.map((deviceId) => ({ deviceId, orgId: ORG, projectId: null, templateId: null, name: deviceId })),
        silent: async () => [],
      },
      logger: createLogger('silent'),
    });
    await evaluator.evaluate([90, 20, 95, 99, 20].map((t) => msg('dev-b', t)));
    expect(writes).toEqual(['raise dev-b', 'clear dev-b', 'raise dev-b x2', 'clear dev-b']);
    expect(open.size).toBe(0);
  });
});
