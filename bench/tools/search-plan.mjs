#!/usr/bin/env node
/**
 * Query plans of search (issue 17) on PostgreSQL: a scratch database with
 * `--devices` devices (default 10,000) in one org, and as many in another,
 * with serials, tags, metadata and properties; then the statements that
 * GET /devices?q= and GET /search run, each with EXPLAIN (ANALYZE, BUFFERS):
 * whether migration 030's trigram indexes serve them, and how long they take.
 *
 *   npm run build && node bench/tools/search-plan.mjs [--devices 10000] [--q valve,SN-004711,ASSET-00471,rotterdam]
 * PostgreSQL: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres).
 */
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../../apps/server/dist/platform/db/migrate.js';
import { openPostgres } from '../../apps/server/dist/platform/db/postgres.js';
import { DevicesRepository } from '../../apps/server/dist/modules/devices/devices.repository.js';
import { MetadataRepository } from '../../apps/server/dist/modules/metadata/metadata.repository.js';

const { values: opt } = parseArgs({
  options: {
    devices: { type: 'string', default: '10000' },
    q: { type: 'string', default: 'valve,SN-004711,ASSET-00471,rotterdam' },
  },
});
const n = Number(opt.devices);
const base = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = `tether_search_plan_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: base });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(base);
url.pathname = `/${name}`;
const db = await openPostgres(url.toString(), 2);
try {
  await migrate(db);
  const orgs = [];
  for (const org of ['Org A', 'Org B']) {
    const [{ id }] = await db.query('INSERT INTO orgs (name) VALUES ($1) RETURNING id', [org]);
    orgs.push(id);
    // Names from a few words; one device in 1,000 is a "valve"; 50 sites; every 10th device has an asset property.
    await db.query(
      `INSERT INTO devices (org_id, name, serial, tags, metadata)
       SELECT $1, (ARRAY['Pump','Sensor','Meter','Gateway','Boiler'])[1 + i % 5] || ' ' || i || CASE WHEN i % 1000 = 7 THEN ' valve controller' ELSE '' END,
              'SN-' || lpad(i::text, 6, '0'),
              ARRAY['hall-' || (i % 20), CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END],
              jsonb_build_object('site', (ARRAY['Rotterdam','Berlin','Lyon','Porto','Gdansk'])[1 + i % 5] || ' ' || (i % 10),
                                 'model', 'PX-' || (i % 100), 'install', jsonb_build_object('floor', i % 7))
       FROM generate_series(1, $2::int) i`,
      [id, n],
    );
    await db.query(
      `INSERT INTO properties (org_id, entity_kind, entity_id, name, value)
       SELECT $1, 'device', id, 'asset', 'ASSET-' || substr(serial, 4) FROM devices WHERE org_id = $1 AND right(serial, 1) = '0'`,
      [id],
    );
  }
  // As autovacuum would leave it: statistics, and the GIN indexes' pending lists merged (fastupdate).
  await db.query('VACUUM ANALYZE');
  const orgId = orgs[0];

  /** Runs each statement twice: EXPLAIN ANALYZE for the plan, then for its rows. */
  const explaining = {
    async query(sql, params) {
      const plan = await db.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`, params);
      console.log(`\n--- ${sql.replace(/\s+/g, ' ').slice(0, 160)}…`);
      console.log(plan.map((r) => r['QUERY PLAN']).join('\n'));
      return db.query(sql, params);
    },
  };
  const devices = new DevicesRepository(explaining, 600);
  const metadata = new MetadataRepository(explaining);
  for (const q of opt.q.split(',')) {
    console.log(`\n======== q=${q} (${n} devices per org, 2 orgs)`);
    const props = await metadata.searchText(orgId, q, 'device', 10_000);
    const ids = [...new Set(props.map((p) => p.entity_id))];
    const page = await devices.list(orgId, { q, propertyDeviceIds: ids, limit: 50, offset: 0 });
    console.log(`\nGET /devices?q=${q}: ${page.total} devices`);
    const found = await devices.search(orgId, q, ids.slice(0, 10), [], 10);
    console.log(`\nGET /search?q=${q}: ${found.map((d) => `${d.name} (${d.matched})`).join(', ')}`);
  }
} finally {
  await db.close();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
