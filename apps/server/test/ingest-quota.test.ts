/**
 * Issue 20 §5, ingest quotas through the real server: a device over its rate
 * is slowed over MQTT (every message still acknowledged and stored) and gets
 * 429 QUOTA_EXCEEDED over HTTP; the org quota counts all of an org's devices;
 * devices of another org are not held up.
 */
import { TetherClient } from '@tether/api-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ADMIN, connectMqtt, publish, startServer, type TestServer } from './helpers.js';

let s: TestServer;
let orgB: TetherClient;
beforeAll(async () => {
  s = await startServer({ TETHER_INGEST_DEVICE_RATE: '20', TETHER_INGEST_ORG_RATE: '30' });
  const id = (await s.api.orgs.create('Quota org B')).id;
  orgB = new TetherClient({ baseUrl: s.httpUrl });
  await orgB.login(ADMIN.email, ADMIN.password, id);
});
afterAll(async () => s?.close());

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${s.httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function storedSeqs(api: TetherClient, deviceId: string): Promise<number[]> {
  const r = await api.devices.telemetry(deviceId, { keys: 'seq', from: new Date(Date.now() - 3600_000).toISOString(), limit: 10_000 });
  return (r.series.seq ?? []).map((p) => p.value as number).sort((a, b) => a - b);
}

async function post(token: string, seq: number) {
  const res = await fetch(`${s.httpUrl}/api/v1/device/telemetry`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ seq }),
  });
  return { seq, status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { error?: { code: string; message: string } } };
}

it('answers HTTP posts past the device quota with 429 QUOTA_EXCEEDED and Retry-After, and stores every accepted one', async () => {
  const d = await s.api.devices.create({ name: 'http-quota' });
  const results = await Promise.all(Array.from({ length: 40 }, (_, i) => post(d.token, i)));
  const refused = results.filter((r) => r.status === 429);
  const accepted = results.filter((r) => r.status === 202);
  expect(refused.length).toBeGreaterThan(0);
  expect(accepted.length + refused.length).toBe(40);
  expect(refused[0]!.body).toMatchObject({ error: { code: 'QUOTA_EXCEEDED' } });
  expect(Number(refused[0]!.retryAfter)).toBeGreaterThanOrEqual(1);
  expect(await storedSeqs(s.api, d.id)).toEqual(accepted.map((r) => r.seq).sort((a, b) => a - b));
});

it('slows an MQTT device past its quota without refusing or losing anything, while a device of another org is not held up', async () => {
  const fast = await s.api.devices.create({ name: 'mqtt-quota' });
  const other = await orgB.devices.create({ name: 'other-org' });
  const waitsBefore = await metric('tether_ingest_quota_waits_total', 'scope="device"');
  const c = await connectMqtt(s.mqttUrl, { username: fast.id, password: fast.token });
  const o = await connectMqtt(s.mqttUrl, { username: other.id, password: other.token });
  let fastDone = false;
  // 70 publishes in flight at 20 a second: at least 3 s of quota windows.
  const burst = Promise.all(Array.from({ length: 70 }, (_, i) => publish(c, `devices/${fast.id}/telemetry`, JSON.stringify({ seq: i })))).then(
    () => (fastDone = true),
  );
  await new Promise((r) => setTimeout(r, 200));
  await publish(o, `devices/${other.id}/telemetry`, JSON.stringify({ seq: 0 }));
  // The other org's message went through while the quota still held the fast device back.
  expect(fastDone).toBe(false);
  await burst;
  expect(await metric('tether_ingest_quota_waits_total', 'scope="device"')).toBeGreaterThan(waitsBefore);
  expect(await storedSeqs(s.api, fast.id)).toEqual(Array.from({ length: 70 }, (_, i) => i));
  expect(await storedSeqs(orgB, other.id)).toEqual([0]);
  c.end(true);
  o.end(true);
});

it("counts every device of an org against the org quota, and only that org's devices", async () => {
  const a = await s.api.devices.create({ name: 'org-quota-1' });
  const b = await s.api.devices.create({ name: 'org-quota-2' });
  const other = await orgB.devices.create({ name: 'org-quota-other' });
  // 18 each: within the device quota of 20, together over the org's 30 in one window.
  // Org B's device sends as many at the same moment, within both of its quotas.
  const [results, otherResults] = await Promise.all([
    Promise.all(Array.from({ length: 36 }, (_, i) => post(i % 2 ? a.token : b.token, i))),
    Promise.all(Array.from({ length: 18 }, (_, i) => post(other.token, i))),
  ]);
  const refused = results.filter((r) => r.status === 429);
  expect(refused.length).toBeGreaterThan(0);
  expect(refused[0]!.body.error?.message).toContain('organization');
  expect(otherResults.map((r) => r.status)).toEqual(otherResults.map(() => 202));
});
