/**
 * Issue 12 §5: two `tether start` processes at the same moment on one fresh
 * PostgreSQL database both come up, ten times over. Before, 2 of 2 tries
 * crashed one node: a deadlock in pg-boss's createQueue, or "relation
 * telemetry_… already exists" from the partitions. PostgreSQL only: PGlite is
 * one process's files.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { ADMIN, usingPostgres } from './helpers.js';
import { spawnServer, type ServerProcess } from './process-helpers.js';

describe.skipIf(!usingPostgres)('two nodes starting at once on an empty database', () => {
  it('both come up, 10 times in a row', async () => {
    const base = new URL(process.env.DATABASE_URL!);
    const admin = new pg.Client({ connectionString: new URL('/postgres', base).toString() });
    await admin.connect();
    const outcomes: string[] = [];
    try {
      for (let round = 0; round < 10; round++) {
        const name = `tether_cluster_start_${process.pid}_${round}`;
        await admin.query(`CREATE DATABASE ${name}`);
        const url = new URL(`/${name}`, base).toString();
        const dirs = [0, 1].map(() => fs.mkdtempSync(path.join(os.tmpdir(), 'tether-node-')));
        // One cluster: one database and one TETHER_JWT_SECRET (README, Security).
        const env = (dataDir: string) => ({
          DATABASE_URL: url,
          TETHER_DATA_DIR: dataDir,
          TETHER_JWT_SECRET: 'a-cluster-secret-of-at-least-32-characters',
          TETHER_ADMIN_EMAIL: ADMIN.email,
          TETHER_ADMIN_PASSWORD: ADMIN.password,
        });
        const started = await Promise.allSettled(dirs.map((d) => spawnServer(env(d))));
        const nodes = started.filter((r): r is PromiseFulfilledResult<ServerProcess> => r.status === 'fulfilled').map((r) => r.value);
        outcomes.push(started.map((r) => (r.status === 'fulfilled' ? 'up' : `failed: ${String(r.reason).slice(0, 300)}`)).join(' / '));
        // Both answer, on their own ports, from the same database.
        for (const n of nodes) expect((await fetch(`${n.httpUrl}/readyz`)).status).toBe(200);
        for (const n of nodes) n.proc.kill('SIGTERM');
        await Promise.all(nodes.map((n) => n.exited));
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
      }
    } finally {
      await admin.end();
    }
    expect(outcomes).toEqual(Array(10).fill('up / up'));
  }, 300_000);
});
