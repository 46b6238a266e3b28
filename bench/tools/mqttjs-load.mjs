// The independent check of issue 11: real mqtt.js clients (not the bench's raw-socket
// generators), QoS 1, each with a window of unacknowledged publishes, payloads like the
// README's first example, with or without `ts`. Afterwards every acknowledged message is
// looked up by the sequence number it carried: among the stored telemetry points, and
// in the raw message history. With `ts` (Date.now(), as such a device would send),
// messages of one device in the same millisecond share a time; by the device protocol
// that is a replay of one point (it keeps the latest value), so those are looked up in the
// raw history, which keeps every accepted message, and the merged points are counted.
//
//   node bench/tools/mqttjs-load.mjs --db postgres --devices 1000 --windows 1,20 --seconds 30
//
// Each (window, ts) case runs on a fresh server and database; prints one line per case.
import os from 'node:os';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { rawSeqsByDevice, storedSeqsByDevice, withServer } from '../lib/context.mjs';
import { createDevices, signIn } from '../lib/provision.mjs';

const { values: args } = parseArgs({
  options: {
    db: { type: 'string', default: 'postgres' },
    devices: { type: 'string', default: '1000' },
    windows: { type: 'string', default: '1,20' },
    ts: { type: 'string', default: 'without,with' },
    seconds: { type: 'string', default: '30' },
  },
});
const devicesN = Number(args.devices);
const seconds = Number(args.seconds);

async function runCase(db, window, withTs) {
  return withServer(db, {}, async ({ server, dataDir, pgdb }) => {
    const api = await signIn(server.httpUrl);
    const { devices } = await createDevices(api, devicesN, { name: `mqttjs-w${window}` });
    const clients = await Promise.all(
      devices.map(
        (d) =>
          new Promise((resolve, reject) => {
            const c = mqtt.connect(`mqtt://${server.mqttHost}:${server.mqttPort}`, {
              username: d.id,
              password: d.token,
              reconnectPeriod: 0,
              connectTimeout: 60_000,
            });
            c.once('connect', () => resolve({ c, d, acked: [], errors: 0 }));
            c.once('error', reject);
          }),
      ),
    );
    let stop = false;
    const t0 = Date.now();
    await Promise.all(
      clients
        .map(async (cl) => {
          let seq = 0;
          const lane = async () => {
            while (!stop) {
              const n = ++seq;
              const body = { temperature: 20 + Math.random() * 5, humidity: 40 + Math.random() * 10, pressure: 1000 + Math.random() * 20, seq: n };
              const payload = JSON.stringify(withTs ? { ts: Date.now(), values: body } : body);
              const ok = await new Promise((resolve) => cl.c.publish(`devices/${cl.d.id}/telemetry`, payload, { qos: 1 }, (err) => resolve(!err)));
              if (ok) cl.acked.push(n);
              else cl.errors++;
            }
          };
          await Promise.all(Array.from({ length: window }, lane));
        })
        .concat([new Promise((r) => setTimeout(r, seconds * 1000)).then(() => (stop = true))]),
    );
    const ms = Date.now() - t0;
    for (const cl of clients) cl.c.end(true);
    const acked = clients.reduce((a, cl) => a + cl.acked.length, 0);
    const errors = clients.reduce((a, cl) => a + cl.errors, 0);
    await server.stop();
    // Every acknowledged seq must be a stored point of its device.
    const { byDevice: stored } = await storedSeqsByDevice({ dataDir, pgdb });
    const raw = await rawSeqsByDevice({ dataDir, pgdb });
    let notPoints = 0;
    let missing = 0;
    for (const cl of clients) {
      const s = stored.get(cl.d.id) ?? new Set();
      const r = raw.get(cl.d.id) ?? new Set();
      for (const n of cl.acked) {
        if (!s.has(n)) notPoints++;
        if (!r.has(n)) missing++;
      }
    }
    return { acked, missing, notPoints, errors, rate: Math.round(acked / (ms / 1000)) };
  });
}

console.log(`mqtt.js load: ${devicesN} devices, ${seconds} s per case, ${args.db}; ${os.cpus().length} × ${os.cpus()[0]?.model}, node ${process.version}`);
for (const w of args.windows.split(',').map(Number)) {
  for (const t of args.ts.split(',')) {
    const r = await runCase(args.db, w, t === 'with');
    console.log(
      `window ${w}, ${t} ts: ${r.acked} acked (${r.rate} msg/s), ${r.missing} of them missing from the raw message history, ` +
        `${r.notPoints} not a telemetry point of their own${t === 'with' ? ' (same-millisecond ts: replays of one point, by the device protocol)' : ''}, ${r.errors} publish errors`,
    );
  }
}
