// The browser tier of `npm test`: the dashboard in Debian's Chromium, driven by playwright-core.
// Skipped, with a clear message, on a machine without /usr/bin/chromium (apt-get install chromium).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

const CHROMIUM = '/usr/bin/chromium';
if (!fs.existsSync(CHROMIUM)) {
  console.log(`browser tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium); .ci/run installs it`);
  process.exit(0);
}
const args = ['vitest', 'run', '--config', 'apps/web/e2e/vitest.config.ts', ...process.argv.slice(2)];
const r = spawnSync('npx', args, { stdio: 'inherit', env: { ...process.env, TETHER_WEB_PREBUILT: process.env.TETHER_WEB_PREBUILT ?? '1' } });
process.exit(r.status ?? 1);
