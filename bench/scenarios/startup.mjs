/**
 * Scenario 7, start-up: time from spawning `tether start` to its "Tether
 * ready" line, and RSS once idle, on an empty data dir (cold: initdb or the
 * template, migrations, first admin) and on an existing one (warm).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout } from 'node:timers';
import { memory, round } from '../lib/procstat.mjs';
import { createDatabase } from '../lib/postgres.mjs';
import { startTether } from '../lib/server.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function once(dataDir, databaseUrl, idleMs, nodeArgs, env) {
  const s = await startTether({ dataDir, databaseUrl, nodeArgs, env });
  try {
    await sleep(idleMs);
    const m = memory(s.pid);
    return { spawnToReadyMs: Math.round(s.spawnToReadyMs), readyMs: s.readyMs, idleRssMB: round((m?.rss ?? 0) / 1e6), peakRssMB: round((m?.hwm ?? 0) / 1e6) };
  } finally {
    await s.stop();
  }
}

export async function startup(ctx, db) {
  const { repeats, idleMs } = ctx.startup;
  console.log(`\n[7] start-up on ${db}: ${repeats} cold and ${repeats} warm starts, RSS after ${idleMs / 1000} s idle`);
  const cold = [];
  const warm = [];
  for (let i = 0; i < repeats; i++) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `tether-bench-start-${db}-`));
    const pgdb = db === 'postgres' ? await createDatabase() : null;
    try {
      cold.push(await once(dataDir, pgdb?.url ?? null, idleMs, ctx.serverNodeArgs('startup', db), ctx.serverEnv));
      warm.push(await once(dataDir, pgdb?.url ?? null, idleMs, ctx.serverNodeArgs('startup', db), ctx.serverEnv));
    } finally {
      await pgdb?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }
  const summary = (runs) => ({
    spawnToReadyMs: median(runs.map((r) => r.spawnToReadyMs)),
    readyMs: median(runs.map((r) => r.readyMs)),
    idleRssMB: median(runs.map((r) => r.idleRssMB)),
    maxIdleRssMB: Math.max(...runs.map((r) => r.idleRssMB)),
    peakRssMB: Math.max(...runs.map((r) => r.peakRssMB)),
    runs,
  });
  const figures = { cold: summary(cold), warm: summary(warm), idleSeconds: idleMs / 1000 };
  for (const [k, v] of Object.entries({ cold: figures.cold, warm: figures.warm })) {
    console.log(
      `  ${db} ${k}: ready ${v.spawnToReadyMs} ms after spawn (server's own figure ${v.readyMs} ms), idle RSS ${v.idleRssMB} MB (peak during start ${v.peakRssMB} MB)`,
    );
  }
  return { figures };
}
