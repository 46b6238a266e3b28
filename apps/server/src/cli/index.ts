#!/usr/bin/env node
/** The `tether` command: start, simulate, backup, restore, admin. Parsed by commander; the settings come from config's SETTINGS. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, SETTINGS, loadConfig, type TetherConfig } from '../config/config.js';
import type { DomainEvents } from '../modules/events/domain-events.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Flags to loadConfig's names: commander camel-cases them; SETTINGS is the one list of both. */
function configFrom(opts: Record<string, unknown>, env: Record<string, string | undefined> = process.env): TetherConfig {
  const flags: Record<string, string | undefined> = {};
  for (const st of SETTINGS) {
    const v = opts[st.flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())];
    if (v !== undefined) flags[st.flag] = v === true ? 'true' : String(v);
  }
  try {
    return loadConfig(env, flags);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/** Every setting as a flag, with its variable and default in --help. */
function withSettings(cmd: Command, only?: (flag: string) => boolean): Command {
  for (const st of SETTINGS) {
    if (only && !only(st.flag)) continue;
    cmd.addOption(new Option(`--${st.flag} <value>`, `${st.description} (env ${st.env}; default ${st.default.replaceAll('`', '')})`));
  }
  return cmd;
}

async function start(opts: Record<string, unknown>): Promise<void> {
  const config = configFrom(opts);
  // Loaded here, not at the top: the other commands (backup, admin) start without the whole server (3 s on a small machine).
  const { PortInUseError, createTether } = await import('../main.js');
  const { ExternalBrokerError, redactUrl } = await import('../platform/mqtt/external-client.js');
  const started = performance.now();
  const tether = await createTether(config);
  let urls;
  try {
    urls = await tether.start();
  } catch (err) {
    await tether.stop().catch(() => {});
    if (err instanceof PortInUseError) {
      // Nothing was created yet (the first admin comes once every port listens): a retry starts afresh.
      process.stderr.write(
        `${err.message}\nTether did not start and changed nothing; run it again once the port is free (or with another port), and it prints the first admin login then.\n`,
      );
      process.exit(3);
    }
    if (err instanceof ExternalBrokerError) {
      process.stderr.write(`${err.message}\nTether did not start.\n`);
      process.exit(4);
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
    config.mqttUrl && `external broker ${redactUrl(config.mqttUrl)}`,
  ].filter(Boolean);
  const db = config.databaseUrl ? 'PostgreSQL' : `embedded PGlite in ${config.dataDir}`;
  const files = config.s3 ? `s3://${config.s3.bucket}/${config.s3.prefix}` : `${config.dataDir}/files`;
  process.stdout.write(`Tether ready in ${ms} ms: ${parts.join(' | ')} | roles ${config.roles.join(',')} | database ${db} | files ${files}\n`);
  if (![...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) => a.startsWith('--max-semi-space-size'))) {
    tether.logger.info(
      'node runs without --max-semi-space-size=64 (npm start sets it): ingest under heavy load is 30-40% slower with the default young generation (README, Performance)',
    );
  }
  if (tether.bootstrap) {
    const pw = tether.bootstrap.password;
    process.stdout.write(
      pw
        ? `First admin login: ${tether.bootstrap.email} / ${pw}  (generated now and shown only once: sign in and change it)\n`
        : `First admin login: ${tether.bootstrap.email} with the password from TETHER_ADMIN_PASSWORD\n`,
    );
  }
}

async function resetPassword(email: string, opts: Record<string, unknown>): Promise<void> {
  const config = configFrom(opts);
  const { openDatabase } = await import('../platform/db/database.js');
  const { migrate } = await import('../platform/db/migrate.js');
  const { resetUserPassword } = await import('../modules/accounts/accounts.service.js');
  const fail = (err: unknown): never => {
    process.stderr.write(`tether admin reset-password: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  };
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }).catch(fail);
  try {
    await migrate(db);
    // The new password comes from the environment, never the command line (shells and npm echo it).
    const given = process.env.TETHER_NEW_PASSWORD ?? null;
    if (given !== null && given.length < 8) fail('TETHER_NEW_PASSWORD: use at least 8 characters');
    const password = await resetUserPassword(db, email, given).catch(fail);
    process.stdout.write(
      given
        ? `Password of ${email} changed; every session of that user was signed out.\n`
        : `New password of ${email}: ${password}  (shown only once; every session of that user was signed out)\n`,
    );
  } finally {
    await db.close();
  }
}

/** Sends one event to the running nodes of this configuration's cluster; false when there is no bus to reach them. */
async function tellNodes<K extends keyof DomainEvents>(config: TetherConfig, type: K, payload: DomainEvents[K]): Promise<boolean> {
  if (!config.databaseUrl) return false;
  const { openBus } = await import('../platform/bus/open-bus.js');
  const { createLogger } = await import('../platform/observability/logger.js');
  const bus = openBus<DomainEvents>({ busUrl: config.busUrl, databaseUrl: config.databaseUrl, channel: config.busChannel, logger: createLogger('silent') });
  try {
    await bus.start();
    bus.emit(type, payload, 'others');
    await bus.close();
    return true;
  } catch {
    await bus.close().catch(() => {});
    return false;
  }
}

async function rotateJwtKey(opts: Record<string, unknown>): Promise<void> {
  const config = configFrom(opts);
  const { openDatabase } = await import('../platform/db/database.js');
  const { migrate } = await import('../platform/db/migrate.js');
  const { loadMasterKey } = await import('../platform/security/key-encryption.js');
  const { SigningKeys } = await import('../modules/accounts/signing-keys.js');
  const fail = (err: unknown): never => {
    process.stderr.write(`tether admin rotate-jwt-key: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  };
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }).catch(fail);
  try {
    await migrate(db);
    const dropOld = opts.dropOld === true;
    const keys = {
      db,
      masterKey: loadMasterKey({ secret: config.jwtSecret, dataDir: config.dataDir }),
      longestTokenTtlS: Math.max(config.accessTokenTtlS, config.deviceJwtTtlS),
      configuredSecret: config.jwtSecret,
    };
    const kid = await SigningKeys.rotate(keys, { dropOld }).catch(fail);
    // Running nodes read the keys again now; those this does not reach, within a minute.
    const told = await tellNodes(config, 'signing_keys.changed', {});
    const when = told ? 'now' : 'within a minute';
    process.stdout.write(
      dropOld
        ? `New JWT signing key ${kid}; every earlier key is deleted: tokens they signed are refused (running servers follow ${when}). Signed-in users refresh theirs; devices fetch new JWTs.\n`
        : `New JWT signing key ${kid}; running servers sign with it ${when}. Earlier keys verify until the tokens they signed expire.\n`,
    );
  } finally {
    await db.close();
  }
}

/**
 * backup and restore: the settings of `tether start` that say where data lives. An s3:// target
 * is reached with the TETHER_S3_* settings; when files stay on local disk (no TETHER_S3_BUCKET),
 * those settings describe the target's bucket only.
 */
async function backupOrRestore(command: 'backup' | 'restore', targetArg: string, opts: Record<string, unknown>): Promise<void> {
  try {
    const filesInBucket = opts.s3Bucket !== undefined || process.env.TETHER_S3_BUCKET !== undefined;
    let config: TetherConfig;
    let s3: TetherConfig['s3'];
    if (filesInBucket || !targetArg.startsWith('s3://')) {
      config = configFrom(opts);
      s3 = config.s3;
    } else {
      const bucket = /^s3:\/\/([^/]+)/.exec(targetArg)?.[1] ?? '';
      const withBucket = configFrom(opts, { ...process.env, TETHER_S3_BUCKET: bucket });
      s3 = withBucket.s3;
      config = { ...withBucket, s3: null };
    }
    const cmd = await import('./backup.js');
    const common = { config, s3: s3 ?? {}, target: targetArg, tetherVersion: VERSION };
    if (command === 'backup') await cmd.backup({ ...common, withJwtKeyFile: opts.withJwtKeyFile === true });
    else await cmd.restore({ ...common, force: opts.force === true });
  } catch (err) {
    // A refused backup, a held data dir, a failed pg_dump, an unreachable bucket: one line, exit 1.
    process.stderr.write(`tether ${command}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  process.exit(0);
}

async function main(): Promise<void> {
  const program = new Command('tether').description('Tether, an IoT device platform').version(VERSION, '-v, --version').showHelpAfterError();
  program.exitOverride();
  withSettings(program.command('start').description('Run Tether (all roles by default). Each flag overrides its environment variable.')).action(
    (opts: Record<string, unknown>) => start(opts),
  );
  program
    .command('simulate')
    .description('Run virtual devices against a Tether server (tether simulate --help)')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
    .action(async (args: string[]) => {
      const { simulate } = await import('./simulate.js');
      await simulate(args);
    });
  const admin = program.command('admin').description('Operator tasks on the database of a stopped or running server');
  withSettings(
    admin
      .command('reset-password')
      .description('Set a new password for a user (from TETHER_NEW_PASSWORD, or generated and printed) and sign out their sessions')
      .argument('<email>'),
    (flag) => flag === 'data-dir' || flag === 'database-url',
  ).action((email: string, opts: Record<string, unknown>) => resetPassword(email, opts));
  withSettings(
    admin
      .command('rotate-jwt-key')
      .description('Add a new JWT signing key; earlier ones verify until their tokens expire (with --drop-old: no longer at all)')
      .option('--drop-old', 'delete every earlier key now (a leaked key, or a lost TETHER_JWT_SECRET / key file)'),
    (flag) => ['data-dir', 'database-url', 'jwt-secret', 'access-token-ttl', 'device-jwt-ttl'].includes(flag),
  ).action((opts: Record<string, unknown>) => rotateJwtKey(opts));
  // The settings that say where the data lives, and how to reach a bucket.
  const dataSettings = (flag: string) => ['data-dir', 'database-url', 'jwt-secret'].includes(flag) || flag.startsWith('s3-');
  withSettings(
    program
      .command('backup')
      .description('Write a consistent backup of the database and the stored files, while Tether runs or not, to a file or s3://bucket/key')
      .argument('<target>', 'a file path, or s3://bucket/key')
      .option('--with-jwt-key-file', "include the data dir's jwt-master.key (by default it is kept apart from backups: README, Backup and restore)"),
    dataSettings,
  ).action((target: string, opts: Record<string, unknown>) => backupOrRestore('backup', target, opts));
  withSettings(
    program
      .command('restore')
      .description('Restore a backup onto an empty data dir or database (with --force: replace what is there)')
      .argument('<source>', 'a file path, or s3://bucket/key')
      .option('--force', 'replace the database and the stored files that are there'),
    dataSettings,
  ).action((source: string, opts: Record<string, unknown>) => backupOrRestore('restore', source, opts));
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    // --help and --version end here with code 0; a usage error has been printed with the help.
    if (err instanceof CommanderError) process.exit(err.exitCode);
    throw err;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
