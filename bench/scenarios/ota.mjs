/**
 * Scenario 12, OTA (issue 14). Devices are `tether simulate` processes, as a
 * user runs them: each device reports fw_version, takes its job on
 * devices/{id}/ota, downloads the artifact over HTTP with the job's signed
 * link (every byte through sha256, nothing kept), "installs", reboots and
 * reports the new version.
 *
 * A: a rollout to 1,000 devices in 4 groups (1% → 10% → 50% → 100%, success
 *    threshold 100%): wall time from the deployment's creation to completed,
 *    each group's time, and the server's CPU per device.
 * B: 100 devices download a 20 MB artifact at once (one group): the server's
 *    RSS, sampled every 250 ms, against its idle RSS just before. Target:
 *    peak ≤ idle + 100 MB (the artifact is streamed from storage, never held).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuSeconds, memory, round } from '../lib/procstat.mjs';
import { createDatabase } from '../lib/postgres.mjs';
import { signIn } from '../lib/provision.mjs';
import { CLI, ROOT, startTether } from '../lib/server.mjs';

const rssMB = (pid) => (memory(pid)?.rss ?? 0) / 1e6;

/** Every REST call the scenario makes, failing loudly. */
async function call(api, method, p, body) {
  return api.request(method, p, body);
}

async function makeDevices(api, count, templateId, tag) {
  const project = await api.projects.create({ name: `ota-${tag}-${Date.now()}` });
  const out = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const d = await api.devices.create({ name: `${tag}-${i}`, projectId: project.id, templateId, tags: [tag] });
      out[i] = { id: d.id, token: d.token, kind: 'boiler' };
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return out;
}

async function uploadFirmware(s, api, templateId, version, bytes) {
  const fw = await call(api, 'POST', '/api/v1/firmware', { templateId, version });
  const file = path.join(os.tmpdir(), `tether-bench-fw-${process.pid}-${version}.bin`);
  fs.writeFileSync(file, bytes);
  try {
    const res = await fetch(`${s.httpUrl}/api/v1/firmware/${fw.id}/artifact`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/octet-stream' },
      body: fs.createReadStream(file),
      duplex: 'half',
    });
    if (res.status !== 200) throw new Error(`upload: HTTP ${res.status} ${await res.text()}`);
  } finally {
    fs.rmSync(file, { force: true });
  }
  return fw.id;
}

/** `tether simulate` over a devices file: the devices take OTA jobs (install 1 s) and send a trickle of telemetry. */
function simulate(s, devices, dir, name) {
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(devices));
  const proc = spawn(
    process.execPath,
    [
      CLI,
      'simulate',
      '--devices-file',
      file,
      '--url',
      s.httpUrl,
      '--mqtt',
      `mqtt://127.0.0.1:${s.mqttPort}`,
      '--rate',
      '50',
      '--connect-rate',
      '500',
      '--ota-install',
      '1',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout.on('data', (d) => (out = (out + d.toString()).slice(-20_000)));
  proc.stderr.on('data', (d) => (out = (out + d.toString()).slice(-20_000)));
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  return {
    pid: proc.pid,
    output: () => out,
    async stop() {
      proc.kill('SIGINT');
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Waits until the selector's fleet holds `count` devices (they connected and reported their version). */
async function fleetOf(api, name, selector, count, timeoutMs) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const preview = await call(api, 'POST', '/api/v1/fleets/preview?limit=1', selector);
    if (preview.total === count) return (await call(api, 'POST', '/api/v1/fleets', { name, kind: 'selector', selector })).id;
    if (Date.now() > end) throw new Error(`only ${preview.total} of ${count} devices reported their version`);
    await sleep(500);
  }
}

async function untilEnded(api, id, timeoutMs, onTick) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const d = await call(api, 'GET', `/api/v1/deployments/${id}`);
    onTick?.();
    if (d.status !== 'running') return d;
    if (Date.now() > end) throw new Error(`deployment still running after ${timeoutMs / 1000} s: ${JSON.stringify(d.counts)}`);
    await sleep(250);
  }
}

const seconds = (a, b) => (a && b ? round((Date.parse(b) - Date.parse(a)) / 1000, 1) : null);

async function rollout(ctx, db, dir) {
  const pgdb = db === 'postgres' ? await createDatabase() : null;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `tether-bench-ota-a-${db}-`));
  const s = await startTether({ dataDir, databaseUrl: pgdb?.url ?? null, nodeArgs: ctx.serverNodeArgs('ota', db), env: ctx.serverEnv });
  let sim = null;
  try {
    const api = await signIn(s.httpUrl);
    const template = await call(api, 'POST', '/api/v1/templates', { name: 'Bench boiler' });
    const devices = await makeDevices(api, ctx.ota.devices, template.id, 'rollout');
    sim = simulate(s, devices, dir, `rollout-${db}`);
    const fleetId = await fleetOf(api, 'bench boilers', { templateId: template.id, firmware: '<2.0.0' }, devices.length, 120_000);
    const firmwareId = await uploadFirmware(s, api, template.id, '2.0.0', Buffer.alloc(ctx.ota.rolloutMB * 1024 * 1024, 0x5a));
    await sleep(2000);
    const cpu0 = cpuSeconds(s.pid);
    const t0 = performance.now();
    const created = await call(api, 'POST', '/api/v1/deployments', {
      firmwareId,
      fleetId,
      groups: [{ percent: 1 }, { percent: 10 }, { percent: 50 }, { percent: 100 }],
      errorThreshold: 10,
      deviceTimeoutS: 600,
    });
    const done = await untilEnded(api, created.id, 600_000);
    const wallS = (performance.now() - t0) / 1000;
    const cpuS = cpuSeconds(s.pid) - cpu0;
    const figures = {
      devices: devices.length,
      artifactMB: ctx.ota.rolloutMB,
      status: done.status,
      installed: done.counts.installed,
      failed: done.counts.failed + done.counts['timed-out'],
      wallSeconds: round(wallS, 1),
      serverCpuSeconds: round(cpuS, 2),
      serverCpuMsPerDevice: round((cpuS * 1000) / devices.length, 1),
      groups: done.groups.map((g) => ({ size: g.size, seconds: seconds(g.startedAt, g.finishedAt) })),
      installSecondsPerDevice: 1,
    };
    console.log(
      `  ${db} rollout: ${figures.devices} devices in ${figures.groups.length} groups (${figures.groups.map((g) => g.size).join('/')}) ${figures.status} in ${figures.wallSeconds} s ` +
        `(groups ${figures.groups.map((g) => `${g.seconds} s`).join(', ')}); ${figures.installed} installed, ${figures.failed} failed; ` +
        `server CPU ${figures.serverCpuSeconds} s = ${figures.serverCpuMsPerDevice} ms per device`,
    );
    return figures;
  } finally {
    await sim?.stop();
    await s.stop();
    await pgdb?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function downloads(ctx, db, dir) {
  const pgdb = db === 'postgres' ? await createDatabase() : null;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `tether-bench-ota-b-${db}-`));
  const s = await startTether({ dataDir, databaseUrl: pgdb?.url ?? null, nodeArgs: ctx.serverNodeArgs('ota', db), env: ctx.serverEnv });
  let sim = null;
  try {
    const api = await signIn(s.httpUrl);
    const template = await call(api, 'POST', '/api/v1/templates', { name: 'Bench boiler' });
    const devices = await makeDevices(api, ctx.ota.downloaders, template.id, 'download');
    sim = simulate(s, devices, dir, `download-${db}`);
    const fleetId = await fleetOf(api, 'downloaders', { templateId: template.id, firmware: '<2.0.0' }, devices.length, 60_000);
    const size = ctx.ota.downloadMB * 1024 * 1024;
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4) bytes.writeUInt32LE((i * 2654435761) >>> 0, i);
    const firmwareId = await uploadFirmware(s, api, template.id, '2.0.0', bytes);
    // Idle: connected devices, firmware stored; the mean of 10 samples over 5 s.
    await sleep(10_000);
    const idle = [];
    for (let i = 0; i < 10; i++) {
      idle.push(rssMB(s.pid));
      await sleep(500);
    }
    const idleMB = idle.reduce((a, b) => a + b, 0) / idle.length;
    let peakMB = 0;
    const sampler = setInterval(() => (peakMB = Math.max(peakMB, rssMB(s.pid))), 250);
    const t0 = performance.now();
    const cpu0 = cpuSeconds(s.pid);
    let done;
    try {
      const created = await call(api, 'POST', '/api/v1/deployments', { firmwareId, fleetId, deviceTimeoutS: 600 });
      done = await untilEnded(api, created.id, 600_000);
    } finally {
      clearInterval(sampler);
    }
    const wallS = (performance.now() - t0) / 1000;
    const servedMB = (devices.length * size) / 1e6;
    const figures = {
      devices: devices.length,
      artifactMB: ctx.ota.downloadMB,
      status: done.status,
      installed: done.counts.installed,
      idleRssMB: round(idleMB),
      peakRssMB: round(peakMB),
      peakOverIdleMB: round(peakMB - idleMB),
      wallSeconds: round(wallS, 1),
      servedMB: round(servedMB),
      servedMBPerSecond: round(servedMB / wallS),
      serverCpuSeconds: round(cpuSeconds(s.pid) - cpu0, 2),
    };
    console.log(
      `  ${db} downloads: ${figures.devices} devices × ${figures.artifactMB} MB (${figures.servedMB} MB served) ${figures.status} in ${figures.wallSeconds} s; ` +
        `RSS idle ${figures.idleRssMB} MB, peak ${figures.peakRssMB} MB (+${figures.peakOverIdleMB} MB); server CPU ${figures.serverCpuSeconds} s`,
    );
    return figures;
  } finally {
    await sim?.stop();
    await s.stop();
    await pgdb?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function ota(ctx, db) {
  console.log(
    `\n[12] OTA on ${db}: rollout to ${ctx.ota.devices} devices in 4 groups; then ${ctx.ota.downloaders} devices downloading ${ctx.ota.downloadMB} MB at once`,
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-bench-ota-'));
  try {
    const a = await rollout(ctx, db, dir);
    const b = await downloads(ctx, db, dir);
    return { figures: { rollout: a, downloads: b } };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
