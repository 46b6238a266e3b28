#!/usr/bin/env node
/** The `tether` command: start, simulate. */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/config.js';
import { PortInUseError, createTether } from '../main.js';

const USAGE = `Usage: tether <command> [options]

Commands:
  start      Run Tether (all roles by default). Options: --roles=api,mqtt,ingest,worker --http-port --mqtt-port --data-dir
             --database-url --admin-email --admin-password (or the TETHER_* environment variables; see README)
  simulate   Run virtual devices against a Tether server. See: tether simulate --help
`;

async function start(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: false,
    strict: false,
    options: {},
  });
  // Every --flag=value is passed to the config module, which knows the names and validates them.
  const flags: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(values)) flags[k] = typeof v === 'string' ? v : v === true ? 'true' : undefined;

  let config;
  try {
    config = loadConfig(process.env, flags);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }

  const started = performance.now();
  const tether = await createTether(config);
  let urls;
  try {
    urls = await tether.start();
  } catch (err) {
    await tether.stop().catch(() => {});
    if (err instanceof PortInUseError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(3);
    }
    throw err;
  }

  const shutdown = (signal: string) => {
    process.stdout.write(`\n${signal}: shutting down (flushing pending messages)…\n`);
    process.once('SIGINT', () => process.exit(130));
    process.once('SIGTERM', () => process.exit(143));
    tether.stop().then(
      () => {
        process.stdout.write('Tether stopped.\n');
        process.exit(0);
      },
      (err: unknown) => {
        tether.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));

  const ms = Math.round(performance.now() - started);
  const parts = [
    urls.httpUrl && `web ${urls.httpUrl}`,
    urls.httpUrl && `api ${urls.httpUrl}/api/v1 (docs ${urls.httpUrl}/api/docs)`,
    urls.mqttUrl && `mqtt ${urls.mqttUrl}`,
    urls.wsMqttUrl && `mqtt-ws ${urls.wsMqttUrl}`,
    urls.mqttsUrl && `mqtts ${urls.mqttsUrl}`,
  ].filter(Boolean);
  const db = config.databaseUrl ? 'PostgreSQL' : `embedded PGlite in ${config.dataDir}`;
  process.stdout.write(`Tether ready in ${ms} ms: ${parts.join(' | ')} | roles ${config.roles.join(',')} | database ${db}\n`);
  if (tether.bootstrap) {
    const pw = tether.bootstrap.password;
    process.stdout.write(
      pw
        ? `First admin login: ${tether.bootstrap.email} / ${pw}  (generated now and shown only once: sign in and change it)\n`
        : `First admin login: ${tether.bootstrap.email} with the password from TETHER_ADMIN_PASSWORD\n`,
    );
  }
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  switch (command) {
    case 'start':
      return start(rest);
    case 'simulate': {
      const { simulate } = await import('./simulate.js');
      return simulate(rest);
    }
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return;
    default:
      process.stderr.write(`Unknown command "${command}".\n\n${USAGE}`);
      process.exit(2);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
