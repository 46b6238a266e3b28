/**
 * The one place that reads the environment. Every setting is parsed once and
 * every problem is reported together, so a bad deployment fails with a full list.
 */
import path from 'node:path';

export type Role = 'api' | 'mqtt' | 'ingest' | 'worker';
export const ALL_ROLES: readonly Role[] = ['api', 'mqtt', 'ingest', 'worker'];

/**
 * The accept queue's length for every listener. A fleet reconnects at once after a restart
 * or a network blip; with Node's default of 511 the kernel's queue overflows and devices wait
 * for SYN retransmits (1 s, 3 s, 7 s...). The kernel caps it at net.core.somaxconn.
 */
export const LISTEN_BACKLOG = 4096;

export interface TetherConfig {
  roles: Role[];
  httpHost: string;
  httpPort: number;
  mqttHost: string;
  mqttPort: number;
  dataDir: string;
  databaseUrl: string | null;
  mqttUrl: string | null;
  adminEmail: string | null;
  adminPassword: string | null;
  jwtSecret: string | null;
  publicUrl: string | null;
  logLevel: string;
  /** Largest accepted MQTT payload or HTTP device body, in bytes. */
  maxPayloadBytes: number;
  ingestBatchSize: number;
  ingestFlushMs: number;
  /** Messages waiting for a commit before HTTP device posts get 503. */
  ingestMaxPending: number;
  /** Seconds without data before a device counts as inactive, unless set per device or project. */
  inactivityTimeoutS: number;
  accessTokenTtlS: number;
  refreshTokenTtlS: number;
  deviceJwtTtlS: number;
  messageRetentionDays: number;
  allowSignup: boolean;
  /** A live WebSocket whose unsent data exceeds this is a slow consumer and is closed. */
  liveMaxBufferedBytes: number;
  livePingIntervalMs: number;
  tls: { certFile: string; keyFile: string; mqttsPort: number } | null;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type Env = Record<string, string | undefined>;

/** Parses flags (`--http-port=8080`) over environment variables (`TETHER_HTTP_PORT`). */
export function loadConfig(env: Env, flags: Record<string, string | undefined> = {}): TetherConfig {
  const problems: string[] = [];
  const pick = (flag: string, name: string): string | undefined => {
    const v = flags[flag] ?? env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const int = (flag: string, name: string, fallback: number, min: number, max: number): number => {
    const raw = pick(flag, name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}=${JSON.stringify(raw)}: expected an integer from ${min} to ${max}`);
      return fallback;
    }
    return n;
  };
  const bool = (flag: string, name: string, fallback: boolean): boolean => {
    const raw = pick(flag, name);
    if (raw === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    problems.push(`${name}=${JSON.stringify(raw)}: expected true or false`);
    return fallback;
  };
  const url = (flag: string, name: string, protocols: string[]): string | null => {
    const raw = pick(flag, name);
    if (raw === undefined) return null;
    try {
      const u = new URL(raw);
      if (!protocols.includes(u.protocol)) problems.push(`${name}: protocol must be one of ${protocols.join(', ')}`);
    } catch {
      problems.push(`${name}: not a valid URL`);
    }
    return raw;
  };

  const rolesRaw = pick('roles', 'TETHER_ROLES');
  let roles: Role[] = [...ALL_ROLES];
  if (rolesRaw !== undefined) {
    const parts = rolesRaw.split(',').map((r) => r.trim()).filter(Boolean);
    const bad = parts.filter((r) => !(ALL_ROLES as readonly string[]).includes(r));
    if (bad.length) problems.push(`TETHER_ROLES: unknown role(s) ${bad.join(', ')}; expected ${ALL_ROLES.join(', ')}`);
    else if (!parts.length) problems.push('TETHER_ROLES: give at least one role');
    else roles = parts as Role[];
  }

  const adminEmail = pick('admin-email', 'TETHER_ADMIN_EMAIL') ?? null;
  if (adminEmail !== null && !/^[^@\s]+@[^@\s]+$/.test(adminEmail)) problems.push('TETHER_ADMIN_EMAIL: not an email address');
  const adminPassword = pick('admin-password', 'TETHER_ADMIN_PASSWORD') ?? null;
  if (adminPassword !== null && adminPassword.length < 8) problems.push('TETHER_ADMIN_PASSWORD: use at least 8 characters');
  const jwtSecret = pick('jwt-secret', 'TETHER_JWT_SECRET') ?? null;
  if (jwtSecret !== null && jwtSecret.length < 32) problems.push('TETHER_JWT_SECRET: use at least 32 characters');

  const logLevel = pick('log-level', 'TETHER_LOG_LEVEL') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) problems.push(`TETHER_LOG_LEVEL: unknown level ${logLevel}`);

  const certFile = pick('tls-cert', 'TETHER_TLS_CERT');
  const keyFile = pick('tls-key', 'TETHER_TLS_KEY');
  if ((certFile === undefined) !== (keyFile === undefined)) problems.push('TETHER_TLS_CERT and TETHER_TLS_KEY must be set together');

  const config: TetherConfig = {
    roles,
    httpHost: pick('http-host', 'TETHER_HTTP_HOST') ?? '0.0.0.0',
    httpPort: int('http-port', 'TETHER_HTTP_PORT', 8080, 0, 65535),
    mqttHost: pick('mqtt-host', 'TETHER_MQTT_HOST') ?? '0.0.0.0',
    mqttPort: int('mqtt-port', 'TETHER_MQTT_PORT', 1883, 0, 65535),
    dataDir: path.resolve(pick('data-dir', 'TETHER_DATA_DIR') ?? './data'),
    databaseUrl: url('database-url', 'DATABASE_URL', ['postgres:', 'postgresql:']),
    mqttUrl: url('mqtt-url', 'MQTT_URL', ['mqtt:', 'mqtts:', 'tcp:', 'ws:', 'wss:']),
    adminEmail,
    adminPassword,
    jwtSecret,
    publicUrl: url('public-url', 'TETHER_PUBLIC_URL', ['http:', 'https:']),
    logLevel,
    maxPayloadBytes: int('max-payload-bytes', 'TETHER_MAX_PAYLOAD_BYTES', 256 * 1024, 64, 64 * 1024 * 1024),
    ingestBatchSize: int('ingest-batch-size', 'TETHER_INGEST_BATCH_SIZE', 5000, 1, 100_000),
    ingestFlushMs: int('ingest-flush-ms', 'TETHER_INGEST_FLUSH_MS', 5, 0, 10_000),
    ingestMaxPending: int('ingest-max-pending', 'TETHER_INGEST_MAX_PENDING', 50_000, 100, 10_000_000),
    inactivityTimeoutS: int('inactivity-timeout', 'TETHER_INACTIVITY_TIMEOUT_S', 300, 1, 31 * 86400),
    accessTokenTtlS: int('access-token-ttl', 'TETHER_ACCESS_TOKEN_TTL_S', 900, 10, 86400),
    refreshTokenTtlS: int('refresh-token-ttl', 'TETHER_REFRESH_TOKEN_TTL_S', 30 * 86400, 60, 365 * 86400),
    deviceJwtTtlS: int('device-jwt-ttl', 'TETHER_DEVICE_JWT_TTL_S', 86400, 60, 365 * 86400),
    messageRetentionDays: int('message-retention-days', 'TETHER_MESSAGE_RETENTION_DAYS', 7, 1, 3650),
    allowSignup: bool('allow-signup', 'TETHER_ALLOW_SIGNUP', false),
    liveMaxBufferedBytes: int('live-max-buffered-bytes', 'TETHER_LIVE_MAX_BUFFERED_BYTES', 4 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    livePingIntervalMs: int('live-ping-interval-ms', 'TETHER_LIVE_PING_INTERVAL_MS', 30_000, 100, 600_000),
    tls: certFile && keyFile ? { certFile, keyFile, mqttsPort: int('mqtts-port', 'TETHER_MQTTS_PORT', 8883, 0, 65535) } : null,
  };
  if (config.mqttUrl !== null && roles.includes('mqtt')) {
    problems.push('MQTT_URL is set, so the embedded broker (role "mqtt") cannot also run; drop one of them');
  }
  if (problems.length) throw new ConfigError(problems);
  return config;
}
