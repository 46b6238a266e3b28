// `npm test`: build, typecheck and lint, then every vitest tier (unit, database, end to end),
// then the browser tier. Stops at the first failure, as `a && b && c` would.
// TETHER_CHECKS_DONE=1 skips build, typecheck and lint: .ci/run has just run and counted them.
import { spawnSync } from 'node:child_process';

const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

if (process.env.TETHER_CHECKS_DONE !== '1') {
  run('npm', ['run', 'build', '--silent']);
  run('npm', ['run', 'typecheck', '--silent']);
  run('npm', ['run', 'lint', '--silent']);
}
run('npx', ['vitest', 'run']);
run('node', ['scripts/test-browser.mjs']);
