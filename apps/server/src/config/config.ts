/**
 * The one place that reads the environment. Every setting is parsed once and
 * every problem is reported together, so a bad deployment fails with a full list.
 */
import path from 'node:path';

export type Role = 'api' | 'mqtt' | 'ingest' | 'worker';
/** The roles of a node by default: with the embedded broker (`mqtt`). */
export const ALL_ROLES: readonly Role[] = ['api', 'mqtt', 'worker'];
/** The roles of a node by default with an external broker (MQTT_URL): `ingest` consumes it instead of `mqtt`. */
export const EXTERNAL_BROKER_ROLES: readonly Role[] = ['api', 'ingest', 'worker'];
const KNOWN_ROLES: readonly Role[] = ['api', 'mqtt', 'ingest', 'worker'];
/** Settings of the embedded broker: with MQTT_URL there is none, so setting one is a configuration error. */
const EMBEDDED_BROKER_FLAGS = [
  'mqtt-port',
  'mqtt-host',
  'mqtts-port',
  'mqtt-receive-maximum',
  'mqtt-max-pending-per-ip',
  'mqtt-max-pending',
  'mqtt-max-connections-per-ip',
  'mqtt-max-outgoing-bytes',
  'mqtt-slow-reader-timeout',
  'mqtt-connect-hold',
  'presence-lease',
  'mqtt-connects-per-device-per-minute',
  'mqtt-auth-failures-per-minute',
];

/**
 * The accept queue's length for every listener. A fleet reconnects at once after a restart
 * or a network blip; with Node's default of 511 the kernel's queue overflows and devices wait
 * for SYN retransmits (1 s, 3 s, 7 s...). The kernel caps it at net.core.somaxconn.
 */
export const LISTEN_BACKLOG = 4096;
/** What an MQTT packet may carry around its payload (topic, properties, header) within the broker's Maximum Packet Size. */
export const MQTT_PACKET_OVERHEAD_BYTES = 64 * 1024;
/**
 * Commands of one device sent over MQTT and not yet PUBACKed at once; the next queued one
 * goes when one is acknowledged or ends. A device that stops reading holds at most this
 * many, so a client's outgoing backlog limit must hold a window of the largest packets.
 */
export const MQTT_COMMANDS_IN_FLIGHT = 10;

export interface TetherConfig {
  roles: Role[];
  httpHost: string;
  httpPort: number;
  mqttHost: string;
  mqttPort: number;
  dataDir: string;
  databaseUrl: string | null;
  /** NATS or Redis for the cluster's events; null: PostgreSQL's LISTEN/NOTIFY (or in-process when embedded). */
  busUrl: string | null;
  /** Name of the bus channel (NOTIFY channel, NATS subject prefix, Redis channel prefix): one per cluster. */
  busChannel: string;
  /** An external MQTT broker (mqtt://user:pass@host:port): devices connect there, `ingest` nodes consume it. Null: the embedded broker. */
  mqttUrl: string | null;
  /** The MQTT 5 shared subscription group of the ingest nodes ($share/<group>/devices/+/…). */
  mqttShareGroup: string;
  /** The ingest node's MQTT client id at the external broker; stable across restarts, so its session (and queue) is found again. */
  mqttClientId: string | null;
  /** With MQTT_URL: how the broker learns device credentials (README, External MQTT broker). */
  brokerCredentials: 'none' | 'mosquitto-dynsec';
  adminEmail: string | null;
  /** Where e-mail goes out (alarm notifications); null: none is sent. */
  smtp: { url: string; from: string } | null;
  /** Files (firmware, photos) in an S3-compatible bucket; null: on local disk under the data dir. */
  s3: {
    bucket: string;
    prefix: string;
    endpoint: string | null;
    region: string;
    forcePathStyle: boolean;
    credentials: { accessKeyId: string; secretAccessKey: string } | null;
  } | null;
  adminPassword: string | null;
  jwtSecret: string | null;
  /** The bearer token an external broker sends to /api/v1/broker/auth and /acl; null: those routes do not exist. */
  brokerAuthToken: string | null;
  publicUrl: string | null;
  logLevel: string;
  /** Largest accepted MQTT payload or HTTP device body, in bytes. */
  maxPayloadBytes: number;
  /** Largest store-and-forward report, in bytes. */
  reportMaxBytes: number;
  ingestBatchSize: number;
  ingestFlushMs: number;
  /** The ingest budget: uncommitted messages, and their payload bytes, held at once. */
  ingestMaxPending: number;
  ingestMaxPendingBytes: number;
  /** MQTT 5 Receive Maximum, and the publishes of one connection decoded at once. */
  mqttReceiveMaximum: number;
  /** Ingest quotas, messages a second; 0 is none. */
  ingestQuota: { perDevice: number; perOrg: number };
  /** MQTT connections not yet signed in, per IP and in all, and every connection per IP (0: no cap). */
  mqttConnectionCaps: { pendingPerIp: number; pendingTotal: number; perIp: number };
  /** Bytes sent to one MQTT client and not yet taken past which it is dropped as not reading. */
  mqttMaxOutgoingBytes: number;
  mqttSlowReaderTimeoutS: number;
  /** Seconds a CONNECT waits for the database before its connection is closed unanswered. */
  mqttConnectHoldS: number;
  /** Seconds between a node's presence lease renewals; its devices go offline 2 leases after it dies. */
  presenceLeaseS: number;
  /** Seconds without data before a device counts as inactive, unless set per device or project. */
  inactivityTimeoutS: number;
  accessTokenTtlS: number;
  refreshTokenTtlS: number;
  deviceJwtTtlS: number;
  messageRetentionDays: number;
  /** Device files (issue 15): bytes per org, largest file, retention in days (0 keeps them). */
  files: { quotaBytes: number; maxFileBytes: number; retentionDays: number };
  /** Seconds between the worker's early-warning scans of the fleet's heartbeats (issue 16). */
  healthScanS: number;
  allowSignup: boolean;
  mqttAuthFailuresPerMinute: number;
  mqttConnectsPerDevicePerMinute: number;
  /** Sign-in attempts per minute, per IP and per e-mail. */
  loginLimits: { perIp: number; perAccount: number };
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

/**
 * Every setting of `tether start`: its flag, its environment variable, its
 * default as shown, and what it does. loadConfig reads only what is declared
 * here, the CLI builds its options and --help from it, and a test checks the
 * README's table against it.
 */
export interface SettingSpec {
  flag: string;
  env: string;
  default: string;
  description: string;
}
export const SETTINGS: readonly SettingSpec[] = [
  { flag: 'http-port', env: 'TETHER_HTTP_PORT', default: '8080', description: 'HTTP: web, REST, live WebSocket, MQTT over WebSocket' },
  { flag: 'mqtt-port', env: 'TETHER_MQTT_PORT', default: '1883', description: 'MQTT over TCP' },
  { flag: 'data-dir', env: 'TETHER_DATA_DIR', default: '`./data`', description: 'PGlite files and local storage' },
  { flag: 'database-url', env: 'DATABASE_URL', default: 'unset: embedded PGlite', description: '`postgres://…` to use PostgreSQL 15+' },
  {
    flag: 'mqtt-url',
    env: 'MQTT_URL',
    default: 'unset: embedded broker',
    description:
      '`mqtt://user:pass@host:port` or `mqtts://…`: an external MQTT 5 broker (README, External MQTT broker). Devices connect to it, nodes with the `ingest` role consume it; the `mqtt` role and the embedded broker settings are then configuration errors',
  },
  {
    flag: 'mqtt-share-group',
    env: 'TETHER_MQTT_SHARE_GROUP',
    default: '`tether`',
    description: 'with MQTT_URL: the shared subscription group of the ingest nodes (`$share/<group>/devices/+/…`); each message goes to one node of the group',
  },
  {
    flag: 'mqtt-client-id',
    env: 'TETHER_MQTT_CLIENT_ID',
    default: '`tether-ingest-<host>-<hash of data dir>`',
    description:
      "with MQTT_URL: this node's client id at the broker. Keep it across restarts: the broker keeps the messages for it while it is down under this id. Unique per node",
  },
  {
    flag: 'broker-credentials',
    env: 'TETHER_BROKER_CREDENTIALS',
    default: '`none`',
    description:
      "with MQTT_URL: `mosquitto-dynsec` keeps the broker's clients in step with Tether's devices through Mosquitto's dynamic security plugin (MQTT_URL's user must be its admin); `none`: the broker's own set-up",
  },
  {
    flag: 'bus-url',
    env: 'TETHER_BUS_URL',
    default: 'unset: PostgreSQL LISTEN/NOTIFY',
    description: "`nats://…` or `redis://…`: the cluster's event bus (live data, commands, revocations between nodes); needs DATABASE_URL",
  },
  {
    flag: 'bus-channel',
    env: 'TETHER_BUS_CHANNEL',
    default: '`tether`',
    description: "the cluster's name on the bus (NOTIFY channel, NATS subject, Redis channel); clusters sharing a bus server use different ones",
  },
  {
    flag: 'roles',
    env: 'TETHER_ROLES',
    default: '`api,mqtt,worker`; with MQTT_URL `api,ingest,worker`',
    description: '`api` (HTTP), `mqtt` (the embedded broker), `ingest` (consume the broker of MQTT_URL; only with it), `worker` (jobs)',
  },
  {
    flag: 'smtp-url',
    env: 'TETHER_SMTP_URL',
    default: 'unset: no e-mail',
    description: '`smtp://user:pass@host:port` (STARTTLS when offered) or `smtps://…`: the server alarm e-mails go through',
  },
  { flag: 'smtp-from', env: 'TETHER_SMTP_FROM', default: '`Tether <tether@localhost>`', description: 'the From of the e-mails Tether sends' },
  {
    flag: 's3-bucket',
    env: 'TETHER_S3_BUCKET',
    default: 'unset: files on local disk under the data dir',
    description: 'keep files (firmware, photos) in this S3-compatible bucket, which every node of a cluster reads (AWS S3, MinIO, GCS interoperability)',
  },
  {
    flag: 's3-endpoint',
    env: 'TETHER_S3_ENDPOINT',
    default: 'unset: AWS',
    description: 'the S3-compatible server, e.g. `http://minio:9000` or `https://storage.googleapis.com`',
  },
  { flag: 's3-region', env: 'TETHER_S3_REGION', default: '`us-east-1`', description: 'the bucket’s region' },
  { flag: 's3-prefix', env: 'TETHER_S3_PREFIX', default: 'empty', description: 'a prefix for every key Tether writes in the bucket, e.g. `tether/`' },
  {
    flag: 's3-force-path-style',
    env: 'TETHER_S3_FORCE_PATH_STYLE',
    default: '`true` with an endpoint, else `false`',
    description: 'path-style URLs (`endpoint/bucket/key`), which most S3-compatible servers need',
  },
  {
    flag: 's3-access-key-id',
    env: 'TETHER_S3_ACCESS_KEY_ID',
    default: 'unset: the AWS SDK’s own chain (AWS_* variables, profile, instance role)',
    description: 'the access key; set it with TETHER_S3_SECRET_ACCESS_KEY, in the environment',
  },
  {
    flag: 's3-secret-access-key',
    env: 'TETHER_S3_SECRET_ACCESS_KEY',
    default: 'unset',
    description: 'the secret key; set it in the environment, not on the command line',
  },
  {
    flag: 'admin-email',
    env: 'TETHER_ADMIN_EMAIL',
    default: '`admin@tether.local`',
    description: 'the first admin, created once the server is listening on an empty database',
  },
  {
    flag: 'admin-password',
    env: 'TETHER_ADMIN_PASSWORD',
    default: 'generated, printed',
    description: "the first admin's password (at least 8 characters); set it in the environment, not on the command line",
  },
  { flag: 'http-host', env: 'TETHER_HTTP_HOST', default: '`0.0.0.0`', description: 'HTTP listen address' },
  { flag: 'mqtt-host', env: 'TETHER_MQTT_HOST', default: '`0.0.0.0`', description: 'MQTT listen address' },
  {
    flag: 'tls-cert',
    env: 'TETHER_TLS_CERT',
    default: 'unset',
    description: 'PEM certificate: HTTPS on the HTTP port, and MQTT over TLS on the MQTTS port (set with the key)',
  },
  { flag: 'tls-key', env: 'TETHER_TLS_KEY', default: 'unset', description: 'PEM private key for the certificate' },
  { flag: 'mqtts-port', env: 'TETHER_MQTTS_PORT', default: '8883', description: 'MQTT over TLS, when a certificate is set' },
  {
    flag: 'jwt-secret',
    env: 'TETHER_JWT_SECRET',
    default: 'unset: the key file `jwt-master.key` in the data dir, created once',
    description:
      'the key that encrypts the JWT signing keys kept in the database (at least 32 characters); every node sharing a database needs the same one. Set it in the environment, not on the command line',
  },
  {
    flag: 'broker-auth-token',
    env: 'TETHER_BROKER_AUTH_TOKEN',
    default: 'unset: broker auth off',
    description:
      'at least 32 characters: an external broker (EMQX HTTP auth) asks `POST /api/v1/broker/auth` and `/acl` with it as a bearer token; unset, those routes answer 404. Set it in the environment',
  },
  { flag: 'max-payload-bytes', env: 'TETHER_MAX_PAYLOAD_BYTES', default: '262144', description: 'largest MQTT payload or HTTP body' },
  {
    flag: 'report-max-bytes',
    env: 'TETHER_REPORT_MAX_BYTES',
    default: '1073741824',
    description: 'largest store-and-forward report a device may upload (streamed to file storage; larger is 413)',
  },
  { flag: 'ingest-batch-size', env: 'TETHER_INGEST_BATCH_SIZE', default: '5000', description: 'most messages in one ingest transaction' },
  { flag: 'ingest-flush-ms', env: 'TETHER_INGEST_FLUSH_MS', default: '5', description: 'longest wait before a partial batch is written' },
  {
    flag: 'ingest-max-pending',
    env: 'TETHER_INGEST_MAX_PENDING',
    default: '20000',
    description: 'the ingest budget: uncommitted messages held at once; past it MQTT publishes wait (and their PUBACK) and HTTP device posts get 503',
  },
  {
    flag: 'ingest-max-pending-bytes',
    env: 'TETHER_INGEST_MAX_PENDING_BYTES',
    default: '67108864',
    description: 'the ingest budget in payload bytes of uncommitted messages, with the same effect',
  },
  {
    flag: 'ingest-device-rate',
    env: 'TETHER_INGEST_DEVICE_RATE',
    default: '1000',
    description: 'messages a second one device may send; past it MQTT publishes wait (and their PUBACK) and HTTP posts get 429 QUOTA_EXCEEDED; 0 is no quota',
  },
  {
    flag: 'ingest-org-rate',
    env: 'TETHER_INGEST_ORG_RATE',
    default: '0',
    description: 'messages a second all the devices of one org may send, with the same effect; 0 is no quota',
  },
  {
    flag: 'mqtt-receive-maximum',
    env: 'TETHER_MQTT_RECEIVE_MAXIMUM',
    default: '100',
    description: 'QoS 1 publishes of one connection in progress at once; sent to MQTT 5 clients as Receive Maximum, later ones wait unread',
  },
  {
    flag: 'inactivity-timeout',
    env: 'TETHER_INACTIVITY_TIMEOUT_S',
    default: '300',
    description: 'seconds without data before a device counts as inactive; override per project or device',
  },
  { flag: 'access-token-ttl', env: 'TETHER_ACCESS_TOKEN_TTL_S', default: '900', description: 'access token lifetime, seconds' },
  { flag: 'refresh-token-ttl', env: 'TETHER_REFRESH_TOKEN_TTL_S', default: '2592000', description: 'refresh token lifetime, seconds' },
  { flag: 'device-jwt-ttl', env: 'TETHER_DEVICE_JWT_TTL_S', default: '86400', description: 'device JWT lifetime, seconds' },
  { flag: 'message-retention-days', env: 'TETHER_MESSAGE_RETENTION_DAYS', default: '7', description: 'raw message history retention' },
  {
    flag: 'file-quota-bytes',
    env: 'TETHER_FILE_QUOTA_BYTES',
    default: '10737418240',
    description: 'bytes of device files an org may hold (uploads in progress count at their size); past it 413 FILE_QUOTA_EXCEEDED',
  },
  { flag: 'file-max-bytes', env: 'TETHER_FILE_MAX_BYTES', default: '5368709120', description: 'largest device file (video, log…) accepted' },
  { flag: 'file-retention-days', env: 'TETHER_FILE_RETENTION_DAYS', default: '90', description: 'device files older than this are deleted; 0 keeps them' },
  {
    flag: 'health-scan',
    env: 'TETHER_HEALTH_SCAN_S',
    default: '300',
    description: "seconds between early-warning scans of every device's recent heartbeat gaps (Fleet Health's at-risk list)",
  },
  {
    flag: 'login-limit-per-ip',
    env: 'TETHER_LOGIN_LIMIT_PER_IP',
    default: '30',
    description: 'sign-in attempts per minute from one IP; more get 429 RATE_LIMITED',
  },
  { flag: 'login-limit-per-account', env: 'TETHER_LOGIN_LIMIT_PER_ACCOUNT', default: '10', description: 'sign-in attempts per minute for one e-mail address' },
  {
    flag: 'mqtt-max-pending-per-ip',
    env: 'TETHER_MQTT_MAX_PENDING_PER_IP',
    default: '1000',
    description: 'MQTT connections from one IP that have not signed in yet; further ones are closed on accept',
  },
  {
    flag: 'mqtt-max-pending',
    env: 'TETHER_MQTT_MAX_PENDING',
    default: '10000',
    description: 'MQTT connections not signed in yet, over every IP; further ones are closed on accept',
  },
  {
    flag: 'mqtt-max-connections-per-ip',
    env: 'TETHER_MQTT_MAX_CONNECTIONS_PER_IP',
    default: '0',
    description: 'open MQTT connections from one IP, signed in or not; 0 is no cap (devices behind a carrier NAT share an IP)',
  },
  {
    flag: 'mqtt-max-outgoing-bytes',
    env: 'TETHER_MQTT_MAX_OUTGOING_BYTES',
    default: '4194304',
    description:
      'bytes sent to one MQTT client and not yet taken by its network; past it the client counts as not reading and is dropped. At least 10 of the largest packets (the default grows with TETHER_MAX_PAYLOAD_BYTES)',
  },
  {
    flag: 'mqtt-slow-reader-timeout',
    env: 'TETHER_MQTT_SLOW_READER_TIMEOUT_S',
    default: '30',
    description: 'seconds bytes sent to an MQTT client may wait with none taken before it counts as not reading and is dropped',
  },
  {
    flag: 'mqtt-connect-hold',
    env: 'TETHER_MQTT_CONNECT_HOLD_S',
    default: '20',
    description:
      'seconds an MQTT CONNECT waits for the database (restart, failover) before its connection is closed unanswered, so that the client reconnects; never a refusing CONNACK',
  },
  {
    flag: 'presence-lease',
    env: 'TETHER_PRESENCE_LEASE_S',
    default: '10',
    description: "seconds between renewals of a node's lease on its connected devices; they go offline within 2 leases of the node dying",
  },
  {
    flag: 'mqtt-connects-per-device-per-minute',
    env: 'TETHER_MQTT_CONNECTS_PER_DEVICE_PER_MINUTE',
    default: '30',
    description:
      'successful MQTT CONNECTs of one device per minute answered at once; each further CONNACK is answered late (up to 5 s), never refused; 0 is no limit',
  },
  {
    flag: 'mqtt-auth-failures-per-minute',
    env: 'TETHER_MQTT_AUTH_FAILURES_PER_MINUTE',
    default: '10',
    description: 'MQTT CONNECTs refused for bad credentials per minute from one IP before each further refusal is answered late (up to 5 s)',
  },
  { flag: 'allow-signup', env: 'TETHER_ALLOW_SIGNUP', default: 'false', description: 'self-service sign-up of new orgs' },
  { flag: 'log-level', env: 'TETHER_LOG_LEVEL', default: 'info', description: 'pino level: fatal, error, warn, info, debug, trace, silent' },
  {
    flag: 'public-url',
    env: 'TETHER_PUBLIC_URL',
    default: 'unset',
    description: 'the URL the server is reached at: in the OpenAPI document, in e-mailed links (invitations, password resets) and in firmware download links',
  },
  {
    flag: 'live-max-buffered-bytes',
    env: 'TETHER_LIVE_MAX_BUFFERED_BYTES',
    default: '4194304',
    description: 'a live WebSocket with more unsent data is a slow consumer and is closed (code 4008)',
  },
  {
    flag: 'live-ping-interval-ms',
    env: 'TETHER_LIVE_PING_INTERVAL_MS',
    default: '30000',
    description: 'live WebSocket ping; no pong within one interval closes the socket',
  },
];
const SETTING_BY_FLAG = new Map(SETTINGS.map((st) => [st.flag, st]));

/** The README's table of settings, as SETTINGS gives it. */
export function settingsTable(): string {
  const rows = SETTINGS.map((st) => `| \`${st.env}\` | \`--${st.flag}\` | ${st.default} | ${st.description} |`);
  return ['| variable | flag | default | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

type Env = Record<string, string | undefined>;

/** Parses flags (`--http-port=8080`) over environment variables (`TETHER_HTTP_PORT`). */
export function loadConfig(env: Env, flags: Record<string, string | undefined> = {}): TetherConfig {
  const problems: string[] = [];
  const envName = (flag: string): string => {
    const spec = SETTING_BY_FLAG.get(flag);
    if (!spec) throw new Error(`setting --${flag} is not declared in SETTINGS`);
    return spec.env;
  };
  const pick = (flag: string): string | undefined => {
    const v = flags[flag] ?? env[envName(flag)];
    return v === undefined || v === '' ? undefined : v;
  };
  const int = (flag: string, fallback: number, min: number, max: number): number => {
    const name = envName(flag);
    const raw = pick(flag);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}=${JSON.stringify(raw)}: expected an integer from ${min} to ${max}`);
      return fallback;
    }
    return n;
  };
  const bool = (flag: string, fallback: boolean): boolean => {
    const name = envName(flag);
    const raw = pick(flag);
    if (raw === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    problems.push(`${name}=${JSON.stringify(raw)}: expected true or false`);
    return fallback;
  };
  const url = (flag: string, protocols: string[]): string | null => {
    const name = envName(flag);
    const raw = pick(flag);
    if (raw === undefined) return null;
    try {
      const u = new URL(raw);
      if (!protocols.includes(u.protocol)) problems.push(`${name}: protocol must be one of ${protocols.join(', ')}`);
    } catch {
      problems.push(`${name}: not a valid URL`);
    }
    return raw;
  };

  const rolesRaw = pick('roles');
  const external = pick('mqtt-url') !== undefined;
  let roles: Role[] = [...(external ? EXTERNAL_BROKER_ROLES : ALL_ROLES)];
  if (rolesRaw !== undefined) {
    const parts = rolesRaw
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean);
    const bad = parts.filter((r) => !(KNOWN_ROLES as readonly string[]).includes(r));
    if (bad.length) problems.push(`TETHER_ROLES: unknown role(s) ${bad.join(', ')}; expected ${KNOWN_ROLES.join(', ')}`);
    else if (!parts.length) problems.push('TETHER_ROLES: give at least one role');
    else roles = parts as Role[];
  }
  // Either broker, never both: a role or setting of the other mode would be accepted and do nothing.
  if (external && roles.includes('mqtt'))
    problems.push('TETHER_ROLES: role "mqtt" runs the embedded broker, and MQTT_URL names an external one; use "ingest" to consume it, or unset MQTT_URL');
  if (!external && roles.includes('ingest'))
    problems.push('TETHER_ROLES: role "ingest" consumes an external broker, and MQTT_URL is not set; set it, or use "mqtt" (the embedded broker)');
  for (const flag of external ? EMBEDDED_BROKER_FLAGS : ['mqtt-share-group', 'mqtt-client-id', 'broker-credentials']) {
    if (pick(flag) === undefined) continue;
    problems.push(
      external
        ? `${envName(flag)}: a setting of the embedded broker, which does not run with MQTT_URL; unset it (configure the external broker instead)`
        : `${envName(flag)}: a setting of the external broker mode; set MQTT_URL too, or unset it`,
    );
  }
  const mqttShareGroup = pick('mqtt-share-group') ?? 'tether';
  // MQTT-4.8.2-2: a ShareName has no "/", "+" or "#".
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(mqttShareGroup)) problems.push('TETHER_MQTT_SHARE_GROUP: 1 to 64 letters, digits, _ or -');
  const brokerCredentials = pick('broker-credentials') ?? 'none';
  if (brokerCredentials !== 'none' && brokerCredentials !== 'mosquitto-dynsec') problems.push('TETHER_BROKER_CREDENTIALS: `none` or `mosquitto-dynsec`');
  const mqttClientId = pick('mqtt-client-id') ?? null;
  if (mqttClientId !== null && !/^[A-Za-z0-9_.:-]{1,128}$/.test(mqttClientId)) problems.push('TETHER_MQTT_CLIENT_ID: 1 to 128 letters, digits, _ . : or -');

  const smtpUrl = url('smtp-url', ['smtp:', 'smtps:']);
  const smtpFrom = pick('smtp-from') ?? 'Tether <tether@localhost>';
  const s3Bucket = pick('s3-bucket') ?? null;
  const s3Endpoint = url('s3-endpoint', ['http:', 'https:']);
  const s3KeyId = pick('s3-access-key-id') ?? null;
  const s3Secret = pick('s3-secret-access-key') ?? null;
  if ((s3KeyId === null) !== (s3Secret === null)) problems.push('TETHER_S3_ACCESS_KEY_ID and TETHER_S3_SECRET_ACCESS_KEY: set both, or neither');
  if (s3Bucket === null) {
    for (const flag of ['s3-endpoint', 's3-region', 's3-prefix', 's3-force-path-style', 's3-access-key-id', 's3-secret-access-key']) {
      if (pick(flag) !== undefined) problems.push(`${envName(flag)}: a setting of S3 storage, which TETHER_S3_BUCKET turns on; set it too, or unset this`);
    }
  }
  const s3 =
    s3Bucket === null
      ? null
      : {
          bucket: s3Bucket,
          prefix: pick('s3-prefix') ?? '',
          endpoint: s3Endpoint,
          region: pick('s3-region') ?? 'us-east-1',
          forcePathStyle: bool('s3-force-path-style', s3Endpoint !== null),
          credentials: s3KeyId && s3Secret ? { accessKeyId: s3KeyId, secretAccessKey: s3Secret } : null,
        };
  const adminEmail = pick('admin-email') ?? null;
  if (adminEmail !== null && !/^[^@\s]+@[^@\s]+$/.test(adminEmail)) problems.push('TETHER_ADMIN_EMAIL: not an email address');
  const adminPassword = pick('admin-password') ?? null;
  if (adminPassword !== null && adminPassword.length < 8) problems.push('TETHER_ADMIN_PASSWORD: use at least 8 characters');
  const jwtSecret = pick('jwt-secret') ?? null;
  if (jwtSecret !== null && jwtSecret.length < 32) problems.push('TETHER_JWT_SECRET: use at least 32 characters');
  const brokerAuthToken = pick('broker-auth-token') ?? null;
  if (brokerAuthToken !== null && brokerAuthToken.length < 32) problems.push('TETHER_BROKER_AUTH_TOKEN: use at least 32 characters');

  const logLevel = pick('log-level') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) problems.push(`TETHER_LOG_LEVEL: unknown level ${logLevel}`);

  const certFile = pick('tls-cert');
  const keyFile = pick('tls-key');
  if ((certFile === undefined) !== (keyFile === undefined)) problems.push('TETHER_TLS_CERT and TETHER_TLS_KEY must be set together');

  const busChannel = pick('bus-channel');
  if (busChannel !== undefined && !/^[a-z0-9_]{1,40}$/.test(busChannel)) problems.push('TETHER_BUS_CHANNEL: 1 to 40 lowercase letters, digits or _');

  const config: TetherConfig = {
    roles,
    httpHost: pick('http-host') ?? '0.0.0.0',
    httpPort: int('http-port', 8080, 0, 65535),
    mqttHost: pick('mqtt-host') ?? '0.0.0.0',
    mqttPort: int('mqtt-port', 1883, 0, 65535),
    dataDir: path.resolve(pick('data-dir') ?? './data'),
    databaseUrl: url('database-url', ['postgres:', 'postgresql:']),
    busUrl: url('bus-url', ['nats:', 'redis:', 'rediss:']),
    busChannel: pick('bus-channel') ?? 'tether',
    mqttUrl: url('mqtt-url', ['mqtt:', 'mqtts:']),
    mqttShareGroup,
    mqttClientId,
    brokerCredentials: brokerCredentials as TetherConfig['brokerCredentials'],
    adminEmail,
    smtp: smtpUrl ? { url: smtpUrl, from: smtpFrom } : null,
    s3,
    adminPassword,
    jwtSecret,
    brokerAuthToken,
    publicUrl: url('public-url', ['http:', 'https:']),
    logLevel,
    maxPayloadBytes: int('max-payload-bytes', 256 * 1024, 64, 64 * 1024 * 1024),
    reportMaxBytes: int('report-max-bytes', 1024 ** 3, 1024, 64 * 1024 ** 3),
    ingestBatchSize: int('ingest-batch-size', 5000, 1, 100_000),
    ingestFlushMs: int('ingest-flush-ms', 5, 0, 10_000),
    ingestMaxPending: int('ingest-max-pending', 20_000, 1, 10_000_000),
    ingestMaxPendingBytes: int('ingest-max-pending-bytes', 64 * 1024 * 1024, 1024, 16 * 1024 * 1024 * 1024),
    mqttReceiveMaximum: int('mqtt-receive-maximum', 100, 1, 65535),
    ingestQuota: { perDevice: int('ingest-device-rate', 1000, 0, 100_000_000), perOrg: int('ingest-org-rate', 0, 0, 100_000_000) },
    mqttConnectionCaps: {
      pendingPerIp: int('mqtt-max-pending-per-ip', 1000, 1, 10_000_000),
      pendingTotal: int('mqtt-max-pending', 10_000, 1, 10_000_000),
      perIp: int('mqtt-max-connections-per-ip', 0, 0, 10_000_000),
    },
    mqttMaxOutgoingBytes: 0, // below: its default follows the payload limit
    mqttSlowReaderTimeoutS: int('mqtt-slow-reader-timeout', 30, 1, 3600),
    mqttConnectHoldS: int('mqtt-connect-hold', 20, 1, 600),
    presenceLeaseS: int('presence-lease', 10, 1, 3600),
    inactivityTimeoutS: int('inactivity-timeout', 300, 1, 31 * 86400),
    accessTokenTtlS: int('access-token-ttl', 900, 10, 86400),
    refreshTokenTtlS: int('refresh-token-ttl', 30 * 86400, 60, 365 * 86400),
    deviceJwtTtlS: int('device-jwt-ttl', 86400, 60, 365 * 86400),
    messageRetentionDays: int('message-retention-days', 7, 1, 3650),
    files: {
      quotaBytes: int('file-quota-bytes', 10 * 1024 ** 3, 0, Number.MAX_SAFE_INTEGER),
      maxFileBytes: int('file-max-bytes', 5 * 1024 ** 3, 1, 5 * 1024 ** 4),
      retentionDays: int('file-retention-days', 90, 0, 36500),
    },
    healthScanS: int('health-scan', 300, 5, 86400),
    allowSignup: bool('allow-signup', false),
    mqttAuthFailuresPerMinute: int('mqtt-auth-failures-per-minute', 10, 1, 1_000_000),
    mqttConnectsPerDevicePerMinute: int('mqtt-connects-per-device-per-minute', 30, 0, 1_000_000),
    loginLimits: { perIp: int('login-limit-per-ip', 30, 1, 1_000_000), perAccount: int('login-limit-per-account', 10, 1, 1_000_000) },
    liveMaxBufferedBytes: int('live-max-buffered-bytes', 4 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    livePingIntervalMs: int('live-ping-interval-ms', 30_000, 100, 600_000),
    tls: certFile && keyFile ? { certFile, keyFile, mqttsPort: int('mqtts-port', 8883, 0, 65535) } : null,
  };
  const windowBytes = MQTT_COMMANDS_IN_FLIGHT * (config.maxPayloadBytes + MQTT_PACKET_OVERHEAD_BYTES);
  config.mqttMaxOutgoingBytes = int('mqtt-max-outgoing-bytes', Math.max(4 * 1024 * 1024, windowBytes), 64 * 1024, 1024 * 1024 * 1024);
  if (config.mqttMaxOutgoingBytes < windowBytes) {
    // A healthy device sent a burst of its largest commands would count as not reading.
    problems.push(
      `TETHER_MQTT_MAX_OUTGOING_BYTES=${config.mqttMaxOutgoingBytes}: must hold ${MQTT_COMMANDS_IN_FLIGHT} of the largest MQTT packets (TETHER_MAX_PAYLOAD_BYTES + 64 KiB each), at least ${windowBytes}`,
    );
  }
  // Embedded PGlite is one process's files: there is no second node to talk to.
  if (config.busUrl && !config.databaseUrl)
    problems.push('TETHER_BUS_URL: a bus joins nodes that share a PostgreSQL database; set DATABASE_URL too, or unset TETHER_BUS_URL');
  if (problems.length) throw new ConfigError(problems);
  return config;
}
