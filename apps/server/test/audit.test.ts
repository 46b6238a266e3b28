/**
 * The audit log through the real server: each kind of write leaves an entry
 * with its actor, action, target and IP; the filters and paging of
 * GET /api/v1/audit; viewers are refused; no secret used here is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TetherClient, type AuditEntry } from '@tether/api-client';
import { ADMIN, httpJson, startServer, type TestServer } from './helpers.js';

let s: TestServer;
let admin: TetherClient;
let adminId: string;
/** Every secret this test sends or is given: none may appear in audit_log. */
const secrets: string[] = [];
const ids = {} as Record<'user' | 'key' | 'project' | 'device' | 'labelled' | 'template' | 'rule' | 'target', string>;

const call = (method: string, path: string, body?: unknown, token = admin.token!, headers: Record<string, string> = {}) =>
  httpJson(`${s.httpUrl}${path}`, { method, token, headers, body: body === undefined ? undefined : JSON.stringify(body) });

async function entries(q: Record<string, string> = {}, token = admin.token!): Promise<AuditEntry[]> {
  const r = await httpJson(`${s.httpUrl}/api/v1/audit?${new URLSearchParams({ limit: '500', ...q })}`, { token });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.items as AuditEntry[];
}

async function one(action: string, targetId?: string): Promise<AuditEntry> {
  const found = (await entries({ action, ...(targetId ? { targetId } : {}) }))[0];
  expect(found, action).toBeDefined();
  return found!;
}

beforeAll(async () => {
  s = await startServer();
  admin = s.api;
  adminId = (await admin.me()).id!;
  secrets.push(ADMIN.password);
  // The request comes through a proxy: its forwarded address is the one recorded.
  const asProxy = { 'x-forwarded-for': '203.0.113.7' };

  const user = await call(
    'POST',
    '/api/v1/users',
    { email: 'op@example.com', password: 'op-password-secret-1', name: 'Op', role: 'operator' },
    undefined,
    asProxy,
  );
  expect(user.status).toBe(201);
  ids.user = user.body.id as string;
  secrets.push('op-password-secret-1');
  expect((await call('PUT', `/api/v1/users/${ids.user}`, { role: 'viewer', name: 'Op Viewer', password: 'new-op-password-2' })).status).toBe(200);
  secrets.push('new-op-password-2');

  const key = await admin.apiKeys.create({ name: 'ci-key', role: 'operator' });
  ids.key = key.id;
  secrets.push(key.key);
  await admin.apiKeys.revoke(key.id);

  const project = await admin.projects.create({ name: 'Audit plant' });
  ids.project = project.id;
  await admin.projects.update(project.id, { description: 'changed' });

  const device = await admin.devices.create({ name: 'audit-dev', projectId: project.id });
  ids.device = device.id;
  secrets.push(device.token);
  await admin.devices.update(device.id, { tags: ['x'] });
  const rotated = await call('POST', `/api/v1/devices/${device.id}/credentials/rotate`);
  expect(rotated.status).toBe(200);
  secrets.push(rotated.body.token as string);
  expect((await call('POST', `/api/v1/devices/${device.id}/credentials/revoke`)).status).toBe(204);

  const claimed = await call('POST', '/api/v1/devices', { name: 'labelled', claimCode: true });
  expect(claimed.status).toBe(201);
  ids.labelled = claimed.body.id as string;
  secrets.push(claimed.body.token as string, claimed.body.claimCode as string);
  expect((await call('DELETE', `/api/v1/devices/${ids.labelled}`)).status).toBe(204);

  expect((await call('PUT', `/api/v1/projects/${project.id}/config/wifi_password`, { value: 'wifi-secret-value-9' })).status).toBe(204);
  secrets.push('wifi-secret-value-9');

  const template = await call('POST', '/api/v1/templates', { name: 'Audit template' });
  expect(template.status).toBe(201);
  ids.template = template.body.id as string;

  const rule = await call('POST', '/api/v1/alarm-rules', {
    scope: 'org',
    name: 'Audit rule',
    kind: 'device_alert',
    key: 'leak',
    condition: {},
    severity: 'critical',
    message: 'leak',
  });
  expect(rule.status).toBe(201);
  ids.rule = rule.body.id as string;
  expect((await call('DELETE', `/api/v1/alarm-rules/${ids.rule}`)).status).toBe(204);

  // A webhook address that is itself a credential, and the signing secret the server makes.
  const hook = 'https://hooks.example.com/services/hook-path-secret-5';
  const target = await call('POST', '/api/v1/notification-targets', { name: 'Ops hook', kind: 'webhook', config: { url: hook } });
  expect(target.status, JSON.stringify(target.body)).toBe(201);
  ids.target = target.body.id as string;
  secrets.push('hook-path-secret-5', target.body.secret as string);

  // Sign-ins: a wrong password of a known account, an unknown e-mail, and a success.
  const wrong = await call('POST', '/api/v1/auth/login', { email: ADMIN.email, password: 'guessed-wrong-pw' }, '', asProxy);
  expect(wrong.status).toBe(401);
  secrets.push('guessed-wrong-pw');
  expect((await call('POST', '/api/v1/auth/login', { email: 'nobody@example.com', password: 'nobody-pw-123' }, '')).status).toBe(401);
  const signedIn = new TetherClient({ baseUrl: s.httpUrl });
  const session = await signedIn.login('op@example.com', 'new-op-password-2');
  secrets.push(session.accessToken, session.refreshToken);
}, 60_000);

afterAll(async () => s?.close());

describe('every kind of write is recorded', () => {
  it.each([
    ['user.create', 'user', () => ids.user],
    ['user.role_change', 'user', () => ids.user],
    ['user.update', 'user', () => ids.user],
    ['api_key.create', 'api_key', () => ids.key],
    ['api_key.revoke', 'api_key', () => ids.key],
    ['project.create', 'project', () => ids.project],
    ['project.update', 'project', () => ids.project],
    ['device.create', 'device', () => ids.device],
    ['device.update', 'device', () => ids.device],
    ['device.credentials_rotate', 'device', () => ids.device],
    ['device.credentials_revoke', 'device', () => ids.device],
    ['device.claim_code', 'device', () => ids.labelled],
    ['device.delete', 'device', () => ids.labelled],
    ['config.set', 'project', () => ids.project],
    ['template.create', 'template', () => ids.template],
    ['rule.create', 'rule', () => ids.rule],
    ['rule.delete', 'rule', () => ids.rule],
    ['notification_target.create', 'notification_target', () => ids.target],
  ])('%s: actor, target and IP', async (action, kind, id) => {
    const e = await one(action, id());
    expect(e.actor).toMatchObject({ kind: 'user', id: adminId, email: ADMIN.email });
    expect(e.target).toEqual({ kind, id: id() });
    expect(e.ip).toBeTruthy();
    expect(Date.now() - Date.parse(e.at)).toBeLessThan(120_000);
  });

  it('the forwarded address is the one recorded, and details say what changed', async () => {
    expect((await one('user.create')).ip).toBe('203.0.113.7');
    expect((await one('user.create')).details).toEqual({ email: 'op@example.com', role: 'operator' });
    expect((await one('user.role_change')).details).toMatchObject({ from: 'operator', to: 'viewer' });
    expect((await one('user.update')).details).toMatchObject({ name: 'Op Viewer', password: 'changed' });
    expect((await one('config.set')).details).toEqual({ key: 'wifi_password' });
  });

  it('sign-ins: a success, and a failure of a known account from its address; an unknown e-mail is in no org', async () => {
    const ok = await one('auth.login', ids.user);
    expect(ok.actor).toMatchObject({ kind: 'user', id: ids.user, email: 'op@example.com' });
    const failed = await one('auth.login_failed', adminId);
    expect(failed).toMatchObject({ actor: { kind: 'anonymous', id: null }, ip: '203.0.113.7', details: { email: ADMIN.email, reason: 'wrong_password' } });
    expect(JSON.stringify(await entries())).not.toContain('nobody@example.com');
    const metrics = await fetch(`${s.httpUrl}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/tether_sign_ins_failed_total\{account="unknown"\} 1/);
  });
});

describe('GET /api/v1/audit', () => {
  it('filters by action prefix, actor, target kind and time, newest first', async () => {
    const devices = await entries({ action: 'device.' });
    expect(devices.length).toBeGreaterThanOrEqual(6);
    expect(devices.every((e) => e.action.startsWith('device.'))).toBe(true);
    const times = devices.map((e) => Date.parse(e.at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    // A prefix must end in a dot: "device" alone is an exact action, of which there is none.
    expect(await entries({ action: 'device' })).toEqual([]);
    const byOp = await entries({ actor: ids.user });
    expect(byOp.length).toBeGreaterThan(0);
    expect(byOp.every((e) => e.actor.id === ids.user)).toBe(true);
    expect((await entries({ targetKind: 'api_key' })).map((e) => e.action).sort()).toEqual(['api_key.create', 'api_key.revoke']);
    expect(await entries({ from: new Date(Date.now() + 60_000).toISOString() })).toEqual([]);
    expect((await entries({ to: new Date(Date.now() - 3_600_000).toISOString() })).length).toBe(0);
  });

  it('pages with the before cursor without gaps or repeats', async () => {
    const all = await entries();
    const seen: string[] = [];
    let before: string | null = null;
    do {
      const r = await httpJson(`${s.httpUrl}/api/v1/audit?${new URLSearchParams({ limit: '4', ...(before ? { before } : {}) })}`, { token: admin.token! });
      const page = r.body as unknown as { items: AuditEntry[]; nextBefore: string | null };
      seen.push(...page.items.map((e) => e.id));
      before = page.nextBefore;
    } while (before);
    expect(seen).toEqual(all.map((e) => e.id));
  });

  it('bad input is a 400; a viewer and an operator get 403', async () => {
    expect((await call('GET', '/api/v1/audit?limit=501')).status).toBe(400);
    expect((await call('GET', '/api/v1/audit?actor=nope')).status).toBe(400);
    expect((await call('GET', '/api/v1/audit?from=yesterday')).status).toBe(400);
    expect((await call('GET', '/api/v1/audit?colour=red')).status).toBe(400);
    const viewer = new TetherClient({ baseUrl: s.httpUrl });
    await viewer.login('op@example.com', 'new-op-password-2');
    const r = await call('GET', '/api/v1/audit', undefined, viewer.token!);
    expect(r.status).toBe(403);
    expect(r.body.error?.code).toBe('FORBIDDEN');
  });
});

describe('no secret is stored', () => {
  it('audit_log holds none of the passwords, tokens, keys and claim codes used', async () => {
    expect(secrets.length).toBeGreaterThan(10);
    const rows = await s.tether.db.query('SELECT * FROM audit_log');
    expect(rows.length).toBeGreaterThan(20);
    const text = JSON.stringify(rows);
    for (const secret of secrets) expect(text, 'a secret is in audit_log').not.toContain(secret);
  });
});
