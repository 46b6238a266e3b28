/**
 * Search on a database without pg_trgm (a PostgreSQL without its contrib
 * package, or a role that may not create extensions): migration 030 still
 * runs, creates no trigram index, and the same queries find the same rows,
 * ranked by length where pg_trgm would rank by similarity. A PGlite opened
 * without the extension stands in for such a server.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Queryable } from '../src/platform/db/database.js';
import { MIGRATIONS_DIR } from '../src/platform/db/migrate.js';
import { DevicesRepository } from '../src/modules/devices/devices.repository.js';
import { MetadataRepository } from '../src/modules/metadata/metadata.repository.js';
import { ProjectsRepository } from '../src/modules/projects/projects.repository.js';

let pg: PGlite;
let db: Queryable;
let orgId: string;

beforeAll(async () => {
  pg = await PGlite.create();
  db = { query: async <T>(sql: string, params?: readonly unknown[]) => (await pg.query<T>(sql, params as unknown[])).rows };
  for (const file of fs
    .readdirSync(MIGRATIONS_DIR)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort()) {
    await pg.exec(fs.readFileSync(path.join(MIGRATIONS_DIR, file), 'utf8'));
  }
  orgId = (await db.query<{ id: string }>("INSERT INTO orgs (name) VALUES ('Org') RETURNING id"))[0]!.id;
}, 60_000);

afterAll(async () => {
  await pg?.close();
});

it('runs migration 030 without pg_trgm: no extension, no trigram index', async () => {
  expect(await db.query("SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'")).toEqual([]);
  expect(await db.query("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%trgm%'")).toEqual([]);
});

it('finds devices, projects and properties in any case, ranked by length after equal and starting with', async () => {
  const devices = new DevicesRepository(db, 600);
  const insert = (name: string, i: number) =>
    devices.insert(
      {
        orgId,
        projectId: null,
        templateId: null,
        name,
        type: '',
        tags: i === 0 ? ['Hall-B'] : [],
        metadata: { site: `Rotterdam ${i}` },
        inactivityTimeoutS: null,
        serial: null,
        claimCodeHash: null,
      },
      `hash-${i}`,
      db,
    );
  const ids = new Map<string, string>();
  for (const [i, name] of ['old pumping unit', 'A pump', 'Pump Station', 'pump', 'Thermostat'].entries()) ids.set(name, await insert(name, i));

  const found = await devices.search(orgId, 'PUMP', [], [], 10);
  // Equal, then starting with it, then the shorter name (more of it is the text).
  expect(found.map((d) => d.name)).toEqual(['pump', 'Pump Station', 'A pump', 'old pumping unit']);
  expect((await devices.search(orgId, 'hall-b', [], [], 10)).map((d) => [d.name, d.matched])).toEqual([['old pumping unit', 'tag']]);
  const byProperty = await devices.search(orgId, 'asset-1', [ids.get('Thermostat')!], [], 10);
  expect(byProperty.map((d) => [d.name, d.matched])).toEqual([['Thermostat', 'property']]);
  const page = await devices.list(orgId, { q: 'rotterdam', limit: 2, offset: 0 });
  expect(page.total).toBe(5);

  const projects = new ProjectsRepository(db);
  const boiler = await projects.insert(orgId, 'Boiler Room', 'Basement heating', null);
  expect(await projects.search(orgId, 'BASEMENT', 10)).toEqual([{ id: boiler, name: 'Boiler Room', description: 'Basement heating', matched: 'description' }]);

  const metadata = new MetadataRepository(db);
  await metadata.upsertProperty(orgId, 'device', ids.get('Thermostat')!, 'asset', 'ASSET-1');
  expect(await metadata.searchText(orgId, 'asset-1', null, 10)).toEqual([
    { entity_kind: 'device', entity_id: ids.get('Thermostat'), name: 'asset', value: 'ASSET-1', matched: 'value' },
  ]);
});
