/**
 * Issue 13, notifications through real parts: a local webhook receiver (an
 * HTTP server) that checks the HMAC signature, and a real SMTP listener
 * (`smtp-server`) that Tether's nodemailer talks to. A rule's alarm is raised
 * and cleared by MQTT telemetry; deliveries are logged, retried, replayed.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, connectMqtt, httpJson, publish, startServer, until, type TestServer } from './helpers.js';
import { startSmtp, type PrivateSmtp, type ReceivedMail } from './private-smtp.js';

type Json = Record<string, unknown>;
interface Hook {
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
  path: string;
}

let s: TestServer;
let receiver: http.Server;
let receiverUrl: string;
const hooks: Hook[] = [];
/** What the receiver answers: 200, 500, or 'hang' (never answers). */
const behaviour: Record<string, 200 | 500 | 'hang'> = {};
let smtp: PrivateSmtp;
let mails: ReceivedMail[] = [];

const api = async (method: string, path: string, body?: unknown) =>
  (await httpJson(`${s.httpUrl}${path}`, { method, token: s.api.token!, body: body === undefined ? undefined : JSON.stringify(body) })) as {
    status: number;
    body: Json & { items?: Json[]; error?: { code: string } };
  };

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const path = req.url ?? '/';
      hooks.push({ headers: req.headers, body, at: Date.now(), path: req.url ?? '/' });
      const b = behaviour[path] ?? 200;
      if (b === 'hang') return; // never answers
      res.writeHead(b, { 'content-type': 'text/plain' }).end(b === 200 ? 'ok' : 'receiver broken');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  smtp = await startSmtp();
  mails = smtp.mails;
  s = await startServer({ TETHER_SMTP_URL: smtp.url, TETHER_SMTP_FROM: 'Tether <alarms@tether.test>' });
});

afterAll(async () => {
  await s?.close();
  receiver?.closeAllConnections();
  await new Promise((r) => receiver?.close(r));
  await smtp?.close();
});

describe('notification targets', () => {
  it('refuses a webhook that is not http(s) or that points at this server, with TARGET_INVALID', async () => {
    const port = new URL(s.httpUrl).port;
    // Another address of this machine (an interface's, if it has one besides loopback).
    const own = Object.values(os.networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
    const self = [`${s.httpUrl}/api/v1/devices`, `http://localhost:${port}/x`, `http://127.0.0.2:${port}/x`, `http://[::1]:${port}/x`];
    if (own) self.push(`http://${own}:${port}/x`);
    for (const url of ['ftp://example.com/hook', 'file:///etc/passwd', 'not a url', ...self]) {
      const r = await api('POST', '/api/v1/notification-targets', { name: `bad ${url}`, kind: 'webhook', config: { url } });
      expect(r, url).toMatchObject({ status: 400, body: { error: { code: 'TARGET_INVALID' } } });
    }
    expect((await api('POST', '/api/v1/notification-targets', { name: 'bad mail', kind: 'email', config: { to: ['nobody'] } })).body.error).toMatchObject({
      code: 'TARGET_INVALID',
    });
  });
});

describe('an alarm told to a webhook and by e-mail', () => {
  it('signs the webhook, e-mails the recipients, logs each delivery, and tells the clear too; one alarm row throughout', async () => {
    const hook = await api('POST', '/api/v1/notification-targets', { name: 'ops webhook', kind: 'webhook', config: { url: `${receiverUrl}/ops` } });
    expect(hook.status).toBe(201);
    const secret = hook.body.secret as string;
    expect(secret).toMatch(/^[\w-]{20,}$/);
    // The secret is shown once.
    expect((await api('GET', `/api/v1/notification-targets/${hook.body.id}`)).body).not.toHaveProperty('secret');
    const mail = await api('POST', '/api/v1/notification-targets', { name: 'ops mail', kind: 'email', config: { to: ['oncall@plant.test'] } });
    expect(mail.status).toBe(201);

    const d = await s.api.devices.create({ name: 'boiler-n1' });
    const dev = await connectMqtt(s.mqttUrl, { username: d.id, password: d.token });
    await publish(dev, `devices/${d.id}/telemetry`, JSON.stringify({ temperature: 60 }));
    const rule = await api('POST', '/api/v1/alarm-rules', {
      scope: 'device',
      scopeId: d.id,
      name: 'boiler too hot',
      kind: 'threshold',
      key: 'temperature',
      condition: { op: '>', value: 80 },
      clear: { op: '<', value: 75 },
      severity: 'critical',
      message: '{{device.name}} temperature {{value}} °C',
      notify: [hook.body.id, mail.body.id],
    });
    expect(rule.status).toBe(201);

    const sentAt = Date.now();
    await publish(dev, `devices/${d.id}/telemetry`, JSON.stringify({ temperature: 85 }));
    const raised = await until(() => hooks.find((h) => h.headers['x-tether-event'] === 'alarm.raised' && h.body.includes(d.id)));
    console.log(`publish → signed webhook delivered in ${raised.at - sentAt} ms`);
    const ts = raised.headers['x-tether-timestamp'] as string;
    expect(raised.headers['x-tether-signature']).toBe(`sha256=${createHmac('sha256', secret).update(`${ts}.${raised.body}`).digest('hex')}`);
    expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(60);
    const body = JSON.parse(raised.body) as { event: string; alarm: Json };
    expect(body).toMatchObject({
      event: 'alarm.raised',
      alarm: { deviceId: d.id, severity: 'critical', state: 'active', message: 'boiler-n1 temperature 85 °C' },
    });

    const got = await until(() => mails.find((m) => m.raw.includes('boiler-n1 temperature 85')));
    expect(got.to).toEqual(['oncall@plant.test']);
    expect(got.raw).toMatch(/Subject: \[critical\] boiler-n1 temperature 85 °C|Subject: =\?UTF-8\?/);
    expect(got.raw).toContain('From: Tether <alarms@tether.test>');

    // Repeats count on the alarm and notify nobody again; the clear is told.
    await publish(dev, `devices/${d.id}/telemetry`, JSON.stringify({ temperature: 90 }));
    await publish(dev, `devices/${d.id}/telemetry`, JSON.stringify({ temperature: 70 }));
    await until(() => hooks.find((h) => h.headers['x-tether-event'] === 'alarm.cleared' && h.body.includes(d.id)));
    expect(hooks.filter((h) => h.headers['x-tether-event'] === 'alarm.raised' && h.body.includes(d.id))).toHaveLength(1);
    const alarms = (await api('GET', `/api/v1/alarms?deviceId=${d.id}`)).body.items!;
    expect(alarms).toHaveLength(1);
    expect(alarms[0]).toMatchObject({ count: 2, state: 'cleared_unacknowledged' });

    const log = await until(async () => {
      const r = (await api('GET', `/api/v1/notification-deliveries?alarmId=${alarms[0]!.id}`)).body.items!;
      return r.length === 4 && r.every((x) => x.status === 'delivered') ? r : null;
    });
    expect(log.map((x) => x.event).sort()).toEqual(['alarm.cleared', 'alarm.cleared', 'alarm.raised', 'alarm.raised']);
    expect(log.find((x) => x.targetId === hook.body.id)).toMatchObject({ lastStatusCode: 200, attempts: 1 });
    expect(log.find((x) => x.targetId === mail.body.id)).toMatchObject({ lastStatusCode: 250 });
    await dev.endAsync();
  });

  it('a receiver that answers 500 is retried and logged; one that hangs delays no other delivery; a fixed one gets the replay', async () => {
    behaviour['/broken'] = 500;
    behaviour['/hangs'] = 'hang';
    const broken = await api('POST', '/api/v1/notification-targets', { name: 'broken', kind: 'webhook', config: { url: `${receiverUrl}/broken` } });
    const hangs = await api('POST', '/api/v1/notification-targets', { name: 'hangs', kind: 'webhook', config: { url: `${receiverUrl}/hangs` } });
    const good = await api('POST', '/api/v1/notification-targets', { name: 'good', kind: 'webhook', config: { url: `${receiverUrl}/good` } });
    // The hanging receiver takes the workers first; the good one must still be told at once.
    for (let i = 0; i < 3; i++) expect((await api('POST', `/api/v1/notification-targets/${hangs.body.id}/test`)).status).toBe(202);
    const start = Date.now();
    expect((await api('POST', `/api/v1/notification-targets/${good.body.id}/test`)).status).toBe(202);
    const goodHook = await until(
      () => hooks.find((h) => h.headers['x-tether-event'] === 'test' && (JSON.parse(h.body) as { message: string }).message.includes('"good"')),
      10_000,
    );
    expect(goodHook.at - start).toBeLessThan(5_000);

    const test = await api('POST', `/api/v1/notification-targets/${broken.body.id}/test`);
    const failed = await until(async () => {
      const r = (await api('GET', `/api/v1/notification-deliveries?targetId=${broken.body.id}`)).body.items!;
      return r[0]?.status === 'failed' ? r[0] : null;
    });
    expect(failed).toMatchObject({ id: test.body.id, lastStatusCode: 500, lastError: expect.stringContaining('500') });
    // Retried with backoff (about 2 s later).
    await until(async () => ((await api('GET', `/api/v1/notification-deliveries?targetId=${broken.body.id}`)).body.items![0]!.attempts as number) >= 2, 20_000);

    behaviour['/broken'] = 200;
    const replay = await api('POST', `/api/v1/notification-deliveries/${test.body.id}/replay`);
    expect(replay.status).toBe(202);
    const delivered = await until(async () => {
      const r = (await api('GET', `/api/v1/notification-deliveries?targetId=${broken.body.id}`)).body.items![0]!;
      return r.status === 'delivered' ? r : null;
    }, 20_000);
    expect(delivered).toMatchObject({ lastStatusCode: 200 });
  }, 60_000);
});

describe('first attempts at once, retries as jobs', () => {
  const jobsOf = (deliveryId: string) =>
    s.tether.db.query<{ state: string }>(`SELECT state FROM pgboss.job WHERE name = 'notification-deliver' AND data ->> 'deliveryId' = $1`, [deliveryId]);

  it('a delivery that goes through at once needs no job; a failed one is retried by a job', async () => {
    behaviour['/once-broken'] = 500;
    const ok = await api('POST', '/api/v1/notification-targets', { name: 'at once', kind: 'webhook', config: { url: `${receiverUrl}/at-once` } });
    const bad = await api('POST', '/api/v1/notification-targets', { name: 'once broken', kind: 'webhook', config: { url: `${receiverUrl}/once-broken` } });
    const a = await api('POST', `/api/v1/notification-targets/${ok.body.id as string}/test`);
    const b = await api('POST', `/api/v1/notification-targets/${bad.body.id as string}/test`);
    await until(async () => (await api('GET', `/api/v1/notification-deliveries?targetId=${ok.body.id as string}`)).body.items![0]?.status === 'delivered');
    expect(await jobsOf(a.body.id as string)).toEqual([]);
    await until(async () => (await jobsOf(b.body.id as string)).length === 1);
    behaviour['/once-broken'] = 200;
    const d = await until(async () => {
      const r = (await api('GET', `/api/v1/notification-deliveries?targetId=${bad.body.id as string}`)).body.items![0]!;
      return r.status === 'delivered' ? r : null;
    }, 20_000);
    expect(d.attempts).toBe(2);
  }, 30_000);

  it('a delivery whose node stopped before its first attempt is queued by a worker and delivered, once', async () => {
    const t = await api('POST', '/api/v1/notification-targets', { name: 'stranded', kind: 'webhook', config: { url: `${receiverUrl}/stranded` } });
    const [me] = await s.tether.db.query<{ org_id: string }>('SELECT org_id FROM notification_targets WHERE id = $1', [t.body.id]);
    // As the outbox's transaction left it when its node died: planned, never attempted, never queued.
    const [row] = await s.tether.db.query<{ id: string }>(
      `INSERT INTO notification_deliveries (org_id, target_id, event, payload, created_at, updated_at)
       VALUES ($1, $2, 'test', '{"event":"test","message":"stranded"}', now() - interval '3 minutes', now() - interval '3 minutes') RETURNING id`,
      [me!.org_id, t.body.id],
    );
    // Planned a moment ago: its node may still be attempting it, so it is left alone.
    const [fresh] = await s.tether.db.query<{ id: string }>(
      `INSERT INTO notification_deliveries (org_id, target_id, event, payload) VALUES ($1, $2, 'test', '{"event":"test","message":"fresh"}') RETURNING id`,
      [me!.org_id, t.body.id],
    );
    expect(await s.tether.notifications.recoverStranded()).toBe(1);
    expect(await s.tether.notifications.recoverStranded()).toBe(0);
    const hook = await until(() => hooks.find((h) => h.path === '/stranded'), 10_000);
    expect(hook.headers['x-tether-delivery']).toBe(row!.id);
    await until(
      async () =>
        (await s.tether.db.query<{ status: string }>('SELECT status FROM notification_deliveries WHERE id = $1', [row!.id]))[0]!.status === 'delivered',
    );
    expect(await jobsOf(fresh!.id)).toEqual([]);
    await new Promise((r) => setTimeout(r, 500));
    expect(hooks.filter((h) => h.path === '/stranded')).toHaveLength(1);
  }, 30_000);
});

describe('members as recipients', () => {
  it('mails the members named, or holding a role, at their address when the alarm is raised', async () => {
    const me = await s.api.me();
    const bad = await api('POST', '/api/v1/notification-targets', {
      name: 'nobody',
      kind: 'email',
      config: { users: ['00000000-0000-4000-8000-000000000000'] },
    });
    expect(bad).toMatchObject({ status: 404, body: { error: { code: 'USER_NOT_FOUND' } } });
    expect((await api('POST', '/api/v1/notification-targets', { name: 'empty', kind: 'email', config: {} })).body.error).toMatchObject({
      code: 'TARGET_INVALID',
    });
    const owners = await api('POST', '/api/v1/notification-targets', { name: 'owners', kind: 'email', config: { roles: ['owner'] } });
    const byId = await api('POST', '/api/v1/notification-targets', { name: 'me by id', kind: 'email', config: { users: [me.id] } });
    expect([owners.status, byId.status]).toEqual([201, 201]);
    const test = await api('POST', `/api/v1/notification-targets/${owners.body.id as string}/test`);
    expect(test.status).toBe(202);
    const got = await until(() => mails.find((m) => m.raw.includes('A test of the notification target "owners"')));
    expect(got.to).toEqual([ADMIN.email]);
    await api('POST', `/api/v1/notification-targets/${byId.body.id as string}/test`);
    expect((await until(() => mails.find((m) => m.raw.includes('"me by id"')))).to).toEqual([ADMIN.email]);
  });
});

describe('escalation, quiet hours and the storm limit', () => {
  const target = async (name: string) =>
    (await api('POST', '/api/v1/notification-targets', { name, kind: 'webhook', config: { url: `${receiverUrl}/${name}` } })).body;
  const hooksAt = (name: string) => hooks.filter((h) => h.path === `/${name}`);
  const boiler = async (name: string) => {
    const d = await s.api.devices.create({ name });
    const dev = await connectMqtt(s.mqttUrl, { username: d.id, password: d.token });
    await publish(dev, `devices/${d.id}/telemetry`, JSON.stringify({ temperature: 60 }));
    return { d, dev, hot: () => publish(dev, `devices/${d.id}/telemetry`, JSON.stringify({ temperature: 95 })) };
  };
  const hotRule = (name: string, scopeId: string, extra: Json) =>
    api('POST', '/api/v1/alarm-rules', {
      scope: 'device',
      scopeId,
      name,
      kind: 'threshold',
      key: 'temperature',
      condition: { op: '>', value: 80 },
      clear: { op: '<', value: 75 },
      severity: 'major',
      message: '{{device.name}} hot',
      ...extra,
    });

  it('tells the escalation targets when an alarm stays unacknowledged, once, and not when it was acknowledged', async () => {
    const first = await target('first-line');
    const boss = await target('escalation');
    const a = await boiler('escalating');
    const b = await boiler('acknowledged-in-time');
    for (const x of [a, b])
      expect((await hotRule(`hot ${x.d.name}`, x.d.id, { notify: [first.id], escalate: { afterS: 600, notify: [boss.id] } })).status).toBe(201);
    await a.hot();
    await b.hot();
    await until(() => hooksAt('first-line').filter((h) => h.body.includes('alarm.raised')).length >= 2);
    const [alarmB] = (await api('GET', `/api/v1/alarms?deviceId=${b.d.id}`)).body.items!;
    await api('POST', `/api/v1/alarms/${alarmB!.id}/acknowledge`, {});
    await s.tether.alarms!.sweep(new Date(Date.now() + 599_000));
    await s.tether.alarms!.sweep(new Date(Date.now() + 601_000));
    await s.tether.alarms!.sweep(new Date(Date.now() + 700_000));
    const escalated = await until(() => hooksAt('escalation').find((h) => h.headers['x-tether-event'] === 'alarm.escalated'));
    expect(JSON.parse(escalated.body)).toMatchObject({ event: 'alarm.escalated', alarm: { deviceId: a.d.id, state: 'active' } });
    await new Promise((r) => setTimeout(r, 1500));
    expect(hooksAt('escalation')).toHaveLength(1);
    const [alarmA] = (await api('GET', `/api/v1/alarms?deviceId=${a.d.id}`)).body.items!;
    expect(((await api('GET', `/api/v1/alarms/${alarmA!.id}`)).body.history as Json[]).map((h) => h.action)).toEqual(['raised', 'escalated']);
    await a.dev.endAsync();
    await b.dev.endAsync();
  });

  it('holds notifications during quiet hours, to be sent when they end', async () => {
    const quiet = await target('quiet');
    const a = await boiler('quiet-boiler');
    const hhmm = (d: Date) => d.toISOString().slice(11, 16);
    const from = new Date(Date.now() - 3_600_000);
    const to = new Date(Date.now() + 3_600_000);
    expect((await hotRule('hot at night', a.d.id, { notify: [quiet.id], quietHours: { from: hhmm(from), to: hhmm(to), timezone: 'UTC' } })).status).toBe(201);
    await a.hot();
    const held = await until(async () => (await api('GET', `/api/v1/notification-deliveries?targetId=${quiet.id as string}`)).body.items![0]);
    expect(held).toMatchObject({ status: 'pending', attempts: 0, event: 'alarm.raised' });
    // Sent when the hours end (to the minute).
    expect(Math.abs(Date.parse(held.deliverAfter as string) - Date.parse(`${to.toISOString().slice(0, 16)}:00Z`))).toBeLessThan(61_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(hooksAt('quiet')).toHaveLength(0);
    await a.dev.endAsync();
  });

  it('past the storm limit, notifications are held and summarised after the hour, one summary per target', async () => {
    const storm = await target('storm');
    const devices = await Promise.all([0, 1, 2].map((i) => boiler(`storm-${i}`)));
    const rule = await api('POST', '/api/v1/alarm-rules', {
      scope: 'org',
      name: 'storm rule',
      kind: 'device_alert',
      key: 'storm',
      condition: {},
      severity: 'warning',
      message: 'storm at {{device.name}}',
      notify: [storm.id],
      stormLimit: 1,
    });
    expect(rule.status).toBe(201);
    for (const x of devices) await publish(x.dev, `devices/${x.d.id}/alerts`, JSON.stringify({ message: 'storm', severity: 'warning', type: 'storm' }));
    const log = await until(async () => {
      const items = (await api('GET', `/api/v1/notification-deliveries?targetId=${storm.id as string}`)).body.items!;
      return items.length === 3 ? items : null;
    });
    await until(async () => {
      const items = (await api('GET', `/api/v1/notification-deliveries?targetId=${storm.id as string}`)).body.items!;
      return items.filter((d) => d.status === 'delivered').length === 1 ? items : null;
    });
    expect(log.filter((d) => d.status === 'summarised')).toHaveLength(2);
    await until(() => hooksAt('storm').length === 1);
    // The summary job runs an hour later; here its handler is run now.
    const hourStart = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000).toISOString();
    await s.tether.notifications.summarise(rule.body.id as string, hourStart);
    const summary = await until(() => hooksAt('storm').find((h) => h.headers['x-tether-event'] === 'alarm.summary'));
    expect(JSON.parse(summary.body)).toMatchObject({ event: 'alarm.summary', heldBack: 2, alarms: 2 });
    for (const x of devices) await x.dev.endAsync();
  });
});
