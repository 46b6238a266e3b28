/**
 * Search (issue 17) through the real server: GET /devices?q= finds a device by
 * each field it is matched on, in any case; GET /properties matches in any
 * case; GET /search answers devices, projects and properties in groups, best
 * first, saying what matched. Another org's never appear; bad input is a 400.
 * On PGlite, or on PostgreSQL with DATABASE_URL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TetherClient, type CreatedDevice, type Project } from '@tether/api-client';
import { ADMIN, httpJson, startServer, type TestServer } from './helpers.js';

interface Match {
  id: string;
  name: string;
  matched: { field: string; text: string };
}
interface PropertyHit {
  entityKind: 'device' | 'project';
  entityId: string;
  entityName: string;
  name: string;
  value: string;
  matched: { field: string; text: string };
}
interface Results {
  devices: Match[];
  projects: Match[];
  properties: PropertyHit[];
}

let s: TestServer;
let orgB: TetherClient;
let station: CreatedDevice;
let pump: CreatedDevice;
let pumping: CreatedDevice;
let thermostat: CreatedDevice;
let boiler: Project;
let deviceB: CreatedDevice;

const get = (path: string, query: Record<string, string>, token = s.api.token) =>
  httpJson(`${s.httpUrl}/api/v1/${path}?${new URLSearchParams(query).toString()}`, { token });

async function search(q: string, token = s.api.token, limit?: number): Promise<Results> {
  const r = await get('search', { q, ...(limit ? { limit: String(limit) } : {}) }, token);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body as unknown as Results;
}

/** The names of the org's devices GET /devices?q= finds, oldest first. */
async function listed(q: string, client = s.api): Promise<string[]> {
  const page = await client.devices.list({ q, limit: 500 });
  expect(page.total).toBe(page.items.length);
  return page.items.map((d) => d.name).reverse();
}

async function setProperty(client: TetherClient, kind: 'devices' | 'projects', id: string, name: string, value: string) {
  const r = await httpJson(`${s.httpUrl}/api/v1/${kind}/${id}/properties/${name}`, { method: 'PUT', token: client.token, body: JSON.stringify({ value }) });
  expect(r.status).toBe(200);
}

beforeAll(async () => {
  s = await startServer();
  const api = s.api;
  boiler = await api.projects.create({ name: 'Boiler Room', description: 'Basement heating' });
  await api.projects.create({ name: 'Cold Store' });
  station = await api.devices.create({
    name: 'Pump Station North',
    serial: 'SN-PUMP-0001',
    projectId: boiler.id,
    tags: ['Hall-B', 'critical'],
    metadata: { location: { site: 'Rotterdam Harbour', floor: 3 }, model: 'PX-200', ports: ['north-gate'] },
  });
  pump = await api.devices.create({ name: 'pump' });
  pumping = await api.devices.create({ name: 'Big old pumping unit' });
  thermostat = await api.devices.create({ name: 'Thermostat 7' });
  await setProperty(api, 'devices', thermostat.id, 'asset', 'ASSET-4711');
  await setProperty(api, 'projects', boiler.id, 'owner', 'Facilities Team');

  // Org B holds look-alikes of everything above.
  const orgBId = (await api.orgs.create('Org B')).id;
  const adminInB = new TetherClient({ baseUrl: s.httpUrl });
  await adminInB.login(ADMIN.email, ADMIN.password, orgBId);
  await adminInB.users.create({ email: 'admin@b.test', password: 'admin-b-password', name: 'B Admin', role: 'admin' });
  orgB = new TetherClient({ baseUrl: s.httpUrl });
  await orgB.login('admin@b.test', 'admin-b-password');
  const projectB = await orgB.projects.create({ name: 'Boiler Room B', description: 'Basement heating' });
  deviceB = await orgB.devices.create({
    name: 'Pump B-side',
    serial: 'SN-PUMP-0002',
    projectId: projectB.id,
    tags: ['Hall-B', 'critical'],
    metadata: { location: { site: 'Rotterdam Harbour' } },
  });
  await setProperty(orgB, 'devices', deviceB.id, 'asset', 'ASSET-4711-B');
  await setProperty(orgB, 'projects', projectB.id, 'owner', 'Facilities Team B');
});

afterAll(async () => {
  await s?.close();
});

describe('GET /devices?q=', () => {
  it('finds a device by name, serial, tag, metadata key or value, and property, in any case', async () => {
    expect(await listed('STATION north')).toEqual(['Pump Station North']);
    expect(await listed('sn-pump-0001')).toEqual(['Pump Station North']);
    expect(await listed('hall-b')).toEqual(['Pump Station North']);
    expect(await listed('CRITICAL')).toEqual(['Pump Station North']);
    expect(await listed('harbour')).toEqual(['Pump Station North']); // a nested value
    expect(await listed('LOCATION')).toEqual(['Pump Station North']); // a key
    expect(await listed('Floor')).toEqual(['Pump Station North']); // a nested key
    expect(await listed('north-GATE')).toEqual(['Pump Station North']); // in an array
    expect(await listed('asset-4711')).toEqual(['Thermostat 7']); // a property value
    expect(await listed('ASSET')).toEqual(['Thermostat 7']); // a property name
    expect(await listed('pump')).toEqual(['Pump Station North', 'pump', 'Big old pumping unit']);
    expect(await listed('nothing like it')).toEqual([]);
  });

  it('finds a device by its id, whole or its start, with or without dashes, in any case', async () => {
    expect(await listed(station.id.toUpperCase())).toEqual(['Pump Station North']);
    expect(await listed(station.id.slice(0, 13))).toContain('Pump Station North');
    expect(await listed(station.id.replaceAll('-', '').slice(0, 12))).toContain('Pump Station North');
    // Dashes in the wrong places are not an id.
    expect(await listed(`${station.id.slice(0, 4)}-${station.id.slice(4, 8)}`)).not.toContain('Pump Station North');
  });

  it('takes LIKE wildcards and quotes literally, and combines q with the other filters and paging', async () => {
    expect(await listed('%')).toEqual([]);
    expect(await listed('_')).toEqual([]);
    expect(await listed("pump' OR 1=1 --")).toEqual([]);
    const inProject = await s.api.devices.list({ q: 'PUMP', projectId: boiler.id });
    expect(inProject.items.map((d) => d.name)).toEqual(['Pump Station North']);
    const page = await s.api.devices.list({ q: 'pump', limit: 1, offset: 1 });
    expect(page.total).toBe(3);
    expect(page.items.map((d) => d.name)).toEqual(['pump']);
  });

  it('refuses a q with control characters or over 200 characters (400), and an unknown parameter', async () => {
    for (const q of ['a\u0000b', 'line\nbreak', 'x'.repeat(201)]) {
      const r = await get('devices', { q });
      expect(r.status, JSON.stringify(q)).toBe(400);
      expect(r.body.error?.code).toBe('VALIDATION_FAILED');
    }
    // A NUL in any query parameter (here one without a pattern) is a 400 before any route reads it.
    const nul = await get('devices', { tag: 'a\u0000' });
    expect(nul.status).toBe(400);
    expect(nul.body.error).toEqual({ code: 'VALIDATION_FAILED', message: 'the URL contains a NUL character (%00)' });
    const unknown = await get('devices', { query: 'pump' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error?.message).toBe('unknown query parameter "query"');
  });
});

describe('GET /properties', () => {
  it('matches names and values in any case, a value prefix too; a NUL is a 400, not a failed query', async () => {
    const found = async (query: Record<string, string>) => {
      const r = await get('properties', query);
      expect(r.status).toBe(200);
      return (r.body.items as { entityId: string; name: string; value: string }[]).map((p) => `${p.entityId} ${p.name}=${p.value}`);
    };
    expect(await found({ name: 'ASSET', value: 'asset-4711' })).toEqual([`${thermostat.id} asset=ASSET-4711`]);
    expect(await found({ value: 'Asset-47*' })).toEqual([`${thermostat.id} asset=ASSET-4711`]);
    expect(await found({ name: 'OWNER' })).toEqual([`${boiler.id} owner=Facilities Team`]);
    expect(await found({ value: 'asset-47' })).toEqual([]);
    expect(await found({ value: '%*' })).toEqual([]);
    for (const query of [{ value: 'a\u0000' }, { name: 'a\u0000' }, { value: 'a\u0000*' }] as Record<string, string>[]) {
      expect((await get('properties', query)).status, JSON.stringify(query)).toBe(400);
    }
  });
});

describe('GET /search', () => {
  it('ranks devices: equal to the text, then starting with it, then containing it', async () => {
    const r = await search('PUMP');
    expect(r.devices.map((d) => [d.name, d.matched.field])).toEqual([
      ['pump', 'name'],
      ['Pump Station North', 'name'],
      ['Big old pumping unit', 'name'],
    ]);
    expect((await search('pump', s.api.token, 2)).devices.map((d) => d.name)).toEqual(['pump', 'Pump Station North']);
    // A serial equal to the text comes first too.
    expect((await search('sn-pump-0001')).devices).toEqual([
      expect.objectContaining({
        id: station.id,
        serial: 'SN-PUMP-0001',
        projectId: boiler.id,
        online: false,
        matched: { field: 'serial', text: 'SN-PUMP-0001' },
      }),
    ]);
  });

  it('says what of a device matched: id, tag, metadata or property', async () => {
    expect((await search(station.id.slice(0, 8))).devices.find((d) => d.id === station.id)?.matched).toEqual({ field: 'id', text: station.id });
    expect((await search('critical')).devices.map((d) => [d.name, d.matched])).toEqual([['Pump Station North', { field: 'tag', text: 'critical' }]]);
    expect((await search('HARBOUR')).devices.map((d) => d.matched)).toEqual([{ field: 'metadata', text: 'location.site: Rotterdam Harbour' }]);
    expect((await search('gate')).devices.map((d) => d.matched)).toEqual([{ field: 'metadata', text: 'ports[0]: north-gate' }]);
    expect((await search('4711')).devices.map((d) => [d.name, d.matched])).toEqual([['Thermostat 7', { field: 'property', text: 'asset: ASSET-4711' }]]);
  });

  it('finds projects by name or description and properties by name or value, naming their device or project', async () => {
    expect((await search('boiler')).projects).toEqual([{ id: boiler.id, name: 'Boiler Room', matched: { field: 'name', text: 'Boiler Room' } }]);
    expect((await search('BASEMENT')).projects).toEqual([{ id: boiler.id, name: 'Boiler Room', matched: { field: 'description', text: 'Basement heating' } }]);
    expect((await search('asset-4711')).properties).toEqual([
      {
        entityKind: 'device',
        entityId: thermostat.id,
        entityName: 'Thermostat 7',
        name: 'asset',
        value: 'ASSET-4711',
        matched: { field: 'value', text: 'ASSET-4711' },
      },
    ]);
    expect((await search('owner')).properties).toEqual([
      {
        entityKind: 'project',
        entityId: boiler.id,
        entityName: 'Boiler Room',
        name: 'owner',
        value: 'Facilities Team',
        matched: { field: 'name', text: 'owner' },
      },
    ]);
    expect(await search('nothing like it')).toEqual({ devices: [], projects: [], properties: [] });
  });

  it('answers a viewer; leaves out the properties of a deleted device', async () => {
    await s.api.users.create({ email: 'viewer@a.test', password: 'viewer-a-password', name: 'A Viewer', role: 'viewer' });
    const viewer = new TetherClient({ baseUrl: s.httpUrl });
    await viewer.login('viewer@a.test', 'viewer-a-password');
    expect((await search('pump station', viewer.token)).devices.map((d) => d.name)).toEqual(['Pump Station North']);

    const gone = await s.api.devices.create({ name: 'Short-lived' });
    await setProperty(s.api, 'devices', gone.id, 'asset', 'ASSET-GONE');
    expect((await search('asset-gone')).properties.map((p) => p.entityName)).toEqual(['Short-lived']);
    await s.api.devices.delete(gone.id);
    expect(await search('asset-gone')).toEqual({ devices: [], projects: [], properties: [] });
  });

  it('never answers another org’s devices, projects or properties, whatever the text', async () => {
    for (const q of ['pump', 'hall-b', 'rotterdam', 'boiler', 'basement', 'asset', 'facilities', 'sn-pump']) {
      const a = await search(q);
      const b = await search(q, orgB.token);
      const idsOfA = JSON.stringify(a);
      const idsOfB = JSON.stringify(b);
      expect(idsOfA, q).not.toContain(deviceB.id);
      expect(idsOfA, q).not.toMatch(/B-side|Boiler Room B|Team B|4711-B/);
      for (const id of [station.id, pump.id, pumping.id, thermostat.id, boiler.id]) expect(idsOfB, q).not.toContain(id);
      expect(b.devices.length + b.projects.length + b.properties.length, q).toBeGreaterThan(0);
    }
    expect(await search(station.id, orgB.token)).toEqual({ devices: [], projects: [], properties: [] });
    expect(await listed(station.id, orgB)).toEqual([]);
    expect(await listed('rotterdam', orgB)).toEqual(['Pump B-side']);
    expect(await listed('asset-4711', orgB)).toEqual(['Pump B-side']);
  });

  it('refuses a missing, empty, blank, too long or control-character q, a bad limit and an unknown parameter (400)', async () => {
    for (const query of [
      {},
      { q: '' },
      { q: '   ' },
      { q: 'x'.repeat(201) },
      { q: 'a\u0000' },
      { q: 'tab\there' },
      { q: 'a', limit: '0' },
      { q: 'a', limit: '51' },
    ] as Record<string, string>[]) {
      const r = await get('search', query);
      expect(r.status, JSON.stringify(query)).toBe(400);
      expect(r.body.error?.code, JSON.stringify(query)).toBe('VALIDATION_FAILED');
    }
    const unknown = await get('search', { q: 'pump', type: 'device' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error?.message).toBe('unknown query parameter "type"');
    expect((await httpJson(`${s.httpUrl}/api/v1/search?q=pump`)).status).toBe(401);
  });
});
