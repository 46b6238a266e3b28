import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_ROLES, ConfigError, loadConfig } from './config.js';

function problemsOf(env: Record<string, string | undefined>, flags: Record<string, string | undefined> = {}): string[] {
  try {
    loadConfig(env, flags);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has working defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      roles: [...ALL_ROLES],
      httpHost: '0.0.0.0',
      httpPort: 8080,
      mqttHost: '0.0.0.0',
      mqttPort: 1883,
      dataDir: path.resolve('./data'),
      databaseUrl: null,
      mqttUrl: null,
      adminEmail: null,
      adminPassword: null,
      jwtSecret: null,
      publicUrl: null,
      logLevel: 'info',
      maxPayloadBytes: 256 * 1024,
      allowSignup: false,
      tls: null,
    });
    expect(c.ingestBatchSize).toBeGreaterThan(0);
    expect(c.inactivityTimeoutS).toBe(300);
  });

  it("keeps a client's outgoing backlog limit above a window of the largest packets", () => {
    expect(loadConfig({}).mqttMaxOutgoingBytes).toBe(4 * 1024 * 1024);
    // The default grows with the payload limit: ten commands of 1 MiB (+ 64 KiB) each.
    expect(loadConfig({ TETHER_MAX_PAYLOAD_BYTES: String(1024 * 1024) }).mqttMaxOutgoingBytes).toBe(10 * 1088 * 1024);
    expect(problemsOf({ TETHER_MAX_PAYLOAD_BYTES: String(1024 * 1024), TETHER_MQTT_MAX_OUTGOING_BYTES: String(4 * 1024 * 1024) })).toEqual([
      expect.stringContaining('TETHER_MQTT_MAX_OUTGOING_BYTES=4194304: must hold 10 of the largest MQTT packets'),
    ]);
  });

  it('reads the documented environment variables', () => {
    const c = loadConfig({
      TETHER_HTTP_PORT: '9090',
      TETHER_MQTT_PORT: '1884',
      TETHER_DATA_DIR: '/tmp/tether-data',
      DATABASE_URL: 'postgres://u@db:5432/tether',
      TETHER_ADMIN_EMAIL: 'root@example.com',
      TETHER_ADMIN_PASSWORD: 'long-enough-pw',
      TETHER_ROLES: 'api, worker',
      TETHER_ALLOW_SIGNUP: 'yes',
      TETHER_LOG_LEVEL: 'debug',
    });
    expect(c).toMatchObject({
      httpPort: 9090,
      mqttPort: 1884,
      dataDir: '/tmp/tether-data',
      databaseUrl: 'postgres://u@db:5432/tether',
      adminEmail: 'root@example.com',
      adminPassword: 'long-enough-pw',
      roles: ['api', 'worker'],
      allowSignup: true,
      logLevel: 'debug',
    });
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ TETHER_HTTP_PORT: '', DATABASE_URL: '' })).toMatchObject({ httpPort: 8080, databaseUrl: null });
  });

  it('lets flags override the environment', () => {
    const c = loadConfig(
      { TETHER_HTTP_PORT: '9090', TETHER_MQTT_PORT: '1884', TETHER_ROLES: 'api', TETHER_LOG_LEVEL: 'warn' },
      { 'http-port': '7070', roles: 'worker', 'log-level': 'error' },
    );
    expect(c.httpPort).toBe(7070);
    expect(c.roles).toEqual(['worker']);
    expect(c.logLevel).toBe('error');
    // An env value without a flag still applies.
    expect(c.mqttPort).toBe(1884);
  });

  it('a valid flag rescues an invalid environment value', () => {
    expect(loadConfig({ TETHER_HTTP_PORT: 'nope' }, { 'http-port': '8081' }).httpPort).toBe(8081);
  });

  it('reports every problem at once in one ConfigError', () => {
    const env = {
      TETHER_HTTP_PORT: 'eighty',
      TETHER_MQTT_PORT: '70000',
      DATABASE_URL: 'mysql://db/tether',
      TETHER_ADMIN_EMAIL: 'not-an-email',
      TETHER_ADMIN_PASSWORD: 'short',
      TETHER_JWT_SECRET: 'too-short',
      TETHER_ROLES: 'api,frontend',
      TETHER_ALLOW_SIGNUP: 'maybe',
      TETHER_LOG_LEVEL: 'loud',
      TETHER_TLS_CERT: '/etc/cert.pem',
    };
    let error: unknown;
    try {
      loadConfig(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    const expected = [
      /TETHER_HTTP_PORT.*eighty/,
      /TETHER_MQTT_PORT.*70000/,
      /DATABASE_URL.*protocol/,
      /TETHER_ADMIN_EMAIL/,
      /TETHER_ADMIN_PASSWORD/,
      /TETHER_JWT_SECRET/,
      /TETHER_ROLES.*frontend/,
      /TETHER_ALLOW_SIGNUP.*maybe/,
      /TETHER_LOG_LEVEL.*loud/,
      /TETHER_TLS_CERT and TETHER_TLS_KEY/,
    ];
    for (const re of expected)
      expect(
        problems.some((p) => re.test(p)),
        `missing a problem matching ${re}`,
      ).toBe(true);
    expect(problems).toHaveLength(expected.length);
    // The message lists every problem, one per line.
    for (const p of problems) expect((error as Error).message).toContain(p);
  });

  it('rejects URLs that do not parse and integers out of range or with fractions', () => {
    const problems = problemsOf({
      MQTT_URL: 'not a url',
      TETHER_ROLES: 'api',
      TETHER_INGEST_BATCH_SIZE: '0',
      TETHER_INGEST_FLUSH_MS: '1.5',
      TETHER_PUBLIC_URL: 'ftp://x',
    });
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/MQTT_URL: not a valid URL/);
    expect(problems.join('\n')).toMatch(/TETHER_INGEST_BATCH_SIZE/);
    expect(problems.join('\n')).toMatch(/TETHER_INGEST_FLUSH_MS/);
    expect(problems.join('\n')).toMatch(/TETHER_PUBLIC_URL/);
  });

  it('takes MQTT_URL as the external broker mode: ingest instead of mqtt by default, and either role only in its mode', () => {
    const c = loadConfig({ MQTT_URL: 'mqtt://tether:secret@broker:1883' });
    expect(c.roles).toEqual(['api', 'ingest', 'worker']);
    expect(c.mqttUrl).toBe('mqtt://tether:secret@broker:1883');
    expect(c.mqttShareGroup).toBe('tether');
    expect(loadConfig({ MQTT_URL: 'mqtts://broker:8883', TETHER_ROLES: 'ingest', TETHER_MQTT_SHARE_GROUP: 'g1' })).toMatchObject({
      roles: ['ingest'],
      mqttShareGroup: 'g1',
    });
    expect(problemsOf({ MQTT_URL: 'mqtt://broker:1883', TETHER_ROLES: 'api,mqtt' })).toEqual([expect.stringMatching(/role "mqtt" runs the embedded broker/)]);
    expect(problemsOf({ TETHER_ROLES: 'api,ingest' })).toEqual([expect.stringMatching(/role "ingest" consumes an external broker, and MQTT_URL is not set/)]);
    expect(problemsOf({ TETHER_ROLES: 'api,ingest,nope' })).toEqual([expect.stringMatching(/unknown role\(s\) nope/)]);
    expect(problemsOf({ MQTT_URL: 'ws://broker:8080' })).toEqual([expect.stringMatching(/^MQTT_URL: protocol must be one of mqtt:, mqtts:/)]);
  });

  it('refuses a setting of the other broker mode, which would be accepted and do nothing', () => {
    const problems = problemsOf({ MQTT_URL: 'mqtt://broker:1883', TETHER_MQTT_PORT: '1884', TETHER_PRESENCE_LEASE_S: '5' });
    expect(problems).toEqual([expect.stringMatching(/^TETHER_MQTT_PORT: a setting of the embedded broker/), expect.stringMatching(/^TETHER_PRESENCE_LEASE_S/)]);
    expect(problemsOf({ TETHER_MQTT_SHARE_GROUP: 'g' })).toEqual([expect.stringMatching(/^TETHER_MQTT_SHARE_GROUP: a setting of the external broker mode/)]);
    expect(problemsOf({ MQTT_URL: 'mqtt://broker:1883', TETHER_MQTT_SHARE_GROUP: 'a/b' })).toEqual([
      expect.stringMatching(/^TETHER_MQTT_SHARE_GROUP: 1 to 64/),
    ]);
  });

  it('reports the MQTT_URL problem along with other problems', () => {
    const problems = problemsOf({ MQTT_URL: 'mqtt://broker:1883', TETHER_ROLES: 'mqtt', TETHER_HTTP_PORT: '-1' });
    expect(problems).toHaveLength(2);
  });

  it('enables TLS only with both a certificate and a key', () => {
    expect(loadConfig({ TETHER_TLS_CERT: '/c.pem', TETHER_TLS_KEY: '/k.pem' }).tls).toEqual({ certFile: '/c.pem', keyFile: '/k.pem', mqttsPort: 8883 });
    expect(problemsOf({ TETHER_TLS_KEY: '/k.pem' })).toHaveLength(1);
  });

  it('parses booleans in their common spellings', () => {
    for (const v of ['1', 'true', 'TRUE', 'yes', 'on']) expect(loadConfig({ TETHER_ALLOW_SIGNUP: v }).allowSignup, v).toBe(true);
    for (const v of ['0', 'false', 'no', 'off']) expect(loadConfig({ TETHER_ALLOW_SIGNUP: v }).allowSignup, v).toBe(false);
  });
});
