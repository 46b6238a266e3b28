/**
 * Private NATS and Redis servers on free ports, for tests that stop and start
 * them (the machine's own, on 4222 and 6379, are never touched).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { freePort } from './private-postgres.js';

export interface PrivateServer {
  url: string;
  /** Kills the server (SIGKILL) and starts it again on the same port. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Resolves once something accepts TCP connections on the port. */
export async function accepting(port: number, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => (s.end(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing accepts on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function privateServer(scheme: string, start: (port: number) => ChildProcess): Promise<PrivateServer> {
  const port = await freePort();
  let proc = start(port);
  await accepting(port);
  const kill = async () => {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  };
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    async restart(downMs = 500) {
      await kill();
      await new Promise((r) => setTimeout(r, downMs));
      proc = start(port);
      await accepting(port);
    },
    stop: kill,
  };
}

export const privateNats = () => privateServer('nats', (port) => spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' }));

export const privateRedis = () =>
  privateServer('redis', (port) =>
    spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' }),
  );
