/** Starts the real `tether start` CLI as a child process on free 127.0.0.1 ports. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { clearTimeout, setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** BENCH_TETHER_CLI benchmarks another build (an A/B comparison), default this checkout's. */
export const CLI = process.env.BENCH_TETHER_CLI ?? path.join(ROOT, 'apps/server/dist/cli/index.js');
/**
 * The Node flags `npm start` runs the server with (package.json's start script is their one
 * source), so a benchmark measures what a user runs: `--max-semi-space-size` is worth 30–40%
 * under a flood (README, Performance).
 */
export const START_NODE_FLAGS = startNodeFlags();
export const ADMIN = { email: 'bench@tether.local', password: 'bench-password-1' };

function startNodeFlags() {
  const start = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.start;
  const m = /\bnode((?: --\S+)*) apps\/server\/dist\/cli\/index\.js start\b/.exec(start);
  if (!m) throw new Error(`package.json's start script no longer reads "node [flags] apps/server/dist/cli/index.js start": ${start}`);
  return m[1].trim().split(/\s+/).filter(Boolean);
}

/** A port nobody listens on right now (bound on 127.0.0.1, then released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Spawns the server and resolves at its "Tether ready" line.
 * `spawnToReadyMs` is measured here (process start included); `readyMs` is the server's own figure.
 */
export async function startTether({ dataDir, databaseUrl = null, env = {}, nodeArgs = [], timeoutMs = 120_000, logLevel = 'warn' }) {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const httpPort = await freePort();
  const mqttPort = await freePort();
  const t0 = performance.now();
  const proc = spawn(process.execPath, [...START_NODE_FLAGS, ...nodeArgs, CLI, 'start'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TETHER_HTTP_HOST: '127.0.0.1',
      TETHER_HTTP_PORT: String(httpPort),
      // With an external broker (MQTT_URL) the embedded broker's settings are configuration errors.
      ...(env.MQTT_URL ? {} : { TETHER_MQTT_HOST: '127.0.0.1', TETHER_MQTT_PORT: String(mqttPort) }),
      TETHER_DATA_DIR: dataDir,
      TETHER_ADMIN_EMAIL: ADMIN.email,
      TETHER_ADMIN_PASSWORD: ADMIN.password,
      TETHER_LOG_LEVEL: logLevel,
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  // --server-log: the run sets BENCH_SERVER_LOG_DIR, and the step being run in BENCH_STEP.
  const logDir = process.env.BENCH_SERVER_LOG_DIR;
  const log = logDir ? fs.createWriteStream(path.join(logDir, `${(process.env.BENCH_STEP ?? 'server').replace(':', '-')}-${proc.pid}.log`)) : null;
  const onData = (d) => {
    log?.write(d);
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  void exited.then(() => log?.end());
  const line = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`no "Tether ready" within ${timeoutMs} ms:\n${out.slice(-4000)}`));
    }, timeoutMs);
    const check = () => {
      const l = out.split('\n').find((x) => x.startsWith('Tether ready'));
      if (l) {
        clearTimeout(timer);
        proc.stdout.off('data', check);
        resolve(l);
      }
    };
    proc.stdout.on('data', check);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before ready:\n${out.slice(-4000)}`));
    });
  });
  const spawnToReadyMs = performance.now() - t0;
  const readyMs = Number(/Tether ready in (\d+) ms/.exec(line)?.[1]);
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  let alive = true;
  void exited.then(() => (alive = false));
  return {
    proc,
    pid: proc.pid,
    httpUrl,
    mqttHost: '127.0.0.1',
    mqttPort,
    readyMs,
    spawnToReadyMs,
    exited,
    get alive() {
      return alive;
    },
    output: () => out,
    /** SIGTERM (flushes pending batches); SIGKILL if it has not exited within graceMs. */
    async stop(graceMs = 60_000) {
      if (!alive) return exited;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
}

/** Sum of a Prometheus counter over all its label sets. */
export async function metricSum(httpUrl, name) {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'gm'))) sum += Number(m[1]);
  return sum;
}

/**
 * The server's memory as it reports it (prom-client's process and V8 figures), in MB:
 * RSS, the V8 heap (used and reserved, and the young generation's share), and memory
 * outside the heap (Buffers). Null if the metrics cannot be read.
 */
export async function memoryParts(httpUrl) {
  const res = await fetch(`${httpUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) return null;
  const text = await res.text();
  const g = (re) => Number(re.exec(text)?.[1] ?? NaN) / 1e6;
  const mb = (x) => Math.round(x);
  return {
    rssMB: mb(g(/^tether_process_resident_memory_bytes (\S+)/m)),
    heapUsedMB: mb(g(/^tether_nodejs_heap_size_used_bytes (\S+)/m)),
    heapTotalMB: mb(g(/^tether_nodejs_heap_size_total_bytes (\S+)/m)),
    youngGenerationMB: mb(g(/^tether_nodejs_heap_space_size_total_bytes\{space="new"\} (\S+)/m)),
    oldGenerationUsedMB: mb(g(/^tether_nodejs_heap_space_size_used_bytes\{space="old"\} (\S+)/m)),
    externalMB: mb(g(/^tether_nodejs_external_memory_bytes (\S+)/m)),
  };
}

/**
 * Mean ingest batch size and commit time from the server's histograms, and where a latency
 * tail comes from. With `since` (an earlier result), counts cover only the time after it;
 * the event-loop delay always does, since prom-client resets it on every scrape.
 */
export async function batchStats(httpUrl, since = null) {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const raw = {};
  for (const m of text.matchAll(/^(tether_ingest_(?:batch_size|batch_seconds|lag_seconds)_(?:sum|count|bucket)(?:\{le="[^"]+"\})?) (\S+)/gm)) {
    raw[m[1]] = Number(m[2]) - (since?.raw[m[1]] ?? 0);
  }
  const v = (name) => raw[name] ?? NaN;
  const g = (name) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
  // Batches, and messages (receipt → commit), slower than each histogram bound.
  const slowerThan = (hist, max) => {
    const n = v(`${hist}_count`);
    const out = {};
    for (const [k, count] of Object.entries(raw)) {
      const le = new RegExp(`^${hist}_bucket\\{le="([^"]+)"\\}$`).exec(k)?.[1];
      if (le && le !== '+Inf' && Number(le) >= 0.05 && Number(le) <= max) out[`over${Number(le) * 1000}ms`] = n - count;
    }
    return out;
  };
  const n = v('tether_ingest_batch_size_count');
  const ms = (x) => Math.round(x * 10000) / 10;
  const result = {
    batches: n,
    meanBatchSize: n ? Math.round(v('tether_ingest_batch_size_sum') / n) : null,
    meanCommitMs: n ? Math.round((v('tether_ingest_batch_seconds_sum') / n) * 10000) / 10 : null,
    commitsSlowerThan: slowerThan('tether_ingest_batch_seconds', 2.5),
    messages: v('tether_ingest_lag_seconds_count'),
    messagesSlowerThan: slowerThan('tether_ingest_lag_seconds', 1),
    eventLoopDelayMs: {
      p50: ms(g('tether_nodejs_eventloop_lag_p50_seconds')),
      p99: ms(g('tether_nodejs_eventloop_lag_p99_seconds')),
      max: ms(g('tether_nodejs_eventloop_lag_max_seconds')),
    },
  };
  // The raw counters, for a later call's `since`; not part of the figures.
  return Object.defineProperty(result, 'raw', { value: raw, enumerable: false });
}
