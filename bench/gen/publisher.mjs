/**
 * Load generator child process: connects a share of the simulated devices and
 * publishes QoS 1 telemetry of 3 data points per message.
 *
 * Modes:
 * - max:   each device keeps `inflight` unacknowledged publishes; every PUBACK
 *          releases the next one ("as fast as the server acks").
 * - rate:  a fixed total rate, round robin over the devices; a device whose
 *          window is full skips its turn (counted), so the offered load never
 *          piles up in the client.
 * - flood: a fixed total rate and a large window (`inflight`, default 60,000);
 *          a device whose socket buffer is over `bufferLimit` skips its turn
 *          (the server's TCP backpressure).
 *
 * Every message carries "ts": its publish time in ms, unique per device, so
 * each data point is its own row and the live subscriber can time delivery.
 * With `withoutTs` (scenario 8) it carries no time, as most devices send, and
 * a per-device sequence number instead ("seq", from 1): the PUBACKed numbers
 * are reported (as ranges) so that every acknowledged message can be looked up.
 *
 * With `hot: {share, base}` (scenario 11) a message is now and then, with
 * probability `share`, "hot": its temperature is a unique value (base + a
 * counter, base offset per generator process) far above the others, and the
 * device's next message is an ordinary one again. Each hot value is reported
 * with its publish time (the message's `ts`), so a webhook carrying it can be
 * timed.
 *
 * Protocol with the parent (IPC): ← start(config) → connected → ← go → tick… → done.
 */
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { setImmediate, setInterval, clearInterval, setTimeout } from 'node:timers';
import { WireClient, publishEncoder } from '../lib/mqtt-wire.mjs';
import { Histogram } from '../lib/stats.mjs';

const send = (m) => process.send?.(m);

const TEMPS = Array.from({ length: 64 }, (_, i) => (18 + i / 8).toFixed(2));
const HUMS = Array.from({ length: 64 }, (_, i) => (35 + i / 5).toFixed(1));
const PRESS = Array.from({ length: 64 }, (_, i) => (1000 + i / 3).toFixed(1));
/** Above this many unacknowledged publishes a connection's packet ids could wrap onto live ones. */
const MAX_IN_FLIGHT_IDS = 60_000;

let cfg;
let devices = [];
let stopping = false;
let goAt = 0;
let stopAt = Infinity;
const hist = new Histogram();
const totals = { sent: 0, acked: 0, ackedInWindow: 0, skippedWindow: 0, skippedBackpressure: 0, disconnects: 0, unackedOnClose: 0 };
const perSecond = [];
/** Scenario 11: [hot value, publish time in ms] of every hot message. */
const hotSent = [];
let hotCount = 0;

function payload(d) {
  if (cfg.withoutTs) {
    const i = d.sent & 63;
    return `{"seq":${d.sent},"temperature":${TEMPS[i]},"humidity":${HUMS[(i * 7) & 63]},"pressure":${PRESS[(i * 13) & 63]}}`;
  }
  const now = Date.now();
  d.lastTs = now > d.lastTs ? now : d.lastTs + 1;
  const i = d.sent & 63;
  if (cfg.hot && !d.wasHot && Math.random() < cfg.hot.share) {
    d.wasHot = true;
    const v = cfg.hot.base + (cfg.processIndex ?? 0) * 10_000_000 + hotCount++;
    hotSent.push([v, d.lastTs]);
    return `{"ts":${d.lastTs},"temperature":${v},"humidity":${HUMS[(i * 7) & 63]},"pressure":${PRESS[(i * 13) & 63]}}`;
  }
  d.wasHot = false;
  return `{"ts":${d.lastTs},"temperature":${TEMPS[i]},"humidity":${HUMS[(i * 7) & 63]},"pressure":${PRESS[(i * 13) & 63]}}`;
}

function frame(d) {
  let id = d.nextId;
  d.nextId = id === 65535 ? 1 : id + 1;
  if (d.times.has(id)) {
    // Only reachable past MAX_IN_FLIGHT_IDS; keep ids unique among live ones.
    while (d.times.has(id)) id = id === 65535 ? 1 : id + 1;
    d.nextId = id === 65535 ? 1 : id + 1;
  }
  d.times.set(id, performance.now());
  d.inFlight++;
  d.sent++;
  totals.sent++;
  if (cfg.withoutTs) d.seqs.set(id, d.sent);
  return d.encode(payload(d), id);
}

function onAck(d, id) {
  const t = d.times.get(id);
  if (t === undefined) return;
  d.times.delete(id);
  if (cfg.withoutTs) {
    d.ackedSeqs.push(d.seqs.get(id));
    d.seqs.delete(id);
  }
  const now = performance.now();
  hist.record(now - t);
  d.inFlight--;
  d.acked++;
  totals.acked++;
  if (now <= stopAt) totals.ackedInWindow++;
  if (cfg.mode === 'max' && !stopping) markDirty(d);
  else if (stopping && d.inFlight === 0) maybeDrained();
}

// max mode: refills are batched per event-loop turn, one write per device.
const dirty = new Set();
let refillScheduled = false;
function markDirty(d) {
  dirty.add(d);
  if (!refillScheduled) {
    refillScheduled = true;
    setImmediate(refill);
  }
}
function refill() {
  refillScheduled = false;
  for (const d of dirty) {
    if (!d.client || d.client.closed) continue;
    const n = cfg.inflight - d.inFlight;
    if (n <= 0) continue;
    if (n === 1) d.client.write(frame(d));
    else {
      const frames = [];
      for (let k = 0; k < n; k++) frames.push(frame(d));
      d.client.write(Buffer.concat(frames));
    }
  }
  dirty.clear();
}

async function connectAll() {
  const t0 = performance.now();
  let next = 0;
  let failed = 0;
  const errors = new Map();
  const worker = async () => {
    while (next < devices.length) {
      const d = devices[next++];
      try {
        d.client = await WireClient.connect({
          host: cfg.host,
          port: cfg.port,
          clientId: `${cfg.clientIdPrefix}-${d.id}`,
          username: cfg.auth ? d.id : undefined,
          password: cfg.auth ? d.token : undefined,
          keepalive: cfg.keepalive ?? 120,
        });
        d.client.onPuback = (id) => onAck(d, id);
        d.client.onClose = () => {
          if (!stopping) totals.disconnects++;
          totals.unackedOnClose += d.inFlight;
          d.inFlight = 0;
          d.times.clear();
          if (stopping) maybeDrained();
        };
      } catch (err) {
        failed++;
        errors.set(err.message, (errors.get(err.message) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(cfg.connectConcurrency ?? 100, devices.length) }, worker));
  return { ms: performance.now() - t0, failed, errors: Object.fromEntries(errors) };
}

/** Sorted [first, last] runs of the numbers: a device's acknowledged sequence numbers, compactly. */
function toRanges(xs) {
  const sorted = Float64Array.from(xs).sort();
  const out = [];
  for (const x of sorted) {
    const last = out[out.length - 1];
    if (last && x === last[1] + 1) last[1] = x;
    else if (!last || x > last[1]) out.push([x, x]);
  }
  return out;
}

let drainedResolve = null;
function maybeDrained() {
  if (drainedResolve && devices.every((d) => d.inFlight === 0 || !d.client || d.client.closed)) drainedResolve();
}

function startRateLoop() {
  let scheduled = 0;
  let rr = 0;
  const live = devices.filter((d) => d.client);
  // A flooding device's frames of one tick go out as one write. With 2 ms ticks a device got
  // less than one frame a tick at 10× load, so the generators paid a syscall per message, CPU
  // taken from the server they flood (the 2 cores are shared): ticks long enough for about 4
  // frames a device, at most 20 ms. The rate and the round robin are unchanged.
  const tickMs = cfg.mode === 'flood' ? Math.min(20, Math.max(2, Math.round((4 * 1000 * live.length) / cfg.rate))) : 2;
  const timer = setInterval(() => {
    const now = performance.now();
    if (now >= stopAt) return;
    const due = Math.floor(((now - goAt) / 1000) * cfg.rate) - scheduled;
    // One write per device per tick, as in max mode: a syscall per message made the flood
    // generator cost 4× the CPU per message of scenario 1's, taken from the server's 2 cores.
    const tick = new Map();
    for (let k = 0; k < due; k++) {
      scheduled++;
      const d = live[rr++ % live.length];
      if (!d.client || d.client.closed) continue;
      if (cfg.mode === 'rate' && d.inFlight >= cfg.inflight) {
        totals.skippedWindow++;
        continue;
      }
      let frames = tick.get(d);
      const queued = frames ? frames.bytes : 0;
      if (
        cfg.mode === 'flood' &&
        (d.client.writableLength + queued > cfg.bufferLimit || d.inFlight >= Math.min(cfg.inflight ?? MAX_IN_FLIGHT_IDS, MAX_IN_FLIGHT_IDS))
      ) {
        totals.skippedBackpressure++;
        continue;
      }
      if (!frames) tick.set(d, (frames = { list: [], bytes: 0 }));
      const f = frame(d);
      frames.list.push(f);
      frames.bytes += f.length;
    }
    for (const [d, frames] of tick) d.client.write(frames.list.length === 1 ? frames.list[0] : Buffer.concat(frames.list));
  }, tickMs);
  return () => clearInterval(timer);
}

async function run() {
  goAt = performance.now();
  stopAt = goAt + cfg.durationMs;
  let lastAcked = 0;
  const ticker = setInterval(() => {
    perSecond.push(totals.acked - lastAcked);
    lastAcked = totals.acked;
    send({ type: 'tick', acked: totals.acked, sent: totals.sent });
  }, 1000);
  let stopRate = null;
  if (cfg.mode === 'max') {
    for (const d of devices) if (d.client) markDirty(d);
  } else {
    stopRate = startRateLoop();
  }
  await new Promise((r) => setTimeout(r, cfg.durationMs));
  stopping = true;
  stopRate?.();
  // Outstanding acks still count towards verification, not towards the rate.
  await Promise.race([new Promise((r) => ((drainedResolve = r), maybeDrained())), new Promise((r) => setTimeout(r, cfg.drainMs ?? 30_000))]);
  clearInterval(ticker);
  const unackedAtEnd = devices.reduce((a, d) => a + d.inFlight, 0);
  for (const d of devices) d.client?.close();
  return unackedAtEnd;
}

process.on('message', async (m) => {
  if (m.type === 'start') {
    cfg = m.config;
    devices = m.devices.map((dev) => ({
      id: dev.id,
      token: dev.token,
      encode: publishEncoder(`devices/${dev.id}/telemetry`, 1),
      client: null,
      inFlight: 0,
      nextId: 1,
      lastTs: 0,
      wasHot: false,
      sent: 0,
      acked: 0,
      times: new Map(),
      seqs: new Map(),
      ackedSeqs: [],
    }));
    const c = await connectAll();
    send({ type: 'connected', connected: devices.filter((d) => d.client).length, ...c });
  } else if (m.type === 'go') {
    const cpu0 = process.cpuUsage();
    const unackedAtEnd = await run();
    const cpu = process.cpuUsage(cpu0);
    send({
      type: 'done',
      totals: { ...totals, unackedAtEnd },
      perSecond,
      ackLatency: hist.toJSON(),
      perDevice: devices.map((d) => [d.id, d.acked]),
      ...(cfg.hot ? { hotSent } : {}),
      ...(cfg.withoutTs ? { ackedSeqRanges: devices.map((d) => [d.id, toRanges(d.ackedSeqs)]) } : {}),
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    });
  } else if (m.type === 'exit') {
    // The parent reads this process's CPU from /proc before letting it go.
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
