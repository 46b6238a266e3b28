/**
 * Issue 14, deployments through the real server with real devices: boilers on
 * MQTT run the device SDK's onFirmware (download over HTTP with the job's
 * signed link, sha256 checked, "install", reconnect and report the new
 * version). A rollout whose first group fails stops itself before the next
 * group hears of it; the fixed firmware then completes. Offline devices get
 * their job when they come back; deadlines, pause, resume, cancel, retry, the
 * maintenance window and every bad report are checked by what they store.
 */
import { createHash, randomBytes } from 'node:crypto';
import { DeviceClient, HttpDeviceClient, type FirmwareHandler } from '@tether/device-sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, httpJson, openLive, publishV5, startServer, until, type TestServer } from './helpers.js';

let s: TestServer;
let boiler: string;
let pump: string;

const api = (method: string, p: string, body?: unknown, token = s.api.token!) =>
  httpJson(`${s.httpUrl}${p}`, { method, token, body: body === undefined ? undefined : JSON.stringify(body) });

interface Sim {
  id: string;
  token: string;
  name: string;
  version: string;
  client: DeviceClient | null;
  /** What its firmware handler does with a job. */
  behaviour: 'install' | 'fail' | 'hang';
  downloads: number;
  jobs: string[];
}
const sims: Sim[] = [];

async function makeDevice(name: string, templateId: string, version: string, tags: string[] = []): Promise<Sim> {
  const r = await api('POST', '/api/v1/devices', { name, templateId, tags });
  expect(r.status).toBe(201);
  const sim: Sim = { id: r.body.id as string, token: r.body.token as string, name, version, client: null, behaviour: 'install', downloads: 0, jobs: [] };
  const http = new HttpDeviceClient(s.httpUrl, sim.token);
  await http.reportAttributes({ fw_version: version });
  sims.push(sim);
  return sim;
}

/** A device as firmware runs it: connects, reports its version, takes OTA jobs; after an install it reboots. */
async function bringOnline(sim: Sim): Promise<void> {
  sim.client = await DeviceClient.connect({ url: s.mqttUrl, deviceId: sim.id, token: sim.token, reconnect: false });
  await sim.client.reportAttributes({ fw_version: sim.version });
  const handler: FirmwareHandler = async (job, report) => {
    sim.jobs.push(job.deploymentId);
    if (sim.behaviour === 'hang') return; // never answers: only the deadline ends it
    const bytes = await report.download();
    sim.downloads += 1;
    expect(createHash('sha256').update(bytes!).digest('hex')).toBe(job.sha256);
    if (sim.behaviour === 'fail') throw new Error('flash write failed');
    await report.installing();
    // Reboot into the new version: the job comes again on subscribe, and is confirmed by the version.
    sim.version = job.version;
    await sim.client!.close();
    await bringOnline(sim);
  };
  await sim.client.onFirmware(handler, { currentVersion: () => sim.version });
}

async function offline(sim: Sim): Promise<void> {
  await sim.client?.close(true);
  sim.client = null;
}

async function firmware(templateId: string, version: string, bytes = randomBytes(256 * 1024)): Promise<string> {
  const fw = await api('POST', '/api/v1/firmware', { templateId, version });
  expect(fw.status).toBe(201);
  const id = fw.body.id as string;
  const up = await fetch(`${s.httpUrl}/api/v1/firmware/${id}/artifact`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${s.api.token}`, 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  expect(up.status).toBe(200);
  return id;
}

async function fleet(name: string, selector: Record<string, unknown>): Promise<string> {
  const r = await api('POST', '/api/v1/fleets', { name, kind: 'selector', selector });
  expect(r.status).toBe(201);
  return r.body.id as string;
}

type Dep = {
  id: string;
  status: string;
  stopReason: string | null;
  currentGroup: number;
  counts: Record<string, number>;
  groups: { size: number; status: string; counts: Record<string, number> }[];
};
const getDep = async (id: string) => (await api('GET', `/api/v1/deployments/${id}`)).body as unknown as Dep;
const jobsOf = async (id: string, q = '') =>
  (await api('GET', `/api/v1/deployments/${id}/devices?limit=1000${q}`)).body.items as {
    deviceId: string;
    group: number;
    state: string;
    notifiedAt: string | null;
    attempts: number;
    error: string | null;
  }[];

beforeAll(async () => {
  s = await startServer();
  boiler = (await api('POST', '/api/v1/templates', { name: 'Boiler' })).body.id as string;
  pump = (await api('POST', '/api/v1/templates', { name: 'Pump' })).body.id as string;
});

afterEach(async () => {
  for (const sim of sims) await offline(sim);
  sims.length = 0;
});

afterAll(async () => {
  await s?.close();
});

describe('deployments', () => {
  it('stops itself when its first group fails, before the next group hears of it; the fixed firmware then completes', async () => {
    const boilers = await Promise.all(Array.from({ length: 10 }, (_, i) => makeDevice(`boiler-${i}`, boiler, '1.4.0', ['stop-test'])));
    for (const b of boilers) b.behaviour = 'fail';
    await Promise.all(boilers.map(bringOnline));
    const bad = await firmware(boiler, '2.0.0');
    const below2 = await fleet('boilers below 2.0.0', { templateId: boiler, tags: ['stop-test'], firmware: '<2.0.0' });

    const created = await api('POST', '/api/v1/deployments', {
      firmwareId: bad,
      fleetId: below2,
      groups: [{ percent: 20 }, { percent: 60 }, { percent: 100 }],
      errorThreshold: 10,
    });
    expect(created.status).toBe(201);
    const depId = created.body.id as string;
    expect((created.body.groups as { size: number }[]).map((g) => g.size)).toEqual([2, 4, 4]);

    const stopped = await until(async () => {
      const d = await getDep(depId);
      return d.status === 'stopped' && d;
    });
    expect(stopped.stopReason).toMatch(/group 1 of 3: \d of 2 devices failed or timed out, over the 10% error threshold/);
    expect(stopped.currentGroup).toBe(0);
    const jobs = await jobsOf(depId);
    const later = jobs.filter((j) => j.group > 0);
    expect(later).toHaveLength(8);
    // The next groups were never told: cancelled, never notified, and their devices saw no job.
    for (const j of later) expect([j.state, j.notifiedAt]).toEqual(['cancelled', null]);
    const toldIds = new Set(boilers.filter((b) => b.jobs.includes(depId)).map((b) => b.id));
    for (const j of later) expect(toldIds.has(j.deviceId)).toBe(false);
    // Give a failing device's second report time to land: still stopped, still 8 cancelled.
    await new Promise((r) => setTimeout(r, 500));
    const after = await getDep(depId);
    expect([after.status, after.groups[1]!.counts.cancelled! + after.groups[2]!.counts.cancelled!]).toEqual(['stopped', 8]);

    // The first group's failures, with the device's error and every transition kept.
    const failed = jobs.find((j) => j.group === 0 && j.state === 'failed')!;
    expect(failed.error).toBe('flash write failed');
    const detail = await api('GET', `/api/v1/deployments/${depId}/devices/${failed.deviceId}`);
    expect((detail.body.history as { state: string }[]).map((h) => h.state)).toEqual(['pending', 'notified', 'downloading', 'downloaded', 'failed']);

    // Fixed firmware: the same fleet (still every boiler: none took 2.0.0) completes.
    for (const b of boilers) b.behaviour = 'install';
    const good = await firmware(boiler, '2.0.1');
    const fixed = await api('POST', '/api/v1/deployments', {
      firmwareId: good,
      fleetId: below2,
      groups: [{ percent: 20 }, { percent: 60 }, { percent: 100 }],
      errorThreshold: 10,
    });
    expect(fixed.status).toBe(201);
    const done = await until(async () => {
      const d = await getDep(fixed.body.id as string);
      return d.status === 'completed' && d;
    }, 30_000);
    expect(done.counts.installed).toBe(10);
    expect(done.groups.map((g) => [g.size, g.status, g.counts.installed])).toEqual([
      [2, 'done', 2],
      [4, 'done', 4],
      [4, 'done', 4],
    ]);
    // Confirmed by the devices themselves: every one now reports 2.0.1.
    const listed = await api('GET', `/api/v1/fleets/${below2}/devices`);
    expect(listed.body.total).toBe(0);
    for (const b of boilers) {
      const d = await api('GET', `/api/v1/devices/${b.id}`);
      expect(d.body.firmwareVersion).toBe('2.0.1');
    }
    // Who started it is in the audit log.
    const audit = await s.tether.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE target_id = $1`, [fixed.body.id]);
    expect(audit.map((a) => a.action)).toContain('deployment.create');
  });

  it('tells an offline device when it comes back, and counts only the new version as installed', async () => {
    const [a, b] = await Promise.all([makeDevice('late-a', boiler, '1.0.0', ['late']), makeDevice('late-b', boiler, '1.0.0', ['late'])]);
    // A dashboard follows the jobs live.
    const live = await openLive(s.httpUrl, s.api.token!);
    live.send({ type: 'subscribe', devices: [a!.id, b!.id], channels: ['ota'] });
    await live.next((m) => m.type === 'subscribed');
    await bringOnline(a!);
    const fw = await firmware(boiler, '3.0.0');
    const f = await fleet('late boilers', { templateId: boiler, tags: ['late'] });
    const dep = await api('POST', '/api/v1/deployments', { firmwareId: fw, fleetId: f });
    expect(dep.status).toBe(201);
    const depId = dep.body.id as string;
    await until(async () => (await jobsOf(depId)).find((j) => j.deviceId === a!.id)?.state === 'installed');
    const waiting = (await jobsOf(depId)).find((j) => j.deviceId === b!.id)!;
    expect(waiting.state).toBe('pending');
    expect((await getDep(depId)).status).toBe('running');

    // b comes back: it gets the job on subscribe.
    await bringOnline(b!);
    const d = await until(async () => {
      const x = await getDep(depId);
      return x.status === 'completed' && x;
    });
    expect(d.counts.installed).toBe(2);
    expect(b!.jobs).toEqual([depId]);
    const seen = live.messages.flatMap((m) => (m.type === 'ota' && m.deviceId === b!.id ? [m.ota.state] : []));
    live.close();
    expect(seen[0]).toBe('notified');
    expect(seen.at(-1)).toBe('installed');
    expect(live.messages.some((m) => m.type === 'ota' && m.ota.deploymentId === depId && m.deviceId === a!.id && m.ota.state === 'installed')).toBe(true);
  });

  it('confirms a job by the fw_version the device reports, and refuses a report of installed without the new version', async () => {
    const dev = await makeDevice('http-boiler', boiler, '1.0.0', ['http']);
    const fw = await firmware(boiler, '4.0.0');
    const depId = (await api('POST', '/api/v1/deployments', { firmwareId: fw, fleetId: await fleet('http boilers', { tags: ['http'] }) })).body.id as string;
    const http = new HttpDeviceClient(s.httpUrl, dev.token);
    const job = await http.otaJob();
    expect(job).toMatchObject({ deploymentId: depId, version: '4.0.0', size: 256 * 1024 });
    expect(job!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/firmware-downloads\//);
    // The signed link downloads without the device token, by Range too.
    const part = await fetch(job!.url, { headers: { range: 'bytes=0-99' } });
    expect([part.status, (await part.arrayBuffer()).byteLength]).toEqual([206, 100]);

    const post = (body: unknown, token = dev.token) => api('POST', '/api/v1/device/ota/status', body, token);
    expect((await post({ deploymentId: depId, state: 'downloading', progress: 40 })).body).toEqual({ applied: true, state: 'downloading' });
    // A replay changes nothing.
    expect((await post({ deploymentId: depId, state: 'downloading', progress: 40 })).body).toEqual({ applied: false, state: 'downloading' });
    const noVersion = await post({ deploymentId: depId, state: 'installed' });
    expect([noVersion.status, noVersion.body.error?.code]).toEqual([400, 'OTA_VERSION_REQUIRED']);
    const wrong = await post({ deploymentId: depId, state: 'installed', version: '3.9.9' });
    expect([wrong.status, wrong.body.error?.code]).toEqual([400, 'OTA_VERSION_MISMATCH']);
    const other = await post({ deploymentId: '00000000-0000-4000-8000-000000000000', state: 'failed' });
    expect([other.status, other.body.error?.code]).toEqual([404, 'OTA_JOB_NOT_FOUND']);
    expect((await jobsOf(depId))[0]).toMatchObject({ state: 'downloading' });

    // The device reboots into 4.0.0 and says so in its attributes: that confirms it.
    await http.reportAttributes({ fw_version: '4.0.0' });
    await until(async () => (await getDep(depId)).status === 'completed');
    expect((await jobsOf(depId))[0]).toMatchObject({ state: 'installed' });
  });

  it('refuses bad reports over MQTT 5 with a reason code, and stores nothing for them', async () => {
    const dev = await makeDevice('mqtt5-boiler', boiler, '1.0.0', ['mqtt5']);
    const fw = await firmware(boiler, '5.0.0');
    const depId = (await api('POST', '/api/v1/deployments', { firmwareId: fw, fleetId: await fleet('mqtt5 boilers', { tags: ['mqtt5'] }) })).body.id as string;
    const c = await connectMqtt(s.mqttUrl, { username: dev.id, password: dev.token, protocolVersion: 5 });
    try {
      const topic = `devices/${dev.id}/ota/status`;
      const refused = async (payload: string) => {
        const ack = await publishV5(c, topic, payload);
        expect(ack.reasonCode).toBe(0x87);
        return ack.reason;
      };
      expect(await refused(JSON.stringify({ deploymentId: randomBytes(16).toString('hex'), state: 'failed' }))).toMatch(/^OTA_JOB_NOT_FOUND/);
      expect(await refused(JSON.stringify({ deploymentId: '00000000-0000-4000-8000-000000000000', state: 'failed' }))).toMatch(/^OTA_JOB_NOT_FOUND/);
      expect(await refused(JSON.stringify({ deploymentId: depId, state: 'installed' }))).toMatch(/^OTA_VERSION_REQUIRED/);
      expect(await refused('{not json')).toMatch(/^INVALID_PAYLOAD/);
      expect(await refused(JSON.stringify({ deploymentId: depId, state: 'exploded' }))).toMatch(/^INVALID_PAYLOAD/);
      expect((await jobsOf(depId))[0]).toMatchObject({ state: 'pending' });
      expect((await publishV5(c, topic, JSON.stringify({ deploymentId: depId, state: 'failed', error: 'battery low' }))).reasonCode).toBe(0);
      expect((await jobsOf(depId))[0]).toMatchObject({ state: 'failed', error: 'battery low' });
    } finally {
      c.end(true);
    }
  });

  it('times out a device that never answers, and retries only the failed ones', async () => {
    const quiet = await makeDevice('quiet', boiler, '1.0.0', ['deadline']);
    const fine = await makeDevice('fine', boiler, '1.0.0', ['deadline']);
    quiet.behaviour = 'hang';
    fine.behaviour = 'fail';
    await Promise.all([bringOnline(quiet), bringOnline(fine)]);
    const fw = await firmware(boiler, '6.0.0');
    const f = await fleet('deadline boilers', { tags: ['deadline'] });
    const depId = (await api('POST', '/api/v1/deployments', { firmwareId: fw, fleetId: f, deviceTimeoutS: 5, errorThreshold: 100 })).body.id as string;
    const d = await until(async () => {
      const x = await getDep(depId);
      return x.status === 'completed' && x;
    }, 20_000);
    expect([d.counts['timed-out'], d.counts.failed]).toEqual([1, 1]);
    expect((await jobsOf(depId)).find((j) => j.deviceId === quiet.id)).toMatchObject({
      state: 'timed-out',
      error: 'no report of the new version before the deadline',
    });

    // Fixed on the devices' side: a retry sends the job again, to those two only.
    quiet.behaviour = 'install';
    fine.behaviour = 'install';
    // The hanging handler still holds its job: a real device would have rebooted.
    await offline(quiet);
    await bringOnline(quiet);
    const retry = await api('POST', `/api/v1/deployments/${depId}/retry`);
    expect([retry.status, retry.body.retried]).toEqual([200, 2]);
    const again = await until(async () => {
      const x = await getDep(depId);
      return x.status === 'completed' && x.counts.installed === 2 && x;
    }, 20_000);
    expect(again.counts.installed).toBe(2);
    expect((await jobsOf(depId)).map((j) => j.attempts)).toEqual([2, 2]);
    const noMore = await api('POST', `/api/v1/deployments/${depId}/retry`);
    expect([noMore.status, noMore.body.error?.code]).toEqual([409, 'DEPLOYMENT_STATE_CONFLICT']);
  });

  it('pauses, resumes and cancels; a paused deployment tells nobody', async () => {
    const devs = await Promise.all([0, 1, 2].map((i) => makeDevice(`pause-${i}`, boiler, '1.0.0', ['pause'])));
    const fw = await firmware(boiler, '7.0.0');
    const f = await fleet('pause boilers', { tags: ['pause'] });
    const made = await api('POST', '/api/v1/deployments', { firmwareId: fw, fleetId: f, paused: true });
    expect(made.body.status).toBe('paused');
    const depId = made.body.id as string;
    await Promise.all(devs.map(bringOnline));
    await new Promise((r) => setTimeout(r, 500));
    expect(devs.flatMap((d) => d.jobs)).toEqual([]);
    const paused = await api('POST', `/api/v1/deployments/${depId}/pause`);
    expect([paused.status, paused.body.error?.code]).toEqual([409, 'DEPLOYMENT_STATE_CONFLICT']);

    expect((await api('POST', `/api/v1/deployments/${depId}/resume`)).body.status).toBe('running');
    await until(async () => (await getDep(depId)).status === 'completed');

    // Cancel: a deployment with an offline device ends, its job cancelled, and it is then told nothing.
    const late = await makeDevice('pause-late', boiler, '1.0.0', ['pause-late']);
    const fw2 = await firmware(boiler, '7.1.0');
    const dep2 = (await api('POST', '/api/v1/deployments', { firmwareId: fw2, fleetId: await fleet('late pause', { tags: ['pause-late'] }) })).body
      .id as string;
    const cancelled = await api('POST', `/api/v1/deployments/${dep2}/cancel`);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', stopReason: 'cancelled by a user' });
    await bringOnline(late);
    await new Promise((r) => setTimeout(r, 500));
    expect(late.jobs).toEqual([]);
    expect((await jobsOf(dep2))[0]).toMatchObject({ state: 'cancelled' });
    const audit = await s.tether.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE target_id = ANY($1::uuid[]) ORDER BY created_at`, [
      [depId, dep2],
    ]);
    expect(audit.map((a) => a.action)).toEqual(['deployment.create', 'deployment.resume', 'deployment.create', 'deployment.cancel']);
  });

  it('waits for the maintenance window before telling devices', async () => {
    const dev = await makeDevice('window', boiler, '1.0.0', ['window']);
    await bringOnline(dev);
    const fw = await firmware(boiler, '8.0.0');
    // A window that opens in two hours (UTC) and lasts one.
    const at = new Date(Date.now() + 2 * 3600_000);
    const hhmm = (d: Date) => `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
    const window = { start: hhmm(at), end: hhmm(new Date(at.getTime() + 3600_000)), timezone: 'UTC' };
    const depId = (
      await api('POST', '/api/v1/deployments', { firmwareId: fw, fleetId: await fleet('window', { tags: ['window'] }), maintenanceWindow: window })
    ).body.id as string;
    await new Promise((r) => setTimeout(r, 2500));
    expect(dev.jobs).toEqual([]);
    expect((await jobsOf(depId))[0]).toMatchObject({ state: 'pending' });
    // Over HTTP too: no job outside the window.
    expect(await new HttpDeviceClient(s.httpUrl, dev.token).otaJob()).toBeNull();
    const bad = await api('POST', '/api/v1/deployments', {
      firmwareId: fw,
      fleetId: await fleet('window 2', { tags: ['window'] }),
      maintenanceWindow: { start: '25:00', end: '01:00', timezone: 'UTC' },
    });
    expect([bad.status, bad.body.error?.code]).toEqual([400, 'DEPLOYMENT_INVALID']);
  });

  it('refuses a firmware for another template, an empty fleet, a device already in a running deployment, and a firmware without bytes', async () => {
    await makeDevice('pump-a', pump, '1.0.0', ['mixed']);
    await makeDevice('boiler-a', boiler, '1.0.0', ['mixed']);
    const fw = await firmware(boiler, '9.0.0');
    const mixed = await api('POST', '/api/v1/deployments', { firmwareId: fw, fleetId: await fleet('mixed', { tags: ['mixed'] }) });
    expect([mixed.status, mixed.body.error?.code]).toEqual([400, 'FIRMWARE_TEMPLATE_MISMATCH']);
    const boilersOnly = await fleet('mixed boilers', { tags: ['mixed'], templateId: boiler });
    const empty = await api('POST', '/api/v1/deployments', { firmwareId: fw, fleetId: await fleet('nobody', { tags: ['nobody'] }) });
    expect([empty.status, empty.body.error?.code]).toEqual([400, 'DEPLOYMENT_EMPTY']);
    const first = await api('POST', '/api/v1/deployments', { firmwareId: fw, fleetId: boilersOnly });
    expect(first.status).toBe(201);
    const fw2 = await firmware(boiler, '9.0.1');
    const overlap = await api('POST', '/api/v1/deployments', { firmwareId: fw2, fleetId: boilersOnly });
    expect([overlap.status, overlap.body.error?.code]).toEqual([409, 'DEPLOYMENT_OVERLAP']);
    const noBytes = (await api('POST', '/api/v1/firmware', { templateId: boiler, version: '9.9.9' })).body.id as string;
    const unuploaded = await api('POST', '/api/v1/deployments', { firmwareId: noBytes, fleetId: boilersOnly });
    expect([unuploaded.status, unuploaded.body.error?.code]).toEqual([409, 'FIRMWARE_NOT_UPLOADED']);
    const badGroups = await api('POST', '/api/v1/deployments', { firmwareId: fw2, fleetId: boilersOnly, groups: [{ percent: 50 }, { percent: 10 }] });
    expect(badGroups.status).toBe(400);
    // A deployed firmware stays: its deployment refers to it.
    const del = await api('DELETE', `/api/v1/firmware/${fw}`);
    expect([del.status, del.body.error?.code]).toEqual([409, 'FIRMWARE_IN_USE']);
    expect((await api('GET', `/api/v1/firmware/${fw}`)).status).toBe(200);
  });
});
