/**
 * MQTT 5 on the embedded broker: refusals carry reason codes (PUBACK 0x87 with a
 * reason string, CONNACK 0x86) and the connection stays up; 3.1.1 disconnects.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectMqtt, publishV5, startServer, type TestServer } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(async () => s?.close());

it('accepts MQTT 5 devices and answers bad payloads with PUBACK 0x87 and a precise reason, keeping the connection', async () => {
  const d = await s.api.devices.create({ name: 'v5' });
  const other = await s.api.devices.create({ name: 'v5-other' });
  const c = await connectMqtt(s.mqttUrl, { protocolVersion: 5, username: d.id, password: d.token, properties: { requestProblemInformation: true } });
  expect(await publishV5(c, `devices/${d.id}/telemetry`, '{"temperature": 20}')).toEqual({ reasonCode: 0 });
  const malformed = await publishV5(c, `devices/${d.id}/telemetry`, '{"temperature": ');
  expect(malformed.reasonCode).toBe(0x87);
  expect(malformed.reason).toContain('not valid JSON');
  const foreign = await publishV5(c, `devices/${other.id}/telemetry`, '{"t": 1}');
  expect(foreign.reasonCode).toBe(0x87);
  expect(foreign.reason).toContain('outside');
  const nonFinite = await publishV5(c, `devices/${d.id}/telemetry`, '{"t": 1e999}');
  expect(nonFinite.reasonCode).toBe(0x87);
  // Still connected, and the good data before and after is stored.
  expect(c.connected).toBe(true);
  expect(await publishV5(c, `devices/${d.id}/telemetry`, '{"humidity": 40}')).toEqual({ reasonCode: 0 });
  const latest = await s.api.devices.latest(d.id);
  expect(Object.keys(latest.values).sort()).toEqual(['humidity', 'temperature']);
  expect(Object.keys((await s.api.devices.latest(other.id)).values)).toEqual([]);
  c.end(true);
});

it('refuses a wrong token with CONNACK 0x86 over MQTT 5', async () => {
  const d = await s.api.devices.create({ name: 'v5-bad' });
  const err = await connectMqtt(s.mqttUrl, { protocolVersion: 5, username: d.id, password: 'dt_wrong' }).then(
    () => null,
    (e: Error & { code?: number }) => e,
  );
  expect(err?.code).toBe(0x86);
});

it('refuses QoS 2, which Tether does not offer', async () => {
  const d = await s.api.devices.create({ name: 'v5-qos2' });
  const c = await connectMqtt(s.mqttUrl, { protocolVersion: 5, username: d.id, password: d.token });
  const r = await new Promise<number>((resolve) =>
    c.publish(`devices/${d.id}/telemetry`, '{"t":1}', { qos: 2 }, (err) => resolve((err as Error & { code?: number })?.code ?? 0)),
  );
  expect(r).not.toBe(0);
  expect(Object.keys((await s.api.devices.latest(d.id)).values)).toEqual([]);
  c.end(true);
});
