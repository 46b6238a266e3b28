/**
 * Scenario 5's clients: opens a share of the idle device connections, as fast
 * as `concurrency` parallel CONNECTs allow, then holds them, sending only
 * PINGREQs (spread over the keepalive interval) until told to close.
 * IPC: ← connect({devices, ...}) → connected; ← close → closed.
 */
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { setInterval, clearInterval } from 'node:timers';
import { WireClient } from '../lib/mqtt-wire.mjs';

const clients = [];
let pinger = null;
let dropped = 0;

async function connect({ host, port, devices, concurrency, keepalive }) {
  const t0 = performance.now();
  let next = 0;
  let failed = 0;
  const errors = {};
  const worker = async () => {
    while (next < devices.length) {
      const d = devices[next++];
      try {
        const c = await WireClient.connect({ host, port, clientId: `idle-${d.id}`, username: d.id, password: d.token, keepalive, timeoutMs: 60_000 });
        c.onClose = () => dropped++;
        clients.push(c);
      } catch (err) {
        failed++;
        errors[err.message] = (errors[err.message] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, devices.length) }, worker));
  const ms = performance.now() - t0;
  // Every client pings once per 0.8 × keepalive; one timer walks them in slices.
  if (!pinger && keepalive > 0) {
    let i = 0;
    const tickMs = 100;
    pinger = setInterval(() => {
      const perTick = Math.ceil(clients.length / ((keepalive * 800) / tickMs));
      for (let k = 0; k < perTick && clients.length; k++) clients[i++ % clients.length].ping();
    }, tickMs);
  }
  return { ms, connected: devices.length - failed, failed, errors };
}

process.on('message', async (m) => {
  if (m.type === 'connect') {
    const r = await connect(m.config);
    process.send({ type: 'connected', ...r, open: clients.filter((c) => !c.closed).length, dropped });
  } else if (m.type === 'status') {
    process.send({ type: 'status', open: clients.filter((c) => !c.closed).length, dropped });
  } else if (m.type === 'close') {
    if (pinger) clearInterval(pinger);
    for (const c of clients) c.destroy();
    process.send({ type: 'closed' });
  } else if (m.type === 'exit') {
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
