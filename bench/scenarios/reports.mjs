/**
 * Scenario 13, store-and-forward reports (issue 15). One device uploads a
 * CSV report of `lines` buffered readings (a timestamp and 3 values a line, one
 * a second, ending now): the server streams it to its file storage and
 * answers 202, then its worker parses it and writes the readings. Measured:
 * upload time, parse wall time (202 → state done), lines/s and rows/s, server
 * CPU and peak RSS over idle (the report is streamed, never held), and the
 * stored count read back through the history endpoint.
 *
 * B: the same file uploaded again: every reading is a replay (no new row),
 * so this is the merge path's rate, and the stored count must not move.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuSeconds, memory, round } from '../lib/procstat.mjs';
import { createDatabase } from '../lib/postgres.mjs';
import { signIn } from '../lib/provision.mjs';
import { startTether } from '../lib/server.mjs';

const rssMB = (pid) => (memory(pid)?.rss ?? 0) / 1e6;

/** Writes the CSV in chunks (never a whole string of it in memory); returns its size and time range. */
function writeReport(file, lines) {
  const end = Math.floor(Date.now() / 1000) * 1000 - 60_000;
  const start = end - (lines - 1) * 1000;
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, 'ts,temperature,humidity,pressure\n');
  let chunk = '';
  for (let i = 0; i < lines; i++) {
    chunk += `${start + i * 1000},${(20 + (i % 100) / 10).toFixed(1)},${40 + (i % 37)},${(1013 + (i % 11) / 4).toFixed(2)}\n`;
    if (chunk.length > 1 << 20) {
      fs.writeSync(fd, chunk);
      chunk = '';
    }
  }
  fs.writeSync(fd, chunk);
  fs.closeSync(fd);
  return { bytes: fs.statSync(file).size, from: new Date(start).toISOString(), to: new Date(end).toISOString() };
}

async function upload(s, token, file) {
  const t0 = performance.now();
  const res = await fetch(`${s.httpUrl}/api/v1/device/reports`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv', 'content-length': String(fs.statSync(file).size) },
    body: fs.createReadStream(file),
    duplex: 'half',
  });
  const body = await res.json();
  if (res.status !== 202) throw new Error(`upload: HTTP ${res.status} ${JSON.stringify(body)}`);
  return { id: body.id, uploadSeconds: (performance.now() - t0) / 1000 };
}

/** Polls the report until it ends; samples the server's RSS meanwhile. */
async function untilParsed(api, s, id, timeoutMs, peak) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    peak.rss = Math.max(peak.rss, rssMB(s.pid));
    const r = await api.request('GET', `/api/v1/reports/${id}`);
    if (r.state === 'done' || r.state === 'failed') return r;
    if (Date.now() > end) throw new Error(`report still ${r.state} after ${timeoutMs / 1000} s: ${JSON.stringify(r.lines)}`);
    await sleep(250);
  }
}

async function storedCount(api, deviceId, range) {
  const h = await api.request(
    'GET',
    `/api/v1/devices/${deviceId}/telemetry?keys=temperature,humidity,pressure&from=${range.from}&to=${new Date(Date.parse(range.to) + 1000).toISOString()}&interval=366d&agg=count`,
  );
  let n = 0;
  for (const points of Object.values(h.series)) for (const p of points) n += p.value ?? 0;
  return n;
}

async function parseRun(api, s, device, file, range, timeoutMs) {
  const peak = { rss: rssMB(s.pid) };
  const idleRss = peak.rss;
  const cpu0 = cpuSeconds(s.pid);
  const { id, uploadSeconds } = await upload(s, device.token, file);
  const t0 = performance.now();
  const r = await untilParsed(api, s, id, timeoutMs, peak);
  // The report's own times: from the job's start to its end (the poll adds up to 250 ms).
  const parseSeconds = (Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000;
  const waitSeconds = (performance.now() - t0) / 1000;
  const cpuS = cpuSeconds(s.pid) - cpu0;
  return {
    state: r.state,
    uploadSeconds: round(uploadSeconds, 2),
    parseSeconds: round(parseSeconds, 1),
    acceptedToDoneSeconds: round(waitSeconds, 1),
    linesAccepted: r.lines.accepted,
    linesRejected: r.lines.rejected,
    readings: r.readings,
    linesPerSec: Math.round(r.lines.accepted / parseSeconds),
    rowsPerSec: Math.round(r.readings / parseSeconds),
    serverCpuSeconds: round(cpuS, 1),
    idleRssMB: Math.round(idleRss),
    peakRssMB: Math.round(peak.rss),
    storedRows: await storedCount(api, device.id, range),
  };
}

export async function reports(ctx, db) {
  const lines = ctx.reports.lines;
  const pgdb = db === 'postgres' ? await createDatabase() : null;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `tether-bench-reports-${db}-`));
  const file = path.join(os.tmpdir(), `tether-bench-report-${process.pid}.csv`);
  const s = await startTether({ dataDir, databaseUrl: pgdb?.url ?? null, nodeArgs: ctx.serverNodeArgs('reports', db), env: ctx.serverEnv });
  try {
    const range = writeReport(file, lines);
    const api = await signIn(s.httpUrl);
    const device = await api.devices.create({ name: 'bench-logger' });
    await sleep(2000);
    const first = await parseRun(api, s, device, file, range, 3_600_000);
    console.log(
      `  ${db} report of ${lines.toLocaleString('en')} lines (${round(range.bytes / 1e6, 1)} MB): uploaded in ${first.uploadSeconds} s, parsed in ${first.parseSeconds} s ` +
        `= ${first.linesPerSec.toLocaleString('en')} lines/s, ${first.rowsPerSec.toLocaleString('en')} rows/s; ${first.storedRows.toLocaleString('en')} rows stored; ` +
        `server CPU ${first.serverCpuSeconds} s, RSS ${first.idleRssMB} → peak ${first.peakRssMB} MB`,
    );
    const figures = { lines, bytes: range.bytes, valuesPerLine: 3, first };
    if (ctx.reports.replay) {
      const replay = await parseRun(api, s, device, file, range, 3_600_000);
      console.log(
        `  ${db} same report again (every reading a replay): parsed in ${replay.parseSeconds} s = ${replay.rowsPerSec.toLocaleString('en')} rows/s; ` +
          `${replay.storedRows.toLocaleString('en')} rows stored (before: ${first.storedRows.toLocaleString('en')})`,
      );
      figures.replay = replay;
    }
    return { figures };
  } finally {
    await s.stop();
    await pgdb?.drop();
    fs.rmSync(file, { force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
