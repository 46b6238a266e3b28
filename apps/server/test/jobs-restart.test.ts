/**
 * Commands across a server's stop and start: expiry runs as a pg-boss job on
 * the worker role, stored in the database, so it survives a kill -9 and is done
 * by the first node that runs the worker role; and a graceful stop answers the
 * requests that wait on commands instead of waiting for them.
 */
import { afterAll, expect, it } from 'vitest';
import { TetherClient } from '@tether/api-client';
import { ADMIN } from './helpers.js';
import { scratchServerEnv, spawnServer, type ServerProcess } from './process-helpers.js';

const drops: (() => Promise<void>)[] = [];
const running: ServerProcess[] = [];
afterAll(async () => {
  for (const s of running) s.proc.kill('SIGKILL');
  for (const d of drops) await d();
});

interface CommandView {
  id: string;
  status: string;
  expiresAt: string;
  completedAt: string | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('expires a command whose job was queued before a kill -9, once a node with the worker role runs', async () => {
  const scratch = await scratchServerEnv();
  drops.push(scratch.drop);
  const env = scratch.env;
  const start = async (extra: Record<string, string> = {}) => {
    const s = await spawnServer({ ...env, ...extra });
    running.push(s);
    const api = new TetherClient({ baseUrl: s.httpUrl });
    await api.login(ADMIN.email, ADMIN.password);
    return { s, api };
  };
  const stop = async (s: ServerProcess, signal: NodeJS.Signals) => {
    s.proc.kill(signal);
    await s.exited;
  };

  // 1. Queue a command for a device that never connects, then kill the server hard.
  const first = await start();
  const device = await first.api.devices.create({ name: 'never-online' });
  const expiresAt = new Date(Date.now() + 3000).toISOString();
  const created = await first.api.request<CommandView>('POST', `/api/v1/devices/${device.id}/commands`, { name: 'reset', params: {}, expiresAt });
  expect(created.status).toBe('queued');
  await stop(first.s, 'SIGKILL');
  await sleep(Math.max(0, Date.parse(expiresAt) - Date.now()) + 500);

  // 2. Past its expiry, a node without the worker role leaves it queued: no one else expires commands.
  const apiOnly = await start({ TETHER_ROLES: 'api,mqtt' });
  await sleep(3000);
  const meanwhile = await apiOnly.api.request<CommandView>('GET', `/api/v1/devices/${device.id}/commands/${created.id}`);
  expect(meanwhile.status).toBe('queued');
  await stop(apiOnly.s, 'SIGTERM');

  // 3. A node with the worker role picks up the stored job.
  const worker = await start();
  let command = meanwhile;
  for (let i = 0; i < 60 && command.status === 'queued'; i++) {
    await sleep(250);
    command = await worker.api.request<CommandView>('GET', `/api/v1/devices/${device.id}/commands/${created.id}`);
  }
  expect(command.status).toBe('expired');
  expect(Date.parse(command.completedAt!)).toBeGreaterThanOrEqual(Date.parse(expiresAt));
  await stop(worker.s, 'SIGTERM');
}, 120_000);

it('answers held long-polls and ?wait=true requests at once on SIGTERM, instead of holding the shutdown', async () => {
  const scratch = await scratchServerEnv();
  drops.push(scratch.drop);
  const s = await spawnServer(scratch.env);
  running.push(s);
  const api = new TetherClient({ baseUrl: s.httpUrl });
  await api.login(ADMIN.email, ADMIN.password);
  const poller = await api.devices.create({ name: 'http-poller' });
  const silent = await api.devices.create({ name: 'silent' });
  const longPoll = fetch(`${s.httpUrl}/api/v1/device/commands?wait=30`, { headers: { authorization: `Bearer ${poller.token}` } });
  const twoWay = fetch(`${s.httpUrl}/api/v1/devices/${silent.id}/commands?wait=true`, {
    method: 'POST',
    headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'reset', params: {}, timeoutMs: 30_000 }),
  });
  await sleep(1000);
  const t0 = Date.now();
  s.proc.kill('SIGTERM');
  const [poll, wait] = await Promise.all([longPoll, twoWay]);
  expect(await s.exited).toBe(0);
  expect(Date.now() - t0).toBeLessThan(10_000);
  expect(poll.status).toBe(200);
  expect(await poll.json()).toEqual({ items: [] });
  expect(wait.status).toBe(503);
  const body = (await wait.json()) as { error: { code: string }; command: CommandView };
  expect(body.error.code).toBe('SHUTTING_DOWN');
  expect(body.command.status).toBe('queued');
}, 60_000);
