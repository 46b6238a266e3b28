#!/usr/bin/env node
/**
 * The cluster bus on its own: two EventBus instances (two "nodes") on one
 * engine; node B emits live-sized events at a fixed rate, node A times their
 * arrival. Shows what each engine carries before scenario 9 adds the servers.
 *
 *   node bench/tools/bus-rate.mjs [--rate 5000] [--seconds 10] [--engines postgres,nats,redis]
 * PostgreSQL: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres);
 * NATS and Redis: the machine's, on 4222 and 6379.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import os from 'node:os';
import { EventBus } from '../../apps/server/dist/platform/bus/event-bus.js';
import { PostgresBusEngine } from '../../apps/server/dist/platform/bus/postgres-engine.js';
import { NatsBusEngine } from '../../apps/server/dist/platform/bus/nats-engine.js';
import { RedisBusEngine } from '../../apps/server/dist/platform/bus/redis-engine.js';
import { createLogger } from '../../apps/server/dist/platform/observability/logger.js';
import { Histogram } from '../lib/stats.mjs';

const { values: opt } = parseArgs({
  options: {
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '10' },
    engines: { type: 'string', default: 'postgres,nats,redis' },
  },
});
const rate = Number(opt.rate);
const seconds = Number(opt.seconds);
const logger = createLogger('warn');
const pgUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const make = {
  postgres: (ch) => new PostgresBusEngine(pgUrl, ch, logger),
  nats: (ch) => new NatsBusEngine('nats://127.0.0.1:4222', `${ch}.events`, logger),
  redis: (ch) => new RedisBusEngine('redis://127.0.0.1:6379', `${ch}:events`, logger),
};

console.log(
  `bus rate: ${rate} events/s for ${seconds} s; ${os.cpus()[0].model}, ${os.cpus().length} cores; load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
for (const name of opt.engines.split(',')) {
  const channel = `busrate_${process.pid}_${name}`;
  let dropped = 0;
  const count = (what, n) => what === 'dropped' && (dropped += n);
  const a = new EventBus(make[name](channel), logger, count);
  const b = new EventBus(make[name](channel), logger, count);
  await a.start();
  await b.start();
  const hist = new Histogram();
  let got = 0;
  a.on('live.event', ({ event }) => {
    got++;
    hist.record(performance.timeOrigin + performance.now() - event.sentAt);
  });
  const total = rate * seconds;
  let sent = 0;
  const t0 = performance.now();
  // Sent in 10 ms ticks, as ingest commits come in batches.
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
      for (; sent < due; sent++) {
        b.emit(
          'live.event',
          {
            orgId: 'o',
            event: {
              type: 'telemetry',
              deviceId: `d${sent % 1000}`,
              projectId: 'p',
              points: [
                { key: 'temperature', ts: new Date().toISOString(), value: 21.5 },
                { key: 'humidity', ts: new Date().toISOString(), value: 40 },
              ],
              sentAt: performance.timeOrigin + performance.now(),
            },
          },
          'others',
        );
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 10);
  });
  const end = performance.now() + 10_000;
  while (got < total && performance.now() < end) await new Promise((r) => setTimeout(r, 50));
  const h = hist.summary();
  console.log(
    `  ${name}: ${got} of ${total} delivered (${((100 * got) / total).toFixed(1)}%), ${dropped} dropped; latency p50 ${h.p50} ms, p99 ${h.p99} ms, max ${h.max} ms`,
  );
  await a.close();
  await b.close();
}
process.exit(0);
