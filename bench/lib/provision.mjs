/** Creates benchmark devices through the REST API, as an operator would. */
import { TetherClient } from '@tether/api-client';
import { performance } from 'node:perf_hooks';
import { ADMIN } from './server.mjs';

export async function signIn(httpUrl) {
  const api = new TetherClient({ baseUrl: httpUrl });
  await api.login(ADMIN.email, ADMIN.password);
  return api;
}

/** Creates `count` devices in a new project; returns [{id, token}] and the rate. */
export async function createDevices(api, count, { name = 'bench', concurrency = 16, onProgress } = {}) {
  const project = await api.projects.create({ name: `${name}-${Date.now()}` });
  const out = new Array(count);
  let next = 0;
  let done = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const d = await api.devices.create({ name: `${name}-${i}`, projectId: project.id, type: 'bench' });
      out[i] = { id: d.id, token: d.token };
      if (++done % 1000 === 0) onProgress?.(done, count);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const ms = performance.now() - t0;
  return { project, devices: out, ms, perSecond: count / (ms / 1000) };
}

/**
 * Many devices at once, straight into the database (the REST API creates a
 * few hundred per second, too slow for 20,000): the same rows the API writes,
 * with tokens derived from the device id. `sql` runs on the benchmark database.
 */
export async function bulkDevices(sql, { orgId, projectId, count, name = 'idle' }) {
  const rows = await sql(
    `WITH d AS (
       INSERT INTO devices (org_id, project_id, name, type)
       SELECT $1, $2, $3 || '-' || g, 'bench' FROM generate_series(1, $4) g RETURNING id
     ), c AS (
       INSERT INTO device_credentials (device_id, token_hash)
       SELECT id, encode(sha256(convert_to('dt_bench_' || id::text, 'UTF8')), 'hex') FROM d RETURNING device_id
     )
     SELECT device_id::text AS id FROM c`,
    [orgId, projectId, name, count],
  );
  return rows.map((r) => ({ id: r.id, token: `dt_bench_${r.id}` }));
}
