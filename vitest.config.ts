import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));
// .ci/run sets this to count results across runs.
const reportDir = process.env.TETHER_TEST_REPORT_DIR;

export default defineConfig({
  resolve: {
    alias: {
      '@tether/contracts': src('./packages/contracts/src/index.ts'),
      '@tether/device-sdk': src('./packages/device-sdk/src/index.ts'),
      '@tether/api-client': src('./packages/api-client/src/index.ts'),
    },
  },
  test: {
    include: ['apps/*/src/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'packages/*/src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: server and clients already compete inside each end-to-end test.
    maxWorkers: 2,
    pool: 'forks',
    reporters: reportDir ? ['default', 'json'] : ['default'],
    ...(reportDir ? { outputFile: { json: `${reportDir}/${process.env.TETHER_TEST_REPORT_NAME ?? 'server'}.json` } } : {}),
  },
});
