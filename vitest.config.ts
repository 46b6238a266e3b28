import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));
// .ci/run sets this to count results across runs.
const reportDir = process.env.TETHER_TEST_REPORT_DIR;
const SUITE = ['apps/*/src/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'packages/*/src/**/*.test.ts'];
const STRESS = [
  'apps/server/test/flood.test.ts',
  'apps/server/test/durability.test.ts',
  'apps/server/test/database-outage.test.ts',
  'apps/server/test/cluster-start.test.ts',
  'apps/server/test/cluster.test.ts',
  'apps/server/test/cluster-ota.test.ts',
  'apps/server/test/external-broker.test.ts',
];
/**
 * Files whose subject does not depend on the database engine. .ci/run's second pass, on PostgreSQL,
 * leaves them out (TETHER_TEST_SKIP_ENGINE_INDEPENDENT=1): there they would only repeat the first.
 */
const ENGINE_INDEPENDENT = [
  // Starts, stops and restarts a private PostgreSQL of its own, whatever DATABASE_URL says.
  'apps/server/test/database-outage.test.ts',
  // The simulator CLI as a client, and a slow live WebSocket reader: neither is about storage.
  'apps/server/test/simulate.test.ts',
  'apps/server/test/slow-subscriber.test.ts',
  // Unit tests with no database at all.
  'apps/web/src/**/*.test.ts',
  'packages/*/src/**/*.test.ts',
];
const skipped = process.env.TETHER_TEST_SKIP_ENGINE_INDEPENDENT === '1' ? ENGINE_INDEPENDENT : [];

export default defineConfig({
  resolve: {
    alias: {
      '@tether/contracts': src('./packages/contracts/src/index.ts'),
      '@tether/device-sdk': src('./packages/device-sdk/src/index.ts'),
      '@tether/api-client': src('./packages/api-client/src/index.ts'),
    },
  },
  test: {
    // Stress tests (a flood, kill -9 under load) run last and one at a time: their bounds on
    // memory and connect time are about the server under a load they make themselves, not
    // about whichever test file a neighbouring worker runs meanwhile.
    projects: [
      { extends: true, test: { name: 'suite', include: SUITE, exclude: [...STRESS, ...skipped], sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'stress', include: STRESS, exclude: skipped, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: server and clients already compete inside each end-to-end test.
    maxWorkers: 2,
    pool: 'forks',
    reporters: reportDir ? ['default', 'json'] : ['default'],
    ...(reportDir ? { outputFile: { json: `${reportDir}/${process.env.TETHER_TEST_REPORT_NAME ?? 'server'}.json` } } : {}),
  },
});
