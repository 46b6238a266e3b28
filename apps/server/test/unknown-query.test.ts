/**
 * A list endpoint that does not know a query parameter says so (issue 17): `/devices?active=true`
 * used to answer every device as if the filter held.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { httpJson, startServer, type TestServer } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(async () => {
  await s?.close();
});

it('answers an unknown query parameter with 400 naming it, on every list route that takes a query', async () => {
  for (const path of ['/api/v1/devices', '/api/v1/projects', '/api/v1/alerts', '/api/v1/alarms', '/api/v1/files', '/api/v1/health/silent', '/api/v1/users']) {
    const r = await httpJson(`${s.httpUrl}${path}?active=true`, { token: s.api.token });
    expect(r.status, path).toBe(400);
    expect(r.body.error).toEqual({ code: 'VALIDATION_FAILED', message: 'unknown query parameter "active"' });
    expect((await httpJson(`${s.httpUrl}${path}`, { token: s.api.token })).status, path).toBe(200);
  }
});

it('searches projects by name with q, case-insensitive', async () => {
  await s.api.projects.create({ name: 'Boiler Room' });
  await s.api.projects.create({ name: 'Cold store' });
  const r = await httpJson(`${s.httpUrl}/api/v1/projects?q=boiler`, { token: s.api.token });
  expect(r.status).toBe(200);
  expect((r.body.items as { name: string }[]).map((p) => p.name)).toEqual(['Boiler Room']);
});
