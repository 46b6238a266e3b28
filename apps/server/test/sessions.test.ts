/** Issue 20 §7: a refresh token dies with what let its session in (a password, an enabled user). */
import { TetherClient } from '@tether/api-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
}, 60_000);
afterAll(async () => {
  await s?.close();
});

async function signedInUser(email: string) {
  const user = await s.api.users.create({ email, password: 'user-password-1', role: 'viewer' });
  const client = new TetherClient({ baseUrl: s.httpUrl });
  await client.login(email, 'user-password-1');
  return { user, client };
}

it('disabling a user ends their sessions for good: enabled again, the old refresh token stays refused', async () => {
  const { user, client } = await signedInUser('disabled@example.com');
  await s.api.users.update(user.id, { disabled: true });
  // (No refresh in between: a refused attempt spends the token by itself.)
  await expect(client.me()).rejects.toMatchObject({ status: 401 });
  await s.api.users.update(user.id, { disabled: false });
  await expect(client.refresh()).rejects.toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
  // Signing in again works.
  await client.login('disabled@example.com', 'user-password-1');
  expect((await client.me()).id).toBe(user.id);
});

it('a password change ends the other sessions: their refresh tokens are refused', async () => {
  const { user, client } = await signedInUser('changed@example.com');
  await s.api.users.update(user.id, { password: 'user-password-2' });
  await expect(client.refresh()).rejects.toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
});
