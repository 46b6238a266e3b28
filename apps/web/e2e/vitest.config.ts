import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const fromRoot = (p: string) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));
const reportDir = process.env.TETHER_TEST_REPORT_DIR;

// The dashboard's browser suite: the real server (from source, as the server's own
// end-to-end tests run it) serving the freshly built dashboard, driven by Debian's Chromium.
export default defineConfig({
  root: fromRoot(''),
  resolve: {
    alias: {
      '@tether/contracts': fromRoot('packages/contracts/src/index.ts'),
      '@tether/device-sdk': fromRoot('packages/device-sdk/src/index.ts'),
      '@tether/api-client': fromRoot('packages/api-client/src/index.ts'),
    },
  },
  test: {
    include: ['apps/web/e2e/**/*.e2e.test.ts'],
    globalSetup: [fromRoot('apps/web/e2e/build-dashboard.ts')],
    testTimeout: 90_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    reporters: reportDir ? ['default', 'json'] : ['default'],
    ...(reportDir ? { outputFile: { json: `${reportDir}/browser.json` } } : {}),
  },
});
