/** Runs the real `tether start` CLI as a child process, as an operator would. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN, scratchDatabase } from './helpers.js';

export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cli/index.js');

export interface ServerProcess {
  proc: ChildProcess;
  httpUrl: string;
  mqttUrl: string;
  output: () => string;
  exited: Promise<number | null>;
}

export async function spawnServer(env: Record<string, string>, timeoutMs = 60_000): Promise<ServerProcess> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
  const proc = spawn(process.execPath, [CLI, 'start'], {
    env: {
      ...process.env,
      TETHER_HTTP_PORT: '0',
      TETHER_HTTP_HOST: '127.0.0.1',
      // With MQTT_URL there is no embedded broker, and its settings are configuration errors.
      ...(env.MQTT_URL ? {} : { TETHER_MQTT_PORT: '0', TETHER_MQTT_HOST: '127.0.0.1' }),
      TETHER_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const ready = await new Promise<string>((resolve, reject) => {
    // Never leave a half-started server behind.
    const fail = (err: Error) => {
      proc.kill('SIGKILL');
      reject(err);
    };
    const t = setTimeout(() => fail(new Error(`no "Tether ready" within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const check = () => {
      const line = out.split('\n').find((l) => l.startsWith('Tether ready'));
      if (line) {
        clearTimeout(t);
        resolve(line);
      }
    };
    proc.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(t);
      reject(new Error(`server exited with ${code} before ready:\n${out}`));
    });
  });
  const httpUrl = /web (https?:\/\/\S+)/.exec(ready)?.[1];
  const mqttUrl = /mqtt (mqtt:\/\/\S+)/.exec(ready)?.[1];
  // With MQTT_URL there is no embedded broker, and no mqtt URL on the ready line.
  if (!httpUrl || (!mqttUrl && !env.MQTT_URL)) {
    proc.kill('SIGKILL');
    throw new Error(`cannot read the URLs from: ${ready}`);
  }
  return { proc, httpUrl, mqttUrl: mqttUrl ?? '', output: () => out, exited };
}

/** A scratch database, and the environment that starts a server on it with the test admin. */
export async function scratchServerEnv(): Promise<{ env: Record<string, string>; url: string | null; dataDir: string; drop(): Promise<void> }> {
  const scratch = await scratchDatabase();
  const env: Record<string, string> = {
    TETHER_DATA_DIR: scratch.dataDir,
    TETHER_ADMIN_EMAIL: ADMIN.email,
    TETHER_ADMIN_PASSWORD: ADMIN.password,
    ...(scratch.url ? { DATABASE_URL: scratch.url } : {}),
  };
  return { ...scratch, env };
}
