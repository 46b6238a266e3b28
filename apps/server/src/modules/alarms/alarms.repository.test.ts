/**
 * One open alarm per rule and device, whoever raises it at the same moment:
 * many raises at once (on PostgreSQL each on its own pooled connection, as
 * several nodes would) make one row whose count is every occurrence.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { thresholdRule } from '../../../test/alarm-rules.js';
import { testDatabase } from '../../../test/helpers.js';
import type { Database } from '../../platform/db/database.js';
import { EventBus } from '../../platform/bus/event-bus.js';
import { createLogger } from '../../platform/observability/logger.js';
import type { DomainEvents } from '../events/domain-events.js';
import { AlarmsRepository, type Occurrence } from './alarms.repository.js';
import { AlarmEvaluator } from './evaluator.js';
import type { AlarmRule } from './rule-logic.js';

let db: Database;
let close: () => Promise<void>;
let repo: AlarmsRepository;
let rule: AlarmRule;
let deviceId: string;

beforeAll(async () => {
  ({ db, close } = await testDatabase());
  repo = new AlarmsRepository(db);
  const [org] = await db.query<{ id: string }>("INSERT INTO orgs (name) VALUES ('alarms-repo') RETURNING id");
  const [d] = await db.query<{ id: string }>("INSERT INTO devices (org_id, name) VALUES ($1, 'boiler') RETURNING id", [org!.id]);
  deviceId = d!.id;
  const { id: _id, ...fields } = thresholdRule({ orgId: org!.id, clear: null, message: 'hot' });
  rule = await repo.insertRule(fields);
});
afterAll(async () => {
  await close?.();
});

const occurrence = (n: number): Occurrence => ({ rule, deviceId, projectId: null, message: `hot ${n}`, value: n, count: 1, at: new Date() });

it('50 concurrent raises of one rule on one device make one alarm counted 50 times, raised once in its history', async () => {
  const raised = await Promise.all(Array.from({ length: 50 }, (_, n) => repo.raise([occurrence(n)])));
  expect(raised.flat()).toHaveLength(1);
  const rows = await db.query<{ id: string; count: number }>('SELECT id, count FROM alarms WHERE device_id = $1', [deviceId]);
  expect(rows).toHaveLength(1);
  expect(rows[0]!.count).toBe(50);
  const history = await repo.history(rows[0]!.id);
  expect(history.map((h) => h.action)).toEqual(['raised']);

  // Cleared, the next raise is a new alarm.
  expect(await repo.clearOpen([{ ruleId: rule.id, deviceId, reason: 'test' }])).toHaveLength(1);
  expect(await repo.raise([occurrence(99)])).toHaveLength(1);
  const after = await db.query<{ count: number; cleared: boolean }>(
    'SELECT count, cleared_at IS NOT NULL AS cleared FROM alarms WHERE device_id = $1 ORDER BY raised_at',
    [deviceId],
  );
  expect(after).toEqual([
    { count: 50, cleared: true },
    { count: 1, cleared: false },
  ]);
});

it('a round holding hot, cool, hot, hot, cool raises and clears two alarms in order, with their history (the real database)', async () => {
  const [d] = await db.query<{ id: string; org_id: string }>("INSERT INTO devices (org_id, name) VALUES ($1, 'boiler-2') RETURNING id, org_id", [rule.orgId]);
  const evaluator = new AlarmEvaluator({
    db,
    bus: new EventBus<DomainEvents>(null, createLogger('silent')),
    rules: { rulesOf: async () => [rule] },
    devices: {
      places: async (ids) => ids.map((id) => ({ deviceId: id, orgId: d!.org_id, projectId: null, templateId: null, name: 'boiler-2' })),
      silent: async () => [],
    },
    logger: createLogger('silent'),
  });
  let us = Date.now() * 1000;
  await evaluator.evaluate(
    [90, 20, 95, 99, 20].map((temperature) => ({
      device: { deviceId: d!.id, orgId: d!.org_id, projectId: null },
      channel: 'telemetry' as const,
      transport: 'mqtt' as const,
      receivedAt: (us += 1000),
      rawJson: '{}',
      telemetry: [{ key: 'temperature', type: 'num' as const, value: temperature, ts: us, stamped: true }],
      alert: null,
      heartbeat: null,
      location: null,
      attributes: null,
    })),
  );
  const rows = await db.query<{ id: string; count: number; value: number; cleared: boolean }>(
    'SELECT id, count, value, cleared_at IS NOT NULL AS cleared FROM alarms WHERE device_id = $1 ORDER BY raised_at',
    [d!.id],
  );
  expect(rows.map(({ count, value, cleared }) => ({ count, value, cleared }))).toEqual([
    { count: 1, value: 90, cleared: true },
    { count: 2, value: 99, cleared: true },
  ]);
  for (const r of rows) expect((await repo.history(r.id)).map((h) => h.action)).toEqual(['raised', 'cleared']);
});
