/**
 * Scenario 5, connections: 10K, then 20K idle device connections from several
 * client processes. Reports the connect rate, the server's RSS per connection
 * and its CPU while the connections sit idle (PINGREQs only).
 *
 * One process can hold at most RLIMIT_NOFILE descriptors; when the server's
 * limit is below the step plus what it already holds, the step is capped and
 * the report says so.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setInterval, clearInterval, setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { meterFor, withDatabase, withSql } from '../lib/context.mjs';
import { forkChild, releaseChild } from '../lib/generators.mjs';
import { CpuMeter, memory, openFds, round } from '../lib/procstat.mjs';
import { bulkDevices, signIn } from '../lib/provision.mjs';
import { cpuLine } from '../lib/report.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const GC_PROBE = fileURLToPath(new URL('../lib/gc-probe.mjs', import.meta.url));

/** Memory after a full garbage collection in the server (see lib/gc-probe.mjs). */
async function memoryAfterGc(server) {
  const before = server.output().length;
  server.proc.kill('SIGUSR2');
  for (let i = 0; i < 50; i++) {
    await sleep(100);
    const line = server
      .output()
      .slice(before)
      .split('\n')
      .find((l) => l.startsWith('GC_PROBE '));
    if (line) return JSON.parse(line.slice(9));
  }
  return null;
}

/** The server's RSS once a second for ms. */
async function rssSeries(pid, ms) {
  const out = [];
  for (let t = 0; t < ms; t += 1000) {
    await sleep(1000);
    out.push(memory(pid)?.rss ?? 0);
  }
  return out;
}

/** What the server holds once settled: the mean of the last 5 samples. */
function settled(series) {
  const tail = series.slice(-5);
  return tail.reduce((a, b) => a + b, 0) / tail.length;
}

function nofileLimit(pid) {
  try {
    const limits = fs.readFileSync(`/proc/${pid}/limits`, 'utf8');
    return Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1] ?? Infinity);
  } catch {
    return Infinity;
  }
}

/**
 * Lifts the server's descriptor limit for the largest step, as a deployment
 * would (systemd LimitNOFILE, ulimit -n): prlimit on the running process,
 * which needs root or CAP_SYS_RESOURCE to go past the hard limit. Returns the
 * limit in force afterwards.
 */
function raiseNofile(pid, want) {
  if (nofileLimit(pid) >= want) return nofileLimit(pid);
  try {
    execFileSync('prlimit', ['--pid', String(pid), `--nofile=${want}:${want}`], { stdio: 'ignore' });
  } catch {
    // No prlimit, or not allowed: the step is capped and the report says so.
  }
  return nofileLimit(pid);
}

export async function connections(ctx, db) {
  const { steps, processes, concurrency, keepalive, settleMs } = ctx.connections;
  const max = steps[steps.length - 1];
  console.log(`\n[5] connections on ${db}: ${steps.join(', then ')} idle devices from ${processes} client processes`);
  const nodeArgs = [...ctx.serverNodeArgs('connections', db), '--expose-gc', '--import', GC_PROBE];
  return withDatabase(db, { nodeArgs, env: ctx.serverEnv }, async (dbctx) => {
    // Devices are created in bulk: first start migrates and creates the admin, org and a project.
    let server = await dbctx.start();
    const api = await signIn(server.httpUrl);
    const project = await api.projects.create({ name: 'idle' });
    const me = await api.me();
    let devices;
    if (dbctx.pgdb) {
      devices = await withSql(dbctx, (sql) => bulkDevices(sql, { orgId: me.orgId, projectId: project.id, count: max }));
    } else {
      await server.stop();
      devices = await withSql(dbctx, (sql) => bulkDevices(sql, { orgId: me.orgId, projectId: project.id, count: max }));
      server = await dbctx.start();
    }
    // The idle server's memory, once V8's memory reducer has had the same quiet time the
    // connections get below: a figure taken seconds after start would still hold start-up garbage.
    const baseSeries = await rssSeries(server.pid, settleMs);
    const baseRss = settled(baseSeries);
    const baseGc = await memoryAfterGc(server);
    const limitBefore = nofileLimit(server.pid);
    const limit = raiseNofile(server.pid, max + 1024);
    if (limit !== limitBefore) console.log(`  raised the server's RLIMIT_NOFILE from ${limitBefore} to ${limit} (prlimit)`);
    const kids = Array.from({ length: processes }, () => forkChild('connector.mjs'));
    const results = [];
    try {
      let opened = 0;
      for (const step of steps) {
        // Descriptors the server holds besides MQTT sockets (database, listeners, stdio), plus headroom.
        const headroom = (openFds(server.pid) ?? 0) - opened + 32;
        const target = Math.min(step, limit - headroom);
        const add = target - opened;
        if (add <= 0) break;
        const slice = devices.slice(opened, target);
        const shares = kids.map((_, p) => slice.filter((_, i) => i % processes === p));
        const cpu = await meterFor(server, dbctx.pgdb);
        for (const k of kids) cpu.add('clients', k.pid);
        cpu.start();
        const t0 = performance.now();
        let peakFds = 0;
        const fdTimer = setInterval(() => (peakFds = Math.max(peakFds, openFds(server.pid) ?? 0)), 250);
        kids.forEach((k, p) =>
          k.child.send({ type: 'connect', config: { host: server.mqttHost, port: server.mqttPort, devices: shares[p], concurrency, keepalive } }),
        );
        const done = await Promise.all(kids.map((k) => k.waitFor('connected', 600_000)));
        const connectMs = performance.now() - t0;
        clearInterval(fdTimer);
        const connectCpu = cpu.stop();
        const failed = done.reduce((a, d) => a + d.failed, 0);
        opened = target;
        // Idle: only keepalive pings, for settleMs. RSS is sampled throughout: right after the
        // connect storm the heap still holds its garbage and fragmented pages, which V8 gives
        // back once the process has been quiet for a while (its memory reducer).
        const idle = new CpuMeter();
        idle.add('tether', server.pid);
        for (const k of kids) idle.add('clients', k.pid);
        idle.start();
        const series = await rssSeries(server.pid, settleMs);
        const idleCpu = idle.stop();
        const afterStormRss = series[Math.min(4, series.length - 1)];
        const status = await Promise.all(
          kids.map((k) => {
            k.child.send({ type: 'status' });
            return k.waitFor('status', 10_000);
          }),
        );
        const open = status.reduce((a, s) => a + s.open, 0);
        const rss = settled(series);
        const gc = await memoryAfterGc(server);
        const perConn = (a, b) => (a && b && open ? round((b - a) / open / 1024, 1) : null);
        const connected = await fetch(`${server.httpUrl}/metrics`)
          .then((r) => r.text())
          .then((t) => Number(/^tether_mqtt_connected_devices (\S+)/m.exec(t)?.[1]));
        const r = {
          requested: step,
          target,
          open,
          serverConnectedDevices: connected,
          failed,
          peakServerFds: peakFds,
          errors: done.reduce((acc, d) => {
            for (const [e, n] of Object.entries(d.errors)) acc[e] = (acc[e] ?? 0) + n;
            return acc;
          }, {}),
          cappedByFdLimit: target < step ? { limit, reason: `RLIMIT_NOFILE ${limit} of the server process` } : null,
          connectSeconds: round(connectMs / 1000, 1),
          connectsPerSec: Math.round(add / (connectMs / 1000)),
          connectCpu: connectCpu.groups,
          rssMB: round(rss / 1e6),
          baseRssMB: round(baseRss / 1e6),
          rssPerConnectionKB: open ? round((rss - baseRss) / open / 1024, 1) : null,
          // The same 5 s after the last CONNACK, before the memory reducer ran.
          afterStorm: { rssMB: round(afterStormRss / 1e6), rssPerConnectionKB: open ? round((afterStormRss - baseRss) / open / 1024, 1) : null },
          rssSeriesMB: series.map((b) => round(b / 1e6)),
          // Diagnostics: after a forced full GC, what the connections keep.
          afterGc:
            gc && baseGc
              ? {
                  rssPerConnectionKB: perConn(baseGc.rss, gc.rss),
                  heapUsedPerConnectionKB: perConn(baseGc.heapUsed, gc.heapUsed),
                  rssMB: round(gc.rss / 1e6),
                  probe: gc,
                }
              : null,
          idleServerCores: idleCpu.groups.tether?.cores ?? null,
          idleCpu,
        };
        results.push(r);
        console.log(
          `  ${db}: ${open} open (${failed} failed${r.cappedByFdLimit ? `, capped by ${r.cappedByFdLimit.reason}` : ''}); ${r.connectsPerSec} connects/s; ` +
            `RSS ${r.baseRssMB} → ${r.rssMB} MB after ${settleMs / 1000} s idle = ${r.rssPerConnectionKB} KB per connection ` +
            `(${r.afterStorm.rssPerConnectionKB} KB 5 s after the connect storm; after a forced GC: ${r.afterGc?.rssPerConnectionKB} KB RSS, ` +
            `${r.afterGc?.heapUsedPerConnectionKB} KB JS heap); idle server CPU ${r.idleServerCores} cores`,
        );
        console.log(`  connect phase CPU (cores): ${cpuLine(connectCpu)}`);
      }
    } finally {
      for (const k of kids) if (k.child.connected) k.child.send({ type: 'close' });
      await Promise.all(kids.map((k) => releaseChild(k)));
    }
    return {
      figures: {
        steps: results,
        settleSeconds: settleMs / 1000,
        baseRssSeriesMB: baseSeries.map((b) => round(b / 1e6)),
        keepaliveSeconds: keepalive,
        clientProcesses: processes,
        baseRssMB: round(baseRss / 1e6),
        baseProbe: baseGc,
        nofileLimit: { before: limitBefore, after: limit },
      },
    };
  });
}
