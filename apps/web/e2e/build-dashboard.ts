import { fileURLToPath } from 'node:url';
import { build } from 'vite';

/**
 * The server serves apps/web/dist: build it first, so the suite always tests
 * the current source. Set TETHER_WEB_PREBUILT=1 when a build step already ran.
 */
export default async function setup(): Promise<void> {
  if (process.env.TETHER_WEB_PREBUILT === '1') return;
  // Vitest sets NODE_ENV=test, and Vite would then bundle React's development build.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ root: fileURLToPath(new URL('..', import.meta.url)), mode: 'production', logLevel: 'warn' });
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
}
