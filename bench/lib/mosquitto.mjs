/**
 * Our own Mosquitto for the "physical limit" comparison: a generated config on
 * a free 127.0.0.1 port, no persistence. The system broker on 1883 is left alone.
 */
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { WireClient } from './mqtt-wire.mjs';
import { freePort } from './server.mjs';

export const MOSQUITTO = '/usr/sbin/mosquitto';

/** Installs Debian's mosquitto when it is missing (the only package the suite installs). */
export function ensureMosquitto() {
  if (fs.existsSync(MOSQUITTO)) return;
  console.log('mosquitto is missing: installing it from Debian (apt-get install mosquitto)…');
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'mosquitto'], { stdio: 'inherit' });
  // Debian starts a service on install; ours runs on its own port, so that one does not matter.
}

export function mosquittoVersion() {
  try {
    return /mosquitto version (\S+)/.exec(execFileSync(MOSQUITTO, ['-h'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }))?.[1] ?? null;
  } catch (err) {
    return /mosquitto version (\S+)/.exec(String(err.stdout ?? ''))?.[1] ?? null;
  }
}

export async function startMosquitto() {
  ensureMosquitto();
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-bench-mosq-'));
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'set_tcp_nodelay true',
      // Bounded, so a slow subscriber costs memory up to a limit, not without one.
      'max_queued_messages 100000',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'),
  );
  fs.chmodSync(dir, 0o755);
  fs.chmodSync(conf, 0o644);
  const proc = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d) => (err += d.toString()));
  const exited = new Promise((r) => proc.once('exit', r));
  // Ready when it accepts an MQTT connection.
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const c = await WireClient.connect({ host: '127.0.0.1', port, clientId: 'bench-probe', timeoutMs: 1000 });
      c.close();
      break;
    } catch {
      if (Date.now() > deadline || proc.exitCode !== null) {
        proc.kill('SIGKILL');
        throw new Error(`mosquitto did not start: ${err}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    pid: proc.pid,
    host: '127.0.0.1',
    port,
    version: mosquittoVersion(),
    async stop() {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
