/**
 * `tether simulate` flags and environment, parsed once. Every problem is
 * reported at once, as the server's config does.
 */
import { parseArgs } from 'node:util';

export const SIMULATED_KINDS = ['boiler', 'heartbeat', 'truck'] as const;
export type SimulatedKind = (typeof SIMULATED_KINDS)[number];
export type KindChoice = SimulatedKind | 'mixed';

export type ApiCredentials = { apiKey: string } | { email: string; password: string };

export interface SimulateOptions {
  kind: KindChoice;
  /** null: every device in --devices-file, or 10 when creating devices. */
  devices: number | null;
  /** Total messages per second across all devices; null: one per device per second. */
  rate: number | null;
  /** null: until Ctrl-C. */
  durationS: number | null;
  qos: 0 | 1;
  connectRate: number;
  /** Unacknowledged publishes allowed per device before its turn is skipped. */
  inflight: number;
  url: string;
  /** null: ask the server (GET /api/v1/server-info), see discoverMqttUrl. */
  mqttUrl: string | null;
  credentials: ApiCredentials | null;
  devicesFile: string | null;
  saveFile: string;
  projectName: string;
  /** Created devices get this device template (created if missing); null: none. */
  templateName: string | null;
  /** The firmware version devices report (fw_version) until an OTA update changes it. */
  firmwareVersion: string;
  ota: OtaBehaviour;
  /** Trucks upload the clips their alerts name. */
  videos: boolean;
  health: HealthBehaviourShares;
}

/** How heartbeat sensors age: shares that degrade (then die) and that are noisy but healthy; the rest are healthy. */
export interface HealthBehaviourShares {
  degradeShare: number;
  noisyShare: number;
  /** Model time runs this many times faster than the clock for their health (not their send rate). */
  speed: number;
}

/** How simulated devices take OTA jobs: a share fails the install, a share hangs for good. */
export interface OtaBehaviour {
  failShare: number;
  /** Only jobs for these versions fail (the bad build); null: any version. */
  failVersions: string[] | null;
  hangShare: number;
  installMs: number;
}

export type ParsedSimulateArgs = { help: true } | { help: false; options: SimulateOptions };

export class SimulateOptionsError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

export const DEFAULT_DEVICE_COUNT = 10;

export const SIMULATE_USAGE = `Usage: tether simulate [options]

Runs virtual devices that publish realistic data to Tether over MQTT, for demos and load tests.

Devices (either create them, or reuse ones created before):
  --url URL             Tether HTTP URL (default http://localhost:8080, env TETHER_URL)
  --email EMAIL         sign in as this user (env TETHER_EMAIL)
  --password PASSWORD   (env TETHER_PASSWORD)
  --api-key KEY         or authenticate with an API key (env TETHER_API_KEY)
  --project NAME        project for created devices, created if missing (default "Simulator")
  --save FILE           where to write the created devices' ids and tokens (default ./simulated-devices.json)
  --devices-file FILE   reuse devices from a file: a JSON array of {id, token, kind?, firmwareVersion?}; no sign-in needed

Traffic:
  --kind KIND           boiler | heartbeat | truck | mixed (default mixed)
                          boiler     temperature/humidity; now and then it overheats past 80 °C
                             for a minute or two, or raises a critical gas alert
                          heartbeat  heartbeats only: uptime, draining battery, rssi
                          truck      location along a route, speed/fuel telemetry, harsh-braking alerts
                             that name two dashcam clips, then upload them (resumable, over HTTP)
  --devices N           number of devices (default ${DEFAULT_DEVICE_COUNT}; with --devices-file, all in the file)
  --rate R              total messages per second across all devices (default 1 per device)
  --duration S          stop after S seconds (also 90s, 5m, 1h); default: until Ctrl-C
  --mqtt URL            broker URL (default: what the server at --url reports in /api/v1/server-info)
  --qos 0|1             MQTT QoS (default 1: a message counts as acked once Tether committed it)
  --connect-rate C      new connections per second (default 200)
  --inflight K          unacked publishes per device before its turn is skipped (default 1)
  --no-video            trucks name no clips and upload none

Firmware updates (OTA): every device reports fw_version and takes OTA jobs: it downloads the
artifact, checks its sha256, installs, reboots and reports the new version.
  --template NAME       device template of created devices, created if missing (deployments need one)
  --firmware-version V  the version devices report until an update (default 1.0.0; a devices file
                          remembers each device's version after an update)
  --ota-fail SHARE      share of devices whose install fails (0 to 1, default 0)
  --ota-fail-version V  they fail only with these versions (comma-separated): the bad build;
                          a fixed version then installs everywhere (default: every version fails)
  --ota-hang SHARE      share of devices that stop answering mid-download (default 0)
  --ota-install S       seconds an install takes before the reboot (default 5)

Failing sensors (heartbeat devices, for Fleet Health's early warning):
  --degrade SHARE       share that degrade: from a random moment 0.5–2.5 h in, their heartbeat
                          gaps grow (irregularly) to 4–10× the usual over 2–12 h, then they stop
                          sending for good (0 to 1, default 0)
  --noisy SHARE         share that are noisy but healthy: jittery gaps, a missed beat now and then (default 0)
  --health-speed X      their health runs X times faster than the clock, e.g. 60: an hour of
                          decline in a minute (default 1); the usual interval itself does not change
  -h, --help            show this help

Examples:
  tether simulate --email admin@example.com --password secret --devices 200 --duration 60
  tether simulate --devices-file simulated-devices.json --rate 5000
  tether simulate --email admin@example.com --password secret --kind boiler --template Boiler --devices 50 --ota-fail 0.2
  tether simulate --email admin@example.com --password secret --kind heartbeat --devices 100 --rate 10 --degrade 0.2 --noisy 0.2 --health-speed 30
`;

const FLAGS = {
  help: { type: 'boolean', short: 'h' },
  'no-video': { type: 'boolean' },
  kind: { type: 'string' },
  devices: { type: 'string' },
  rate: { type: 'string' },
  duration: { type: 'string' },
  url: { type: 'string' },
  mqtt: { type: 'string' },
  email: { type: 'string' },
  password: { type: 'string' },
  'api-key': { type: 'string' },
  project: { type: 'string' },
  'devices-file': { type: 'string' },
  save: { type: 'string' },
  qos: { type: 'string' },
  'connect-rate': { type: 'string' },
  inflight: { type: 'string' },
  template: { type: 'string' },
  'firmware-version': { type: 'string' },
  'ota-fail': { type: 'string' },
  'ota-fail-version': { type: 'string' },
  'ota-hang': { type: 'string' },
  'ota-install': { type: 'string' },
  degrade: { type: 'string' },
  noisy: { type: 'string' },
  'health-speed': { type: 'string' },
} as const;

/** Parses argv and the TETHER_* variables; flags win over the environment. */
export function parseSimulateArgs(argv: string[], env: Record<string, string | undefined>): ParsedSimulateArgs {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new SimulateOptionsError([err instanceof Error ? err.message : String(err)]);
  }
  if (values.help) return { help: true };

  const problems: string[] = [];
  const number = (flag: string, raw: string | undefined, check: (n: number) => boolean, expected: string): number | null => {
    if (raw === undefined) return null;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || !check(n)) {
      problems.push(`--${flag}: expected ${expected}, got "${raw}"`);
      return null;
    }
    return n;
  };

  const kind = values.kind ?? 'mixed';
  if (kind !== 'mixed' && !isSimulatedKind(kind)) problems.push(`--kind: expected ${[...SIMULATED_KINDS, 'mixed'].join(', ')}, got "${kind}"`);

  const devices = number('devices', values.devices, (n) => Number.isInteger(n) && n >= 1, 'a whole number of at least 1');
  const rate = number('rate', values.rate, (n) => n > 0, 'messages per second, more than 0');
  const connectRate = number('connect-rate', values['connect-rate'], (n) => n > 0, 'connections per second, more than 0') ?? 200;
  const inflight = number('inflight', values.inflight, (n) => Number.isInteger(n) && n >= 1, 'a whole number of at least 1') ?? 1;
  const qos = number('qos', values.qos, (n) => n === 0 || n === 1, '0 or 1') ?? 1;
  const failShare = number('ota-fail', values['ota-fail'], (n) => n >= 0 && n <= 1, 'a share from 0 to 1') ?? 0;
  const hangShare = number('ota-hang', values['ota-hang'], (n) => n >= 0 && n <= 1, 'a share from 0 to 1') ?? 0;
  if (failShare + hangShare > 1) problems.push('--ota-fail and --ota-hang together are more than every device');
  const degradeShare = number('degrade', values.degrade, (n) => n >= 0 && n <= 1, 'a share from 0 to 1') ?? 0;
  const noisyShare = number('noisy', values.noisy, (n) => n >= 0 && n <= 1, 'a share from 0 to 1') ?? 0;
  if (degradeShare + noisyShare > 1) problems.push('--degrade and --noisy together are more than every device');
  const healthSpeed = number('health-speed', values['health-speed'], (n) => n > 0, 'a speed-up factor, more than 0') ?? 1;
  const installS = number('ota-install', values['ota-install'], (n) => n >= 0, 'seconds, 0 or more') ?? 5;
  const firmwareVersion = values['firmware-version'] ?? '1.0.0';
  if (!/^[0-9A-Za-z][0-9A-Za-z.+_-]*$/.test(firmwareVersion)) problems.push(`--firmware-version: expected a version like 1.0.0, got "${firmwareVersion}"`);
  if (values.template !== undefined && values['devices-file'] !== undefined)
    problems.push('--template applies to created devices; a devices file brings its own');

  let durationS: number | null = null;
  if (values.duration !== undefined) {
    durationS = parseDurationS(values.duration);
    if (durationS === null) problems.push(`--duration: expected seconds (or 90s, 5m, 1h), got "${values.duration}"`);
  }

  const url = values.url ?? env.TETHER_URL ?? 'http://localhost:8080';
  const httpUrl = parseUrl(url, ['http:', 'https:']);
  if (!httpUrl) problems.push(`--url: expected an http:// or https:// URL, got "${url}"`);

  const mqttUrl = values.mqtt ?? null;
  if (values.mqtt !== undefined && !parseUrl(values.mqtt, ['mqtt:', 'mqtts:', 'tcp:', 'ws:', 'wss:'])) {
    problems.push(`--mqtt: expected an mqtt://, mqtts://, ws:// or wss:// URL, got "${values.mqtt}"`);
  }

  const devicesFile = values['devices-file'] ?? null;
  const credentials = pickCredentials(values, env, problems);
  if (!devicesFile && !credentials && !problems.some((p) => p.startsWith('--email') || p.startsWith('--password'))) {
    problems.push('to create devices, sign in with --email and --password (or --api-key); or reuse devices with --devices-file');
  }

  if (problems.length) throw new SimulateOptionsError(problems);
  return {
    help: false,
    options: {
      kind: kind as KindChoice,
      devices,
      rate,
      durationS,
      qos: qos as 0 | 1,
      connectRate,
      inflight,
      url: url.replace(/\/+$/, ''),
      mqttUrl,
      credentials,
      devicesFile,
      saveFile: values.save ?? './simulated-devices.json',
      projectName: values.project ?? 'Simulator',
      templateName: values.template ?? null,
      firmwareVersion,
      videos: !values['no-video'],
      health: { degradeShare, noisyShare, speed: healthSpeed },
      ota: {
        failShare,
        failVersions: values['ota-fail-version']
          ? values['ota-fail-version']
              .split(',')
              .map((v) => v.trim())
              .filter(Boolean)
          : null,
        hangShare,
        installMs: installS * 1000,
      },
    },
  };
}

export function isSimulatedKind(value: unknown): value is SimulatedKind {
  return typeof value === 'string' && (SIMULATED_KINDS as readonly string[]).includes(value);
}

function pickCredentials(
  values: { email?: string; password?: string; 'api-key'?: string },
  env: Record<string, string | undefined>,
  problems: string[],
): ApiCredentials | null {
  const apiKey = values['api-key'] ?? env.TETHER_API_KEY;
  // A flag beats the environment as a whole, so a stray TETHER_API_KEY does not override --email.
  const flagsGiven = values.email !== undefined || values.password !== undefined;
  if (values['api-key'] !== undefined || (!flagsGiven && apiKey)) return { apiKey: apiKey! };
  const email = values.email ?? env.TETHER_EMAIL;
  const password = values.password ?? env.TETHER_PASSWORD;
  if (email && password) return { email, password };
  if (email && !password) problems.push('--password (or TETHER_PASSWORD) is needed with --email');
  if (password && !email) problems.push('--email (or TETHER_EMAIL) is needed with --password');
  return null;
}

/** "30", "30s", "5m", "1h" → seconds. */
export function parseDurationS(raw: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$/.exec(raw);
  if (!m) return null;
  const n = Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
  return n > 0 ? n : null;
}

/**
 * The MQTT address of the Tether at `url`, as its /api/v1/server-info says:
 * its host, and the ports its broker really listens on (MQTT over TLS beside
 * https). Never a guess: another broker may hold 1883 on that machine.
 */
export function mqttUrlFromServerInfo(url: string, info: { mqtt: { port: number; tlsPort: number | null } | null }): string | null {
  if (!info.mqtt) return null;
  const host = new URL(url).hostname;
  if (url.startsWith('https:') && info.mqtt.tlsPort) return `mqtts://${host}:${info.mqtt.tlsPort}`;
  return `mqtt://${host}:${info.mqtt.port}`;
}

function parseUrl(raw: string, protocols: string[]): URL | null {
  try {
    const u = new URL(raw);
    return protocols.includes(u.protocol) ? u : null;
  } catch {
    return null;
  }
}
