/**
 * Fuzzing through the real server, bounded in time (fast-check, a fixed budget per
 * part): random and structured malformed payloads on every device topic, malformed
 * MQTT packets on the TCP port, malformed HTTP bodies, ids and queries on every
 * route of the OpenAPI document. Whatever arrives, the server answers (a PUBACK
 * reason code, a closed connection or a 4xx), never a 5xx, never stalls, and the
 * valid traffic of another device meanwhile is stored, every message of it.
 *
 * Cases that once broke something (or that are known to be nasty) are kept in
 * test/fuzz-corpus/ and replayed before the random ones. A failure prints
 * fast-check's seed and the shrunk case: add that case to the corpus.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, httpJson, publish, publishV5, startServer, type TestServer } from './helpers.js';

const CORPUS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fuzz-corpus');
const corpus = <T>(name: string): T[] => JSON.parse(fs.readFileSync(path.join(CORPUS, name), 'utf8')) as T[];
/** Each random part stops after this long, whatever number of runs it reached. */
const BUDGET_MS = Number(process.env.TETHER_FUZZ_BUDGET_MS ?? 8000);
const SEED = process.env.TETHER_FUZZ_SEED ? Number(process.env.TETHER_FUZZ_SEED) : undefined;

let s: TestServer;
let device: { id: string; token: string };
/** A second device that publishes valid, numbered telemetry while the fuzzing runs. */
let steady: { id: string; token: string; client: MqttClient; sent: number; stop: boolean; done: Promise<void> };

beforeAll(async () => {
  s = await startServer();
  device = await s.api.devices.create({ name: 'fuzzed' });
  const d = await s.api.devices.create({ name: 'steady' });
  const client = await connectMqtt(s.mqttUrl, { username: d.id, password: d.token });
  steady = { ...d, client, sent: 0, stop: false, done: Promise.resolve() };
  steady.done = (async () => {
    while (!steady.stop) {
      // Without ts, as devices send; `seq` tells every acknowledged message apart.
      await publish(client, `devices/${d.id}/telemetry`, JSON.stringify({ seq: steady.sent + 1 }));
      steady.sent++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
}, 60_000);

afterAll(async () => {
  steady.stop = true;
  await steady?.done.catch(() => {});
  steady?.client.end(true);
  await s?.close();
});

async function healthyWithin(ms: number): Promise<boolean> {
  const res = await fetch(`${s.httpUrl}/healthz`, { signal: AbortSignal.timeout(ms) });
  return res.status === 200;
}

const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`stalled: ${what} had no answer in ${ms} ms`)), ms))]);

// ---------------------------------------------------------------------------
// MQTT payloads

const CHANNELS = ['telemetry', 'alerts', 'heartbeat', 'location', 'attributes'];

/** A JSON text with strings that hold what JSON allows and databases do not: \u0000, lone surrogates. */
const nastyString = fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), fc.constantFrom('\u0000', '\ud800', '\udfff', 'a\u0000b', '\u202e', '𝕋', ''));
const nastyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.double(),
    fc.integer(),
    fc.constantFrom(1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER + 2),
    nastyString,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(nastyString, tie('value'), { maxKeys: 4 }),
  ),
})).value;
const ts = fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 30 }), fc.constantFrom(-1, 0, 8.64e15, 8.64e15 + 1, '2026-13-45T99:99:99Z', null));
const structured = fc.oneof(
  fc.dictionary(nastyString, nastyValue, { maxKeys: 6 }).map((o) => JSON.stringify(o)),
  fc.record({ ts, values: fc.dictionary(nastyString, nastyValue, { maxKeys: 4 }) }).map((o) => JSON.stringify(o)),
  fc.array(fc.record({ ts, values: nastyValue }), { maxLength: 5 }).map((o) => JSON.stringify(o)),
  fc.record({ message: nastyValue, severity: nastyValue, type: nastyValue, data: nastyValue }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.record({ lat: nastyValue, lon: nastyValue, ts }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.integer({ min: 1, max: 6000 }).map((depth) => `{"a":${'['.repeat(depth)}1${']'.repeat(depth)}}`),
  fc.integer({ min: 1, max: 4000 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
);
/** Valid-looking JSON cut or spliced at a random place. */
const mutated = fc
  .tuple(fc.json({ maxDepth: 3 }), fc.nat(), fc.string({ unit: 'binary', maxLength: 4 }))
  .map(([json, at, junk]) => json.slice(0, at % (json.length + 1)) + junk + json.slice(at % (json.length + 1)));
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
  fc.json({ maxDepth: 4 }),
  structured,
  mutated,
  fc.constantFrom('', 'null', '[]', '{}', '"x"', '1', 'true', '\ufeff{}', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}'),
);
const topicSuffix = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...CHANNELS) },
  fc.uuid().map((id) => `commands/${id}/result`),
  fc.string({ maxLength: 12 }).map((x) => `commands/${x}/result`),
  fc.string({ maxLength: 20 }).filter((x) => !x.includes('#') && !x.includes('+') && !x.includes('\u0000')),
);

type Sent = { topic: string; payload: string | Buffer };
describe('MQTT payloads', () => {
  let client: MqttClient | null = null;
  const connect = async () => {
    client?.end(true);
    client = await connectMqtt(s.mqttUrl, { protocolVersion: 5, username: device.id, password: device.token, properties: { requestProblemInformation: true } });
    return client;
  };

  /** Publishes and waits for the PUBACK (any reason code) or the connection's close; a silence is a stall. */
  async function send({ topic, payload: p }: Sent): Promise<number | 'closed'> {
    const c = client && client.connected ? client : await connect();
    let onClose = () => {};
    const closed = new Promise<'closed'>((resolve) => c.once('close', (onClose = () => resolve('closed'))));
    const acked = publishV5(c, topic, p).then(
      (a) => a.reasonCode,
      () => 'closed' as const,
    );
    try {
      return await withTimeout(Promise.race([acked, closed]), 10_000, `PUBLISH to ${topic} (${String(p).slice(0, 60)})`);
    } finally {
      c.off('close', onClose);
    }
  }

  afterAll(() => {
    client?.end(true);
  });

  it('replays the corpus: each gets a reason code, and the server stays healthy', async () => {
    const cases = corpus<{ topic: string; payload?: string; base64?: string }>('mqtt-payloads.json');
    for (const c of cases) {
      const p = c.base64 !== undefined ? Buffer.from(c.base64, 'base64') : c.payload!;
      const r = await send({ topic: c.topic.replace('{id}', device.id), payload: p });
      expect(typeof r === 'number' || r === 'closed').toBe(true);
      expect(await healthyWithin(2000)).toBe(true);
    }
  }, 60_000);

  it(
    'random and structured payloads on every device topic',
    async () => {
      const outcomes = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(topicSuffix, payload, async (suffix, p) => {
          const r = await send({ topic: `devices/${device.id}/${suffix}`, payload: p });
          outcomes.set(String(r), (outcomes.get(String(r)) ?? 0) + 1);
          return typeof r === 'number' ? r === 0 || r >= 0x80 : true;
        }),
        { numRuns: 100_000, interruptAfterTimeLimit: BUDGET_MS, markInterruptAsFailure: false, seed: SEED },
      );
      console.log(
        `fuzz: ${[...outcomes.values()].reduce((a, b) => a + b, 0)} device-topic publishes in ${BUDGET_MS} ms, outcomes ${JSON.stringify(Object.fromEntries(outcomes))}`,
      );
      // Both kinds happened: some accepted, some refused with a reason code.
      expect(outcomes.get('0') ?? 0).toBeGreaterThan(0);
      expect([...outcomes.keys()].some((k) => Number(k) >= 0x80)).toBe(true);
      expect(await healthyWithin(2000)).toBe(true);
    },
    BUDGET_MS + 60_000,
  );

  it(
    'ThingsBoard topics and topics outside the device tree',
    async () => {
      let tbRuns = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(
            'v1/devices/me/telemetry',
            'v1/devices/me/attributes',
            'v1/devices/me/rpc/response/1',
            'v1/devices/me/rpc/request/1',
            'v1/devices/me/attributes/request/1',
            'v1/gateway/telemetry',
            'v1/gateway/connect',
            'devices/other/telemetry',
            `devices/${device.id}`,
            'x',
          ),
          payload,
          async (topic, p) => {
            tbRuns++;
            const r = await send({ topic, payload: p });
            return typeof r === 'number' ? r === 0 || r >= 0x80 : true;
          },
        ),
        { numRuns: 100_000, interruptAfterTimeLimit: BUDGET_MS / 2, markInterruptAsFailure: false, seed: SEED },
      );
      console.log(`fuzz: ${tbRuns} publishes on ThingsBoard topics and topics outside the device tree in ${BUDGET_MS / 2} ms`);
      expect(await healthyWithin(2000)).toBe(true);
    },
    BUDGET_MS + 60_000,
  );
});

// ---------------------------------------------------------------------------
// MQTT packets on the TCP port

function connectPacket(opts: { username?: string; password?: string; protocolVersion?: 4 | 5; clientId?: string }): Buffer {
  return mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: opts.protocolVersion ?? 4,
    clean: true,
    clientId: opts.clientId ?? 'fuzz',
    keepalive: 30,
    ...(opts.username ? { username: opts.username } : {}),
    ...(opts.password ? { password: Buffer.from(opts.password) } : {}),
  });
}

/** Writes raw bytes on a fresh TCP connection and waits a little for the server to answer or close. */
function rawExchange(bytes: Buffer[], waitMs = 150): Promise<'closed' | 'open'> {
  const { hostname, port } = new URL(s.mqttUrl);
  return new Promise((resolve) => {
    const sock = net.connect(Number(port), hostname);
    let state: 'closed' | 'open' = 'open';
    sock.on('error', () => {});
    sock.on('close', () => {
      state = 'closed';
    });
    sock.on('connect', () => {
      for (const b of bytes) sock.write(b);
      setTimeout(() => {
        sock.destroy();
        resolve(state);
      }, waitMs);
    });
  });
}

describe('MQTT packets', () => {
  const validConnect = () => connectPacket({ username: device.id, password: device.token, clientId: `fuzz-${Math.random().toString(36).slice(2)}` });
  const publishPacket = (topic: string, body: string) =>
    mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.from(body), qos: 1, messageId: 1, retain: false, dup: false });

  async function stillServing() {
    // A real client still connects, publishes and is acknowledged.
    const c = await withTimeout(connectMqtt(s.mqttUrl, { username: device.id, password: device.token }), 5000, 'CONNECT after fuzzing');
    await withTimeout(publish(c, `devices/${device.id}/telemetry`, '{"alive":1}'), 5000, 'PUBLISH after fuzzing');
    c.end(true);
    expect(await healthyWithin(2000)).toBe(true);
  }

  it('replays the corpus of packets', async () => {
    for (const c of corpus<{ hex: string; afterConnect?: boolean }>('mqtt-packets.json')) {
      const bytes = Buffer.from(c.hex, 'hex');
      await rawExchange(c.afterConnect ? [validConnect(), bytes] : [bytes]);
    }
    await stillServing();
  }, 60_000);

  it(
    'random bytes, mutated CONNECTs and garbage after a valid CONNECT',
    async () => {
      const packets = fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => ({ bytes: [Buffer.from(b)] })),
        // A CONNECT with bytes flipped, cut or appended.
        fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat({ max: 40 })).map(([at, v, cut]) => {
          const b = Buffer.from(validConnect());
          b[at % b.length] = v;
          return { bytes: [b.subarray(0, Math.max(1, b.length - cut))] };
        }),
        // A valid CONNECT, then anything, even a remaining length that promises megabytes.
        fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => ({ bytes: [validConnect(), Buffer.from(b)] })),
        fc.tuple(fc.integer({ min: 0, max: 15 }), fc.uint8Array({ minLength: 1, maxLength: 4 })).map(([type, len]) => ({
          bytes: [validConnect(), Buffer.concat([Buffer.from([type << 4]), Buffer.from(len).map((x, i, a) => (i < a.length - 1 ? x | 0x80 : x & 0x7f))])],
        })),
        // PUBLISH with a broken topic or payload after a valid CONNECT.
        fc.tuple(fc.string({ unit: 'binary', maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 60 })).map(([t, body]) => {
          try {
            return { bytes: [validConnect(), publishPacket(t || 'x', body)] };
          } catch {
            return { bytes: [validConnect()] };
          }
        }),
      );
      let runs = 0;
      await fc.assert(
        fc.asyncProperty(packets, async ({ bytes }) => {
          await rawExchange(bytes, 60);
          runs++;
          return true;
        }),
        { numRuns: 100_000, interruptAfterTimeLimit: BUDGET_MS, markInterruptAsFailure: false, seed: SEED },
      );
      console.log(`fuzz: ${runs} malformed MQTT connections in ${BUDGET_MS} ms`);
      await stillServing();
    },
    BUDGET_MS + 60_000,
  );
});

// ---------------------------------------------------------------------------
// HTTP

type Op = { method: string; path: string; device: boolean };
const METHODS = ['get', 'put', 'post', 'patch', 'delete'];

describe('HTTP', () => {
  let ops: Op[] = [];
  beforeAll(async () => {
    const doc = (await httpJson(`${s.httpUrl}/api/docs/openapi.json`)).body as unknown as { paths: Record<string, Record<string, unknown>> };
    ops = Object.entries(doc.paths).flatMap(([p, item]) =>
      METHODS.filter((m) => item[m]).map((m) => ({
        method: m.toUpperCase(),
        path: p,
        device: p.startsWith('/api/v1/device/') || p.startsWith('/api/v1/{token}'),
      })),
    );
    expect(ops.length).toBeGreaterThan(50);
  });

  const idLike = fc.oneof(
    fc.uuid(),
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.constantFrom('..', '%00', '%ZZ', '%2e%2e%2f', 'null', '0', '-1', '1e9', 'a'.repeat(5000), '00000000-0000-0000-0000-000000000000', ' '),
  );
  const body = fc.oneof(
    fc.constant(undefined),
    fc.json({ maxDepth: 4 }),
    structured,
    mutated,
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
    fc.constantFrom('', '{', '[]', 'null', '{"__proto__":{"admin":true}}', '{"name":"\\u0000"}', '{"name":"\\ud800"}'),
  );
  const query = fc.dictionary(
    fc.constantFrom('limit', 'offset', 'from', 'to', 'keys', 'interval', 'agg', 'before', 'q', 'wait', 'projectId', 'channel', 'tag', 'online', 'x'),
    fc.string({ maxLength: 12 }),
    { maxKeys: 3 },
  );
  const contentType = fc.constantFrom(
    'application/json',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/json; charset=latin1',
    undefined,
  );

  async function request(op: Op, id: string, b: string | undefined, q: Record<string, string>, ct: string | undefined) {
    const filled = op.path.replace(/\{(\w+)\}/g, (_, name: string) => (name === 'token' ? device.token : encodeURIComponent(id)));
    const url = `${s.httpUrl}${filled}${Object.keys(q).length ? `?${new URLSearchParams(q)}` : ''}`;
    const headers: Record<string, string> = { authorization: `Bearer ${op.device ? device.token : s.api.token!}` };
    if (ct) headers['content-type'] = ct;
    const hasBody = b !== undefined && op.method !== 'GET' && op.method !== 'DELETE';
    const res = await withTimeout(fetch(url, { method: op.method, headers, body: hasBody ? b : undefined }), 10_000, `${op.method} ${filled}`);
    await res.arrayBuffer();
    return res.status;
  }

  it('replays the corpus', async () => {
    for (const c of corpus<{ method: string; path: string; body?: string; contentType?: string; query?: Record<string, string> }>('http.json')) {
      const op = ops.find((o) => o.method === c.method && o.path === c.path) ?? {
        method: c.method,
        path: c.path,
        device: c.path.startsWith('/api/v1/device/'),
      };
      const status = await request(op, device.id, c.body, c.query ?? {}, c.contentType ?? 'application/json');
      expect(status, `${c.method} ${c.path} ${c.body?.slice(0, 80)}`).toBeLessThan(500);
    }
  }, 60_000);

  it(
    'random ids, queries and bodies on every operation: never a 5xx, never a stall',
    async () => {
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(fc.nat(), idLike, body, query, contentType, async (i, id, b, q, ct) => {
          const op = ops[i % ops.length]!;
          const status = await request(op, id, b, q, ct);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          return status < 500;
        }),
        { numRuns: 100_000, interruptAfterTimeLimit: BUDGET_MS, markInterruptAsFailure: false, seed: SEED },
      );
      console.log(
        `fuzz: ${[...statuses.values()].reduce((a, b) => a + b, 0)} HTTP requests on ${ops.length} operations in ${BUDGET_MS} ms, statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
      );
      expect([...statuses.keys()].some((x) => x >= 400 && x < 500)).toBe(true);
    },
    BUDGET_MS + 60_000,
  );
});

describe('through all of it', () => {
  it('stored every acknowledged message of the steady device', async () => {
    steady.stop = true;
    await steady.done;
    const sent = steady.sent;
    expect(sent).toBeGreaterThan(20);
    const res = await s.api.devices.telemetry(steady.id, { keys: 'seq', from: new Date(Date.now() - 3600_000).toISOString(), limit: 10_000 });
    const seqs = new Set((res.series.seq ?? []).map((p) => p.value));
    const missing = Array.from({ length: sent }, (_, i) => i + 1).filter((n) => !seqs.has(n));
    console.log(`fuzz: steady device ${sent} acknowledged, ${sent - missing.length} stored`);
    expect(missing).toEqual([]);
  });
});
