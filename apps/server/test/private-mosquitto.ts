/**
 * A private Mosquitto 2 on a free port (the machine's own, on 1883, is never
 * touched), configured as README "External MQTT broker" says: password file,
 * ACL with `pattern readwrite devices/%u/#`, persistence, no queue limit.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { accepting } from './private-bus-servers.js';
import { freePort } from './private-postgres.js';

export const MOSQUITTO = '/usr/sbin/mosquitto';

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
  close(): Promise<void>;
}

export async function privateMosquitto(service: { user: string; password: string }): Promise<PrivateMosquitto> {
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
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      // Started as root, Mosquitto would switch to user mosquitto, who cannot read this private directory.
      'user root',
      'allow_anonymous false',
      `password_file ${passwd}`,
      `acl_file ${acl}`,
      'persistence true',
      `persistence_location ${dir}/`,
      'max_queued_messages 0',
      `log_dest file ${dir}/mosquitto.log`,
      'log_type error',
      'log_type warning',
      'log_type notice',
      '',
    ].join('\n'),
  );
  const addClient = (user: string, password: string) => execFileSync('mosquitto_passwd', ['-b', passwd, user, password]);
  addClient(service.user, service.password);
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
    log: () => (fs.existsSync(path.join(dir, 'mosquitto.log')) ? fs.readFileSync(path.join(dir, 'mosquitto.log'), 'utf8') : ''),
    async close() {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
