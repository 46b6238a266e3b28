/**
 * Scenario 3's consumer: one live WebSocket (/api/v1/live) subscribed to the
 * benchmark project's telemetry. Each event's point timestamp is the device's
 * publish time, so now − ts is the publish → live delivery latency.
 * IPC: ← start({httpUrl, token, projectId}) → subscribed; ← measure({from}); ← stop → done.
 */
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { clearTimeout, setTimeout } from 'node:timers';
import WebSocket from 'ws';
import { Histogram } from '../lib/stats.mjs';

const hist = new Histogram();
let measureFrom = Infinity;
let events = 0;
let points = 0;
let ws = null;
/** The slowest delivery of each second, to see whether the tail is steady or comes in bursts. */
const perSecondMax = [];

process.on('message', async (m) => {
  if (m.type === 'start') {
    const { httpUrl, token, projectId } = m.config;
    ws = new WebSocket(`${httpUrl.replace(/^http/, 'ws')}/api/v1/live?token=${encodeURIComponent(token)}`);
    const timer = setTimeout(() => process.send({ type: 'error', message: 'live socket did not subscribe within 10 s' }), 10_000);
    ws.on('message', (data) => {
      // Wall clock with sub-millisecond resolution; the publisher's ts is whole milliseconds (+0–1 ms).
      const now = performance.timeOrigin + performance.now();
      const msg = JSON.parse(data.toString());
      if (msg.type === 'ready') ws.send(JSON.stringify({ type: 'subscribe', project: projectId, channels: ['telemetry'], id: 'bench' }));
      else if (msg.type === 'subscribed') {
        clearTimeout(timer);
        process.send({ type: 'subscribed' });
      } else if (msg.type === 'telemetry') {
        events++;
        points += msg.points.length;
        const ts = Date.parse(msg.points[0].ts);
        if (ts >= measureFrom) {
          hist.record(now - ts);
          const sec = Math.floor((ts - measureFrom) / 1000);
          perSecondMax[sec] = Math.max(perSecondMax[sec] ?? 0, Math.round(now - ts));
        }
      }
    });
    ws.on('close', (code) => process.send({ type: 'closed', code }));
  } else if (m.type === 'measure') {
    measureFrom = m.from;
  } else if (m.type === 'stop') {
    await new Promise((r) => setTimeout(r, 1000));
    process.send({ type: 'done', events, points, latency: hist.toJSON(), perSecondMax: Array.from(perSecondMax, (v) => v ?? null) });
    ws?.close();
  } else if (m.type === 'exit') {
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
