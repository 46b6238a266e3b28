/**
 * Issue 14, fleets through the real server: devices report their firmware
 * version as devices do (fw_version in their attributes), and a selector fleet
 * "boilers below 2.0.0" holds exactly the boilers whose version is below 2.0.0,
 * compared as versions, now and after a device updates.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpJson, startServer, type TestServer } from './helpers.js';

let s: TestServer;
let boilerTemplate: string;
let pumpTemplate: string;
let plant: string;
const devices: Record<string, { id: string; token: string }> = {};

const api = (method: string, p: string, body?: unknown) =>
  httpJson(`${s.httpUrl}${p}`, { method, token: s.api.token!, body: body === undefined ? undefined : JSON.stringify(body) });

/** What the device itself reports, over the device API. */
async function reportVersion(name: string, version: string): Promise<void> {
  const r = await httpJson(`${s.httpUrl}/api/v1/device/attributes`, {
    method: 'POST',
    token: devices[name]!.token,
    body: JSON.stringify({ fw_version: version }),
  });
  expect(r.status).toBe(202);
}

const names = (items: { name: string }[]) => items.map((d) => d.name).sort();

beforeAll(async () => {
  s = await startServer();
  boilerTemplate = (await api('POST', '/api/v1/templates', { name: 'Boiler' })).body.id as string;
  pumpTemplate = (await api('POST', '/api/v1/templates', { name: 'Pump' })).body.id as string;
  plant = (await s.api.projects.create({ name: 'Plant' })).id;
  const make = async (name: string, templateId: string, version: string | null, extra: { tags?: string[]; projectId?: string } = {}) => {
    const r = await api('POST', '/api/v1/devices', { name, templateId, ...extra });
    expect(r.status).toBe(201);
    devices[name] = { id: r.body.id as string, token: r.body.token as string };
    if (version !== null) await reportVersion(name, version);
  };
  await make('boiler-1.9', boilerTemplate, '1.9.0', { tags: ['north'], projectId: plant });
  await make('boiler-1.10', boilerTemplate, '1.10.0', { tags: ['north', 'roof'], projectId: plant });
  await make('boiler-v1.2', boilerTemplate, 'v1.2');
  await make('boiler-2.0-rc', boilerTemplate, '2.0.0-rc.1');
  await make('boiler-2.0', boilerTemplate, '2.0.0', { tags: ['north'] });
  await make('boiler-10.0', boilerTemplate, '10.0.0');
  await make('boiler-silent', boilerTemplate, null);
  await make('boiler-odd', boilerTemplate, 'factory build');
  await make('pump-1.0', pumpTemplate, '1.0.0', { tags: ['north'] });
});

afterAll(async () => {
  await s?.close();
});

describe('fleets', () => {
  let fleetId: string;

  it('previews "boilers below 2.0.0" by comparing versions, prereleases below their release, no version never matching', async () => {
    const r = await api('POST', '/api/v1/fleets/preview', { templateId: boilerTemplate, firmware: '<2.0.0' });
    expect(r.status).toBe(200);
    expect(r.body.total).toBe(4);
    expect(names(r.body.items as { name: string }[])).toEqual(['boiler-1.10', 'boiler-1.9', 'boiler-2.0-rc', 'boiler-v1.2']);
    const one = (r.body.items as { name: string; firmwareVersion: string; online: boolean }[]).find((d) => d.name === 'boiler-1.10')!;
    expect(one).toMatchObject({ firmwareVersion: '1.10.0', templateId: boilerTemplate, projectId: plant, tags: ['north', 'roof'] });
    // A limit cuts the list, not the count.
    const limited = await api('POST', '/api/v1/fleets/preview?limit=2', { templateId: boilerTemplate, firmware: '<2.0.0' });
    expect([limited.body.total, (limited.body.items as unknown[]).length]).toEqual([4, 2]);
  });

  it('combines criteria: project, tags (all of them), template, version', async () => {
    const north = await api('POST', '/api/v1/fleets/preview', { tags: ['north'] });
    expect(names(north.body.items as { name: string }[])).toEqual(['boiler-1.10', 'boiler-1.9', 'boiler-2.0', 'pump-1.0']);
    const northRoof = await api('POST', '/api/v1/fleets/preview', { tags: ['north', 'roof'] });
    expect(names(northRoof.body.items as { name: string }[])).toEqual(['boiler-1.10']);
    const plantOld = await api('POST', '/api/v1/fleets/preview', { projectId: plant, firmware: '>=1.9.0 <1.10.0' });
    expect(names(plantOld.body.items as { name: string }[])).toEqual(['boiler-1.9']);
  });

  it('a saved selector fleet is evaluated when it is read: a device that updates leaves it', async () => {
    const r = await api('POST', '/api/v1/fleets', {
      name: 'Boilers below 2.0.0',
      kind: 'selector',
      selector: { templateId: boilerTemplate, firmware: '<2.0.0' },
    });
    expect(r.status).toBe(201);
    fleetId = r.body.id as string;
    expect((await api('GET', `/api/v1/fleets/${fleetId}/devices`)).body.total).toBe(4);
    await reportVersion('boiler-1.9', '2.0.1');
    const after = await api('GET', `/api/v1/fleets/${fleetId}/devices`);
    expect(names(after.body.items as { name: string }[])).toEqual(['boiler-1.10', 'boiler-2.0-rc', 'boiler-v1.2']);
    const renamed = await api('PATCH', `/api/v1/fleets/${fleetId}`, { name: 'Old boilers', selector: { templateId: boilerTemplate, firmware: '<1.5.0' } });
    expect(renamed.body).toMatchObject({ name: 'Old boilers', kind: 'selector', selector: { templateId: boilerTemplate, firmware: '<1.5.0' } });
    expect(names((await api('GET', `/api/v1/fleets/${fleetId}/devices`)).body.items as { name: string }[])).toEqual(['boiler-v1.2']);
    expect((await api('GET', '/api/v1/fleets')).body.items).toEqual([expect.objectContaining({ id: fleetId, name: 'Old boilers' })]);
  });

  it('a static fleet holds the devices it lists, added and removed', async () => {
    const r = await api('POST', '/api/v1/fleets', { name: 'Pilot', kind: 'static', deviceIds: [devices['boiler-2.0']!.id, devices['pump-1.0']!.id] });
    expect(r.status).toBe(201);
    const id = r.body.id as string;
    expect(names((await api('GET', `/api/v1/fleets/${id}/devices`)).body.items as { name: string }[])).toEqual(['boiler-2.0', 'pump-1.0']);
    const changed = await api('POST', `/api/v1/fleets/${id}/devices`, { add: [devices['boiler-odd']!.id], remove: [devices['pump-1.0']!.id] });
    expect(names(changed.body.items as { name: string }[])).toEqual(['boiler-2.0', 'boiler-odd']);
    // A deleted device leaves the fleet with it.
    expect((await api('DELETE', `/api/v1/devices/${devices['boiler-odd']!.id}`)).status).toBe(204);
    expect((await api('GET', `/api/v1/fleets/${id}/devices`)).body.total).toBe(1);
    expect((await api('DELETE', `/api/v1/fleets/${id}`)).status).toBe(204);
    expect((await api('GET', `/api/v1/fleets/${id}`)).body.error?.code).toBe('FLEET_NOT_FOUND');
  });

  it('refuses what does not parse or does not exist, with stable codes, and changes nothing', async () => {
    const code = async (method: string, p: string, body: unknown) => {
      const r = await api(method, p, body);
      return `${r.status} ${r.body.error?.code}`;
    };
    expect(await code('POST', '/api/v1/fleets/preview', { firmware: 'below two' })).toBe('400 FLEET_SELECTOR_INVALID');
    expect(await code('POST', '/api/v1/fleets/preview', {})).toBe('400 FLEET_SELECTOR_INVALID');
    expect(await code('POST', '/api/v1/fleets/preview', { projectId: randomUUID() })).toBe('404 PROJECT_NOT_FOUND');
    expect(await code('POST', '/api/v1/fleets/preview', { templateId: randomUUID() })).toBe('404 TEMPLATE_NOT_FOUND');
    expect(await code('POST', '/api/v1/fleets', { name: 'x', kind: 'selector' })).toBe('400 FLEET_SELECTOR_INVALID');
    expect(await code('POST', '/api/v1/fleets', { name: 'x', kind: 'static', deviceIds: [randomUUID()] })).toBe('404 DEVICE_NOT_FOUND');
    expect(await code('POST', '/api/v1/fleets', { name: 'x', kind: 'static', selector: { tags: ['north'] } })).toBe('400 FLEET_SELECTOR_INVALID');
    expect(await code('POST', '/api/v1/fleets', { name: 'old boilers', kind: 'static' })).toBe('409 NAME_TAKEN');
    expect(await code('POST', `/api/v1/fleets/${fleetId}/devices`, { add: [devices['pump-1.0']!.id] })).toBe('400 FLEET_SELECTOR_INVALID');
    expect(await code('PATCH', `/api/v1/fleets/${fleetId}`, { selector: { firmware: '<<2' } })).toBe('400 FLEET_SELECTOR_INVALID');
    expect((await api('GET', `/api/v1/fleets/${fleetId}`)).body.selector).toEqual({ templateId: boilerTemplate, firmware: '<1.5.0' });
    expect((await api('GET', '/api/v1/fleets')).body.items).toHaveLength(1);
  });

  it('another org cannot select this org’s project or list its devices in a fleet', async () => {
    const orgB = (await s.api.orgs.create('Org B')).id;
    const b = await httpJson(`${s.httpUrl}/api/v1/auth/login`, {
      method: 'POST',
      body: JSON.stringify({ email: 'admin@example.com', password: 'admin-password-1', orgId: orgB }),
    });
    const tokenB = b.body.accessToken as string;
    const asB = (method: string, p: string, body: unknown) => httpJson(`${s.httpUrl}${p}`, { method, token: tokenB, body: JSON.stringify(body) });
    expect((await asB('POST', '/api/v1/fleets/preview', { projectId: plant })).body.error?.code).toBe('PROJECT_NOT_FOUND');
    expect((await asB('POST', '/api/v1/fleets/preview', { templateId: boilerTemplate })).body.error?.code).toBe('TEMPLATE_NOT_FOUND');
    expect((await asB('POST', '/api/v1/fleets', { name: 'steal', kind: 'static', deviceIds: [devices['pump-1.0']!.id] })).body.error?.code).toBe(
      'DEVICE_NOT_FOUND',
    );
    // A selector over tags alone only sees org B's devices: none.
    expect((await asB('POST', '/api/v1/fleets/preview', { tags: ['north'] })).body).toMatchObject({ total: 0, items: [] });
  });
});
