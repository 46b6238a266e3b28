/**
 * A private Mosquitto 2 on a free port (the machine's own, on 1883, is never
 * touched), configured as README "External MQTT broker" says: password file,
 * ACL with `pattern readwrite devices/%u/#`, persistence, no queue limit; or,
 * with `auth: 'dynsec'`, the dynamic security plugin initialised with
 * `mosquitto_ctrl dynsec init` and the service user as its admin.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import type { TetherClient } from '@tether/api-client';
import { until } from './helpers.js';
import { accepting } from './private-bus-servers.js';
import { freePort } from './private-postgres.js';

export const MOSQUITTO = '/usr/sbin/mosquitto';

/** Debian's mosquitto package ships the plugin here. */
function dynsecPlugin(): string {
  const found = execFileSync('dpkg', ['-L', 'mosquitto'], { encoding: 'utf8' })
    .split('\n')
    .find((f) => f.endsWith('/mosquitto_dynamic_security.so'));
  if (!found) throw new Error("Mosquitto's dynamic security plugin is not installed (package mosquitto)");
  return found;
}

export interface PrivateMosquitto {
  port: number;
  /** mqtt://user:pass@127.0.0.1:port */
  urlFor(user: string, password: string): string;
  /** Adds (or replaces) a client in the password file; takes effect at the next start or reload. */
  addClient(user: string, password: string): void;
  /** Reloads the password and ACL files (SIGHUP). */
  reload(): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
  log(): string;
  /** With dynsec: the plugin's saved state (its clients and roles). */
  dynsecState(): { clients: { username: string; roles?: { rolename: string }[] }[]; roles: { rolename: string }[] };
  close(): Promise<void>;
}

export async function privateMosquitto(service: { user: string; password: string }, opts: { auth?: 'files' | 'dynsec' } = {}): Promise<PrivateMosquitto> {
  const dynsec = opts.auth === 'dynsec';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-mosquitto-'));
  const port = await freePort();
  const passwd = path.join(dir, 'passwd');
  const acl = path.join(dir, 'acl');
  fs.writeFileSync(passwd, '');
  fs.writeFileSync(
    acl,
    [
      // Tether's own client: consumes every device's uplink (shared subscriptions), publishes commands and config.
      `user ${service.user}`,
      'topic readwrite devices/#',
      'topic readwrite $share/#',
      '',
      // Every other client is a device: username = device id, its own tree only.
      'pattern readwrite devices/%u/#',
      '',
    ].join('\n'),
  );
  const dynsecFile = path.join(dir, 'dynamic-security.json');
  if (dynsec) execFileSync('mosquitto_ctrl', ['dynsec', 'init', dynsecFile, service.user, service.password]);
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      // Started as root, Mosquitto would switch to user mosquitto, who cannot read this private directory.
      'user root',
      'allow_anonymous false',
      ...(dynsec ? [`plugin ${dynsecPlugin()}`, `plugin_opt_config_file ${dynsecFile}`] : [`password_file ${passwd}`, `acl_file ${acl}`]),
      'persistence true',
      `persistence_location ${dir}/`,
      // Not 0 ("no limit"): Mosquitto 2.0.11 then drops an MQTT 5 client's connection after refusing one of its QoS 1 publishes (README).
      'max_queued_messages 10000000',
      `log_dest file ${dir}/mosquitto.log`,
      'log_type error',
      'log_type warning',
      'log_type notice',
      '',
    ].join('\n'),
  );
  const addClient = (user: string, password: string) => execFileSync('mosquitto_passwd', ['-b', passwd, user, password]);
  if (!dynsec) addClient(service.user, service.password);
  let proc: ChildProcess | null = null;
  const start = async () => {
    proc = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' });
    await accepting(port);
  };
  const stop = async () => {
    const p = proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
    proc = null;
  };
  await start();
  return {
    port,
    urlFor: (user, password) => `mqtt://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    addClient,
    async reload() {
      (proc as ChildProcess | null)?.kill('SIGHUP');
      await new Promise((r) => setTimeout(r, 200));
    },
    start,
    stop,
    dynsecState: () => JSON.parse(fs.readFileSync(dynsecFile, 'utf8')),
    log: () => (fs.existsSync(path.join(dir, 'mosquitto.log')) ? fs.readFileSync(path.join(dir, 'mosquitto.log'), 'utf8') : ''),
    async close() {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A command round trip through an external broker: the device answers every
 * command on its topic with `{echoed: name}`, is heard from once (the broker
 * does not say who is connected: a device counts as listening once it has
 * been), then a command created through the API must come back `succeeded`.
 * Resolves with the stored result.
 */
export async function commandRoundTrip(api: TetherClient, device: MqttClient, deviceId: string): Promise<unknown> {
  await device.subscribeAsync(`devices/${deviceId}/commands/+`, { qos: 1 });
  device.on('message', (topic, payload) => {
    if (topic.endsWith('/result') || !topic.startsWith(`devices/${deviceId}/commands/`)) return;
    const cmd = JSON.parse(payload.toString()) as { id: string; name: string };
    void device.publishAsync(`devices/${deviceId}/commands/${cmd.id}/result`, JSON.stringify({ status: 'ok', result: { echoed: cmd.name } }), { qos: 1 });
  });
  await device.publishAsync(`devices/${deviceId}/heartbeat`, JSON.stringify({ uptime: 1 }), { qos: 1 });
  await new Promise((r) => setTimeout(r, 300));
  const cmd = await api.commands.send(deviceId, { name: 'reboot', timeoutMs: 20_000 });
  const done = await until(async () => {
    const c = await api.commands.get(deviceId, cmd.id);
    return c.status === 'succeeded' ? c : null;
  }, 30_000);
  return done.result;
}
