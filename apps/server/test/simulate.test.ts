/**
 * `tether simulate` against a real server: devices created through the API
 * publish over MQTT, and everything the simulator counts as acked is stored.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Compile } from 'typebox/compile';
import { AlertPayload, HeartbeatPayload, LocationPayload } from '@tether/contracts';
import type { TetherClient } from '@tether/api-client';
import { createDeviceModel, type Random } from '../src/cli/simulate/device-models.js';
import { readFleetFile, writeFleetFile, type FleetDevice } from '../src/cli/simulate/fleet-file.js';
import { SimulateOptionsError, mqttUrlFromServerInfo, parseSimulateArgs } from '../src/cli/simulate/options.js';
import { createSimulatedDevices, findOrCreateProject, findOrCreateTemplate } from '../src/cli/simulate/provision.js';
import { Simulation } from '../src/cli/simulate/simulation.js';
import { ADMIN, httpJson, startServer, until, type TestServer } from './helpers.js';
import { CLI } from './process-helpers.js';

let s: TestServer;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-sim-'));
beforeAll(async () => {
  s = await startServer();
});
afterAll(async () => {
  await s?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Every message Tether stored for these devices, by channel. */
async function storedMessages(api: TetherClient, fleet: FleetDevice[]): Promise<{ total: number; byChannel: Record<string, number> }> {
  const byChannel: Record<string, number> = {};
  let total = 0;
  for (const d of fleet) {
    const { items } = await api.devices.messages(d.id, { limit: 1000 });
    expect(items.length).toBeLessThan(1000); // otherwise this count would be cut short
    total += items.length;
    for (const m of items) byChannel[m.channel] = (byChannel[m.channel] ?? 0) + 1;
  }
  return { total, byChannel };
}

describe('simulation against a real server', () => {
  it('connects a mixed fleet, keeps to the rate, and every acked message is stored', async () => {
    const { project } = await findOrCreateProject(s.api, 'Simulator');
    const fleet = await createSimulatedDevices(s.api, { count: 6, kind: 'mixed', projectId: project.id });
    expect(fleet.map((d) => d.name)).toEqual([
      'sim-boiler-0001',
      'sim-heartbeat-0001',
      'sim-truck-0001',
      'sim-boiler-0002',
      'sim-heartbeat-0002',
      'sim-truck-0002',
    ]);

    const rate = 60;
    const sim = new Simulation(fleet, { mqttUrl: s.mqttUrl, rate, qos: 1, connectRate: 200, maxInFlight: 1, durationMs: 3000 });
    sim.start();
    const result = await sim.done;

    expect(result.stopReason).toBe('duration reached');
    expect(result.everConnected).toBe(6);
    expect(result.connectErrors + result.publishErrors).toBe(0);
    expect(result.inFlight).toBe(0);
    expect(result.acked).toBe(result.sent);
    // Never beyond the schedule. How close it gets depends on the machine: bench/ measures speed.
    expect(result.sent).toBeGreaterThan(0);
    // The schedule, plus each device's fw_version report when it connects.
    expect(result.sent).toBeLessThanOrEqual(rate * 3 + fleet.length);

    // QoS 1 acks mean committed: the server holds exactly what was acked.
    const stored = await storedMessages(s.api, fleet);
    expect(stored.total).toBe(result.acked);
    expect(stored.byChannel.heartbeat).toBeGreaterThan(0);
    expect(stored.byChannel.location).toBeGreaterThan(0);

    const [boiler, sensor, truck] = fleet;
    const latest = await s.api.devices.latest(boiler!.id);
    expect(typeof latest.values.temperature?.value).toBe('number');
    expect(typeof latest.values.humidity?.value).toBe('number');
    const sensorChannels = new Set((await s.api.devices.messages(sensor!.id, { limit: 1000 })).items.map((m) => m.channel));
    expect([...sensorChannels].sort()).toEqual(['attributes', 'heartbeat']);
    expect((await s.api.devices.get(sensor!.id)).firmwareVersion).toBe('1.0.0');
    expect((await s.api.devices.locations(truck!.id)).items.length).toBeGreaterThan(0);
    expect(Object.keys((await s.api.devices.latest(truck!.id)).values).sort()).toEqual(['fuel', 'speed']);

    const devices = await s.api.devices.list({ projectId: project.id, tag: 'simulated' });
    expect(devices.total).toBe(6);
    expect(devices.items.find((d) => d.name === 'sim-truck-0001')?.tags).toEqual(['simulated', 'truck']);
  });

  it('answers commands: a reset reconnects and reports uptime 0; reportIntervalMs slows a device down', async () => {
    const { project } = await findOrCreateProject(s.api, 'Simulator commands');
    const fleet = await createSimulatedDevices(s.api, { count: 2, kind: 'heartbeat', projectId: project.id });
    const [a, b] = fleet as [FleetDevice, FleetDevice];
    const sim = new Simulation(fleet, { mqttUrl: s.mqttUrl, rate: 40, qos: 1, connectRate: 200, maxInFlight: 1, durationMs: 8000 });
    sim.start();
    // b reports at the simulator's rate first (how soon depends on the machine's load, so wait for it, not for a time).
    await until(async () => (await s.api.devices.messages(b.id, { limit: 50 })).items.length > 10, 5000);
    // Device b is told to report once a second; a is reset.
    await s.api.request('PUT', `/api/v1/devices/${b.id}/config/reportIntervalMs`, { value: 1000 });
    const configuredAt = Date.now() + 300;
    const reset = await s.api.request<{ status: string; result: unknown }>('POST', `/api/v1/devices/${a.id}/commands?wait=true`, {
      name: 'reset',
      timeoutMs: 5000,
    });
    expect(reset).toMatchObject({ status: 'succeeded', result: { rebooting: true } });
    const result = await sim.done;
    expect(result.publishErrors).toBe(0);

    const hb = await s.api.request<{ items: { ts: string; uptime: number | null }[] }>('GET', `/api/v1/devices/${a.id}/heartbeats`);
    expect(hb.items.some((h) => h.uptime === 0)).toBe(true);
    const status = await s.api.devices.status(a.id);
    expect(status.lastConnectedAt).not.toBeNull();
    // b sent ~20/s before the config and at most 1/s after it.
    const times = (await s.api.devices.messages(b.id, { limit: 1000 })).items.map((m) => Date.parse(m.receivedAt));
    const before = times.filter((t) => t < configuredAt - 300);
    const after = times.filter((t) => t > configuredAt);
    expect(before.length).toBeGreaterThan(10);
    expect(after.length).toBeGreaterThan(0);
    expect(after.length).toBeLessThanOrEqual(Math.ceil((Math.max(...after) - configuredAt) / 1000) + 1);
  });

  it('runs failing heartbeat sensors: degrading ones stop sending for good (within their decline), the rest keep going', async () => {
    const { project } = await findOrCreateProject(s.api, 'Simulator health');
    const fleet = await createSimulatedDevices(s.api, { count: 4, kind: 'heartbeat', projectId: project.id });
    // 40 msg/s over 4 devices: 100 ms between a sensor's turns. At 20,000× a decline of at most
    // 2.5 h + 12 h of model time is over in 2.6 s.
    const durationMs = 7000;
    const notices: string[] = [];
    const sim = new Simulation(
      fleet,
      {
        mqttUrl: s.mqttUrl,
        rate: 40,
        qos: 1,
        connectRate: 200,
        maxInFlight: 1,
        durationMs,
        health: { degradeShare: 0.5, noisyShare: 0, speed: 20_000 },
      },
      { notice: (message) => notices.push(message) },
    );
    const startedAt = Date.now();
    sim.start();
    const result = await sim.done;
    expect(result.publishErrors).toBe(0);
    const lastBeats = await Promise.all(
      fleet.map(async (d) => {
        const items = (await s.api.devices.messages(d.id, { limit: 1000 })).items.filter((m) => m.channel === 'heartbeat');
        return Math.max(...items.map((m) => Date.parse(m.receivedAt))) - startedAt;
      }),
    );
    const dead = lastBeats.filter((t) => t < durationMs - 2500);
    const alive = lastBeats.filter((t) => t > durationMs - 1500);
    expect(dead).toHaveLength(2);
    expect(alive).toHaveLength(2);
    // The simulator says which ones degrade: exactly those that died.
    const died = fleet.filter((_, i) => lastBeats[i]! < durationMs - 2500).map((d) => d.name);
    expect(notices).toContain(`heartbeat sensors: 2 degrading (${died.join(', ')}), 0 noisy, the rest healthy`);
  });

  it('gives up on devices the broker refuses, and says none connected', async () => {
    const [real] = await createSimulatedDevices(s.api, { count: 1, kind: 'boiler', projectId: (await findOrCreateProject(s.api, 'Simulator')).project.id });
    const notices: string[] = [];
    const sim = new Simulation(
      [{ ...real!, token: 'dt_not-the-token' }],
      { mqttUrl: s.mqttUrl, rate: 10, qos: 1, connectRate: 200, maxInFlight: 1, durationMs: 10_000 },
      { notice: (m) => notices.push(m) },
    );
    sim.start();
    const result = await sim.done;
    expect(result.stopReason).toBe('the broker refused every device');
    expect(result).toMatchObject({ everConnected: 0, refused: 1, sent: 0 });
    expect(notices.join('\n')).toMatch(/not retrying/);
  });
});

describe('simulated trucks', () => {
  it('raise harsh-braking alerts that name two dashcam clips, and upload both', async () => {
    const { project } = await findOrCreateProject(s.api, 'Trucks sim');
    const fleet = await createSimulatedDevices(s.api, { count: 3, kind: 'truck', projectId: project.id });
    // Now and then a draw is tiny (the model brakes below 1/200); 37 is odd, so it lands on the brake check whatever the draws per message.
    let draws = 0;
    const random = () => (++draws % 37 === 0 ? 0.001 : 0.5);
    const sim = new Simulation(fleet, { mqttUrl: s.mqttUrl, rate: 30, qos: 1, connectRate: 200, maxInFlight: 1, durationMs: null, httpUrl: s.httpUrl, random });
    sim.start();
    try {
      await until(() => sim.snapshot().files.uploaded >= 4, 30_000);
    } finally {
      await sim.stop();
    }
    expect(sim.snapshot().files.failed).toBe(0);
    const alerts = await httpJson(`${s.httpUrl}/api/v1/alerts?projectId=${project.id}&hasFiles=true&type=harsh_brake`, { token: s.api.token! });
    const items = alerts.body.items as { id: string; files: string[] }[];
    expect(items.length).toBeGreaterThan(0);
    let complete = 0;
    for (const a of items) {
      expect(a.files).toHaveLength(2);
      const detail = await httpJson(`${s.httpUrl}/api/v1/alerts/${a.id}`, { token: s.api.token! });
      const files = (detail.body.attachments as { file: { state: string; contentType: string } | null }[]).map((x) => x.file);
      if (files.every((f) => f?.state === 'stored')) {
        complete++;
        expect(files.map((f) => f!.contentType)).toEqual(['video/webm', 'video/webm']);
      }
    }
    expect(complete).toBeGreaterThanOrEqual(2);
  });
});

describe('simulated devices take firmware updates', () => {
  it('download, check, install and come back on the new version; the asked shares fail and hang', async () => {
    const { project } = await findOrCreateProject(s.api, 'OTA sim');
    const template = await findOrCreateTemplate(s.api, 'Sim boiler');
    const fleet = await createSimulatedDevices(s.api, { count: 10, kind: 'boiler', projectId: project.id, templateId: template.id });
    const changed: string[] = [];
    const sim = new Simulation(
      fleet,
      {
        mqttUrl: s.mqttUrl,
        rate: 10,
        qos: 1,
        connectRate: 200,
        maxInFlight: 1,
        durationMs: null,
        firmwareVersion: '1.2.0',
        ota: { failShare: 0.3, failVersions: null, hangShare: 0.1, installMs: 100 },
        httpUrl: s.httpUrl,
      },
      { firmwareChanged: (d) => changed.push(`${d.id}@${d.firmwareVersion}`) },
    );
    sim.start();
    try {
      await until(async () => sim.snapshot().everConnected === 10);
      const api = (method: string, p: string, body?: unknown) => httpJson(`${s.httpUrl}${p}`, { method, token: s.api.token!, body: JSON.stringify(body) });
      // The devices report 1.2.0, so the fleet "below 2.0.0" holds them all.
      const fleetId = (
        await until(async () => {
          const preview = await api('POST', '/api/v1/fleets/preview', { templateId: template.id, firmware: '<2.0.0' });
          return (
            preview.body.total === 10 &&
            (await api('POST', '/api/v1/fleets', { name: 'sim boilers', kind: 'selector', selector: { templateId: template.id, firmware: '<2.0.0' } }))
          );
        })
      ).body.id as string;
      const fw = await api('POST', '/api/v1/firmware', { templateId: template.id, version: '2.0.0' });
      const bytes = Buffer.alloc(3 * 1024 * 1024, 7);
      await fetch(`${s.httpUrl}/api/v1/firmware/${fw.body.id as string}/artifact`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${s.api.token}`, 'content-type': 'application/octet-stream' },
        body: bytes,
      });
      const dep = await api('POST', '/api/v1/deployments', { firmwareId: fw.body.id, fleetId, errorThreshold: 100, deviceTimeoutS: 6 });
      expect(dep.status).toBe(201);
      const done = await until(async () => {
        const d = await api('GET', `/api/v1/deployments/${dep.body.id as string}`);
        return d.body.status === 'completed' && (d.body.counts as Record<string, number>);
      }, 30_000);
      expect([done.installed, done.failed, done['timed-out']]).toEqual([6, 3, 1]);
      expect(sim.snapshot().ota).toEqual({ jobs: 10, installed: 6, failed: 3, hung: 1 });
      expect(changed.filter((c) => c.endsWith('@2.0.0'))).toHaveLength(6);
      // The failures carry the device's own words.
      const failed = await api('GET', `/api/v1/deployments/${dep.body.id as string}/devices?state=failed`);
      expect((failed.body.items as { error: string }[]).map((j) => j.error)).toEqual(
        Array(3).fill('simulated install failure: the new image did not verify after flashing'),
      );
    } finally {
      await sim.stop();
    }
  });
});

describe('the tether simulate command', () => {
  it('creates devices, saves them, publishes, and the next run reuses the file', async () => {
    const save = path.join(tmp, 'fleet.json');
    // No --mqtt: the broker's address comes from the server (another broker may hold 1883 here),
    // and the password from the environment, not the command line.
    const first = await runCli(
      ['--url', s.httpUrl, '--email', ADMIN.email, '--devices', '3', '--kind', 'truck', '--project', 'CLI sim', '--duration', '2', '--save', save],
      {
        TETHER_PASSWORD: ADMIN.password,
      },
    );
    expect(first.code, first.out).toBe(0);
    expect(first.out).toContain(`→ ${s.mqttUrl.replace('127.0.0.1', new URL(s.httpUrl).hostname)}`);
    expect(first.out).toContain(`--devices-file ${save}`);
    const fleet = await readFleetFile(save, 'mixed');
    expect(fleet.map((d) => d.kind)).toEqual(['truck', 'truck', 'truck']);
    const ackedFirst = ackedIn(first.out);
    expect(ackedFirst).toBeGreaterThan(0);

    const second = await runCli(['--devices-file', save, '--mqtt', s.mqttUrl, '--rate', '9', '--duration', '2']);
    expect(second.code, second.out).toBe(0);
    expect(second.out).not.toContain('Created');
    expect((await storedMessages(s.api, fleet)).total).toBe(ackedFirst + ackedIn(second.out));
  });

  it('exits non-zero when nothing can connect', async () => {
    const file = path.join(tmp, 'nobody.json');
    await writeFleetFile(file, [{ id: '00000000-0000-4000-8000-000000000000', token: 'dt_x', kind: 'boiler' }]);
    const r = await runCli(['--devices-file', file, '--mqtt', s.mqttUrl, '--duration', '5']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('No device could connect');
  });
});

describe('device models', () => {
  const checks = { alerts: Compile(AlertPayload), heartbeat: Compile(HeartbeatPayload), location: Compile(LocationPayload) };

  it('produce payloads the server accepts, with plausible values, over a long run', () => {
    const random = seeded(42);
    let now = Date.UTC(2026, 0, 1);
    const seen = { gas: 0, brake: 0, location: 0, overheats: 0 };
    let hot = false;
    for (const kind of ['boiler', 'heartbeat', 'truck'] as const) {
      const model = createDeviceModel(kind, random, now);
      let lastBattery = Infinity;
      for (let i = 0; i < 20_000; i++) {
        now += 1000;
        const m = model.next(now);
        if (m.channel !== 'telemetry') expect(checks[m.channel].Check(m.payload), JSON.stringify(m)).toBe(true);
        if (kind === 'boiler' && m.channel === 'telemetry') {
          expect(m.payload.temperature).toBeGreaterThan(40);
          expect(m.payload.temperature).toBeLessThan(100);
          // An overheat: above 80, then back under 75 (what an alarm rule with hysteresis raises and clears).
          const t = m.payload.temperature as number;
          if (!hot && t > 80) hot = true;
          else if (hot && t < 75) {
            hot = false;
            seen.overheats++;
          }
        }
        if (m.channel === 'alerts' && m.payload.type === 'gas') seen.gas++;
        if (m.channel === 'alerts' && m.payload.type === 'harsh_brake') seen.brake++;
        if (m.channel === 'heartbeat') {
          // The battery only drains, until it is swapped for a full one.
          expect(m.payload.battery! <= lastBattery || m.payload.battery === 100).toBe(true);
          lastBattery = m.payload.battery!;
        }
        if (m.channel === 'location') seen.location++;
      }
    }
    // 1 in 300 and 1 in 200 messages, give or take.
    expect(seen.gas).toBeGreaterThan(30);
    expect(seen.gas).toBeLessThan(120);
    expect(seen.brake).toBeGreaterThan(50);
    expect(seen.brake).toBeLessThan(200);
    expect(seen.location).toBeGreaterThan(9000);
    // About one overheat every ten minutes at 1 msg/s (20,000 messages: ~30, less the time spent in them).
    expect(seen.overheats).toBeGreaterThan(8);
    expect(seen.overheats).toBeLessThan(60);
  });

  it('moves a truck along its route at its reported speed', () => {
    let now = 0;
    const model = createDeviceModel('truck', seeded(7), now);
    const fixes: { lat: number; lon: number; speed: number }[] = [];
    while (fixes.length < 60) {
      now += 10_000;
      const m = model.next(now);
      if (m.channel === 'location') fixes.push({ lat: m.payload.lat, lon: m.payload.lon, speed: m.payload.speed! });
    }
    // Consecutive fixes are 20 s apart; at up to 120 km/h that is under 0.7 km.
    for (let i = 1; i < fixes.length; i++) {
      const km = Math.hypot(fixes[i]!.lat - fixes[i - 1]!.lat, (fixes[i]!.lon - fixes[i - 1]!.lon) * Math.cos((fixes[i]!.lat * Math.PI) / 180)) * 111.32;
      expect(km).toBeLessThan(0.7);
    }
    expect(new Set(fixes.map((f) => `${f.lat},${f.lon}`)).size).toBeGreaterThan(50);
  });
});

describe('options', () => {
  it('has defaults, and leaves the broker to the server to tell', () => {
    const parsed = parseSimulateArgs(['--url', 'http://tether.example:8080', '--email', 'a@b.co', '--password', 'pw'], {});
    expect(parsed).toMatchObject({
      help: false,
      options: {
        kind: 'mixed',
        devices: null,
        rate: null,
        durationS: null,
        qos: 1,
        connectRate: 200,
        inflight: 1,
        mqttUrl: null,
        saveFile: './simulated-devices.json',
      },
    });
  });

  it('reads the environment, and flags win over it', () => {
    const env = { TETHER_URL: 'https://t.example', TETHER_EMAIL: 'env@b.co', TETHER_PASSWORD: 'envpw' };
    const parsed = parseSimulateArgs(['--duration', '5m'], env);
    expect(parsed).toMatchObject({
      options: { url: 'https://t.example', mqttUrl: null, durationS: 300, credentials: { email: 'env@b.co', password: 'envpw' } },
    });
    expect(parseSimulateArgs(['--api-key', 'tk_1'], env)).toMatchObject({ options: { credentials: { apiKey: 'tk_1' } } });
  });

  it('reports every problem at once', () => {
    let err: unknown;
    try {
      parseSimulateArgs(['--kind', 'toaster', '--devices', '0', '--qos', '2', '--duration', 'soon'], {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SimulateOptionsError);
    const problems = (err as SimulateOptionsError).problems.join('\n');
    for (const flag of ['--kind', '--devices', '--qos', '--duration', 'sign in']) expect(problems).toContain(flag);
  });
});

function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
  const proc = spawn(process.execPath, [CLI, 'simulate', ...args], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => proc.on('exit', (code) => resolve({ code, out })));
}

function ackedIn(output: string): number {
  const m = /^\s+acked\s+([\d,]+)/m.exec(output);
  if (!m) throw new Error(`no summary in:\n${output}`);
  return Number(m[1]!.replace(/,/g, ''));
}

/** mulberry32: a repeatable random source, so model tests do not flake. */
function seeded(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('the broker address from server-info', () => {
  it('takes the host of --url and the ports the server reports', () => {
    expect(mqttUrlFromServerInfo('http://t.example:8080', { mqtt: { port: 18830, tlsPort: null } })).toBe('mqtt://t.example:18830');
    expect(mqttUrlFromServerInfo('https://t.example', { mqtt: { port: 1883, tlsPort: 8884 } })).toBe('mqtts://t.example:8884');
    expect(mqttUrlFromServerInfo('https://t.example', { mqtt: { port: 1883, tlsPort: null } })).toBe('mqtt://t.example:1883');
    expect(mqttUrlFromServerInfo('http://t.example', { mqtt: null })).toBeNull();
  });
});
