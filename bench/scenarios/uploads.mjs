/**
 * Scenario 14, device file uploads (issue 15). `devices` devices each upload a
 * `mb` MB video at the same moment, resumably (tus-js-client, one streamed
 * PATCH each, as a dashcam sends), to the server's default storage (this
 * node's disk). Measured: wall time from the first byte to the last file
 * stored, aggregate MB/s, server CPU, and the server's RSS over its idle RSS,
 * sampled every 100 ms (uploads stream to disk and must never be held in
 * memory: target ≤ idle + 100 MB). For comparison, a plain `cp` of the same
 * bytes on the same disk, in the same run: the floor a server cannot beat.
 * Every stored file is checked by size and type through the API.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as tus from 'tus-js-client';
import { cpuSeconds, memory, round } from '../lib/procstat.mjs';
import { createDatabase } from '../lib/postgres.mjs';
import { signIn } from '../lib/provision.mjs';
import { startTether } from '../lib/server.mjs';

const rssMB = (pid) => (memory(pid)?.rss ?? 0) / 1e6;
const MP4_HEAD = Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex');

/** `count` files of `mb` MB: an MP4 signature, then random bytes (incompressible, like video). */
function writeSources(dir, count, mb) {
  const block = randomBytes(1024 * 1024);
  const files = [];
  for (let i = 0; i < count; i++) {
    const file = path.join(dir, `clip-${i}.mp4`);
    const fd = fs.openSync(file, 'w');
    for (let m = 0; m < mb; m++) {
      const chunk = m === 0 ? Buffer.concat([MP4_HEAD, block.subarray(MP4_HEAD.length)]) : block;
      chunk.writeUInt32BE(i * 100_000 + m, chunk.length - 4);
      fs.writeSync(fd, chunk);
    }
    fs.closeSync(fd);
    files.push(file);
  }
  return files;
}

function upload(httpUrl, token, file, name) {
  return new Promise((resolve, reject) => {
    new tus.Upload(fs.createReadStream(file), {
      endpoint: `${httpUrl}/api/v1/device/files/uploads`,
      headers: { authorization: `Bearer ${token}` },
      metadata: { filename: name, filetype: 'video/mp4' },
      uploadSize: fs.statSync(file).size,
      retryDelays: [500, 1000, 2000],
      onSuccess: resolve,
      onError: reject,
    }).start();
  });
}

export async function uploads(ctx, db) {
  const { devices: count, mb } = ctx.uploads;
  const pgdb = db === 'postgres' ? await createDatabase() : null;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `tether-bench-uploads-${db}-`));
  const srcDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-bench-clips-'));
  const s = await startTether({ dataDir, databaseUrl: pgdb?.url ?? null, nodeArgs: ctx.serverNodeArgs('uploads', db), env: ctx.serverEnv });
  try {
    const files = writeSources(srcDir, count, mb);
    const totalMB = (count * mb * 1024 * 1024) / 1e6;

    // The floor: the same bytes copied on this disk by cp (into the data directory's file system).
    const cpDir = path.join(dataDir, 'cp-floor');
    fs.mkdirSync(cpDir);
    const c0 = performance.now();
    execFileSync('cp', [...files, cpDir]);
    execFileSync('sync');
    const cpSeconds = (performance.now() - c0) / 1000;
    fs.rmSync(cpDir, { recursive: true, force: true });
    execFileSync('sync');

    const api = await signIn(s.httpUrl);
    const devs = [];
    for (let i = 0; i < count; i++) devs.push(await api.devices.create({ name: `dashcam-${i}` }));
    await sleep(3000);
    const idle = rssMB(s.pid);
    let peak = idle;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMB(s.pid))), 100);
    const cpu0 = cpuSeconds(s.pid);
    const t0 = performance.now();
    await Promise.all(devs.map((d, i) => upload(s.httpUrl, d.token, files[i], `clip-${i}.mp4`)));
    execFileSync('sync');
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    peak = Math.max(peak, rssMB(s.pid));
    const cpuS = cpuSeconds(s.pid) - cpu0;

    const stored = await api.request('GET', '/api/v1/files?state=stored&limit=1000');
    const ok = stored.items.filter((f) => f.size === mb * 1024 * 1024 && f.contentType === 'video/mp4').length;
    if (ok !== count) throw new Error(`${ok} of ${count} files stored whole as video/mp4`);
    const figures = {
      devices: count,
      fileMB: mb,
      totalMB: round(totalMB, 1),
      seconds: round(seconds, 2),
      MBps: round(totalMB / seconds, 1),
      cpSeconds: round(cpSeconds, 2),
      cpMBps: round(totalMB / cpSeconds, 1),
      ofCp: round(cpSeconds / seconds, 2),
      serverCpuSeconds: round(cpuS, 1),
      idleRssMB: Math.round(idle),
      peakRssMB: Math.round(peak),
      rssOverIdleMB: Math.round(peak - idle),
      storedOk: ok,
    };
    console.log(
      `  ${db} ${count} × ${mb} MB uploads at once: ${figures.seconds} s = ${figures.MBps} MB/s (cp of the same bytes: ${figures.cpSeconds} s = ${figures.cpMBps} MB/s, ` +
        `uploads at ${Math.round(figures.ofCp * 100)}% of cp); server CPU ${figures.serverCpuSeconds} s; RSS ${figures.idleRssMB} → peak ${figures.peakRssMB} MB ` +
        `(+${figures.rssOverIdleMB} MB, target ≤ +100); ${ok}/${count} stored whole as video/mp4`,
    );
    return { figures };
  } finally {
    await s.stop();
    await pgdb?.drop();
    fs.rmSync(srcDir, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
