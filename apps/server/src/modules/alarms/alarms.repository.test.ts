/**
 * One open alarm per rule and device, whoever raises it at the same moment:
 * many raises at once (on PostgreSQL each on its own pooled connection, as
 * several nodes would) make one row whose count is every occurrence.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { thresholdRule } from '../../../test/alarm-rules.js';
import { testDatabase } from '../../../test/helpers.js';
import type { Database } from '../../platform/db/database.js';
import { AlarmsRepository, type Occurrence } from './alarms.repository.js';
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
