/**
 * AccountsService against a real database: PGlite by default, Postgres when
 * DATABASE_URL is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase } from '../../../test/helpers.js';
import type { Database } from '../../platform/db/database.js';
import { JwtSigner, fixedKey } from '../../platform/security/jwt.js';
import { AccountsService } from './accounts.service.js';
import type { Actor } from './actor.js';

const OWNER_EMAIL = 'owner@example.com';

let db: Database;
let close: () => Promise<void>;
let accounts: AccountsService;
let boot: Awaited<ReturnType<AccountsService['bootstrap']>>;
let owner: Actor;

beforeAll(async () => {
  ({ db, close } = await testDatabase());
  accounts = new AccountsService({ db, signer: new JwtSigner(fixedKey('t'.repeat(48))), accessTtlS: 900, refreshTtlS: 3600 });
  boot = await accounts.bootstrap(OWNER_EMAIL, null);
  const session = await accounts.login(OWNER_EMAIL, boot!.password!);
  owner = await accounts.authenticate(session.accessToken);
});
afterAll(async () => {
  await close?.();
});

/** Creates a user with the role and returns their actor, as the REST layer would see them. */
async function actorWithRole(role: 'admin' | 'operator' | 'viewer', by: Actor = owner): Promise<Actor & { email: string; password: string }> {
  const email = `${role}-${Math.random().toString(36).slice(2)}@example.com`;
  const password = `${role}-password`;
  await accounts.createUser(by, { email, password, role });
  const session = await accounts.login(email, password);
  return { ...(await accounts.authenticate(session.accessToken)), email, password };
}

describe('bootstrap', () => {
  it('creates one org and its owner, with a generated password, once', async () => {
    expect(boot).toMatchObject({ email: OWNER_EMAIL });
    expect(typeof boot!.password).toBe('string');
    expect(boot!.password!.length).toBeGreaterThanOrEqual(12);
    expect(owner).toMatchObject({ kind: 'user', role: 'owner' });

    expect(await accounts.bootstrap('someone-else@example.com', 'another-password')).toBeNull();
    expect(await accounts.bootstrap(OWNER_EMAIL, null)).toBeNull();
    const [counts] = await db.query<{ orgs: number; owners: number }>(
      "SELECT (SELECT count(*)::int FROM orgs) AS orgs, (SELECT count(*)::int FROM memberships WHERE role = 'owner') AS owners",
    );
    expect(counts).toEqual({ orgs: 1, owners: 1 });
    await expect(accounts.login('someone-else@example.com', 'another-password')).rejects.toMatchObject({ code: 'INVALID_CREDENTIALS' });
  });
});

describe('sign-in', () => {
  it('logs in with the generated password and returns a session', async () => {
    const s = await accounts.login(OWNER_EMAIL, boot!.password!);
    expect(s.user).toMatchObject({ email: OWNER_EMAIL, role: 'owner' });
    expect(s.org.id).toBe(owner.orgId);
    expect(s.refreshToken).toMatch(/^rt_/);
    // Email is matched case-insensitively.
    expect((await accounts.login(OWNER_EMAIL.toUpperCase(), boot!.password!)).user.email).toBe(OWNER_EMAIL);
  });

  it('refuses a wrong password and an unknown email with the same INVALID_CREDENTIALS', async () => {
    await expect(accounts.login(OWNER_EMAIL, 'wrong-password')).rejects.toMatchObject({ code: 'INVALID_CREDENTIALS' });
    await expect(accounts.login('nobody@example.com', boot!.password!)).rejects.toMatchObject({ code: 'INVALID_CREDENTIALS' });
  });

  it('stores passwords as argon2id hashes, never in plain text', async () => {
    const u = await actorWithRole('viewer');
    const [row] = await db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE email = $1', [u.email]);
    expect(row!.password_hash.startsWith('$argon2id$')).toBe(true);
    expect(row!.password_hash).not.toContain(u.password);
    const [ownerRow] = await db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE email = $1', [OWNER_EMAIL]);
    expect(ownerRow!.password_hash.startsWith('$argon2id$')).toBe(true);
    expect(ownerRow!.password_hash).not.toContain(boot!.password!);
  });

  it('a disabled user can neither log in nor use an access token issued before', async () => {
    const u = await actorWithRole('operator');
    const session = await accounts.login(u.email, u.password);
    await accounts.updateUser(owner, u.userId!, { disabled: true });
    await expect(accounts.login(u.email, u.password)).rejects.toMatchObject({ code: 'INVALID_CREDENTIALS' });
    await expect(accounts.authenticate(session.accessToken)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(accounts.refresh(session.refreshToken)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });
});

describe('refresh tokens', () => {
  it('work exactly once', async () => {
    const s = await accounts.login(OWNER_EMAIL, boot!.password!);
    const next = await accounts.refresh(s.refreshToken);
    expect(next.refreshToken).not.toBe(s.refreshToken);
    expect((await accounts.authenticate(next.accessToken)).userId).toBe(owner.userId);
    await expect(accounts.refresh(s.refreshToken)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    // The new one still works, once.
    await accounts.refresh(next.refreshToken);
    await expect(accounts.refresh(next.refreshToken)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('are stored hashed', async () => {
    const s = await accounts.login(OWNER_EMAIL, boot!.password!);
    const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM refresh_tokens WHERE token_hash = $1', [s.refreshToken]);
    expect(rows[0]!.n).toBe(0);
  });

  it('stop working when the password changes, by the user or by an admin', async () => {
    const user = await actorWithRole('viewer');
    const before = await accounts.login(user.email, user.password);
    const other = await accounts.login(user.email, user.password);
    await accounts.updateUser(user, user.userId!, { password: 'a-new-password-1' });
    await expect(accounts.refresh(before.refreshToken)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(accounts.refresh(other.refreshToken)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    // Signing in with the new password opens a session that refreshes.
    const after = await accounts.login(user.email, 'a-new-password-1');
    await accounts.updateUser(owner, user.userId!, { name: 'renamed' });
    expect((await accounts.refresh(after.refreshToken)).user.name).toBe('renamed');
    const next = await accounts.login(user.email, 'a-new-password-1');
    await accounts.updateUser(owner, user.userId!, { password: 'another-password-2' });
    await expect(accounts.refresh(next.refreshToken)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('refuses garbage', async () => {
    await expect(accounts.refresh('rt_not-a-token')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });
});

describe('roles', () => {
  it('a viewer or operator cannot create users', async () => {
    for (const role of ['viewer', 'operator'] as const) {
      const actor = await actorWithRole(role);
      await expect(accounts.createUser(actor, { email: `x-${role}@example.com`, password: 'password-1', role: 'viewer' })).rejects.toMatchObject({
        code: 'FORBIDDEN',
      });
    }
    expect((await db.query("SELECT 1 FROM users WHERE email LIKE 'x-%'")).length).toBe(0);
  });

  it('an admin can create admins but cannot grant owner, nor promote anyone to owner', async () => {
    const admin = await actorWithRole('admin');
    await expect(accounts.createUser(admin, { email: 'would-be-owner@example.com', password: 'password-1', role: 'owner' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    const peer = await accounts.createUser(admin, { email: 'peer-admin@example.com', password: 'password-1', role: 'admin' });
    expect(peer.role).toBe('admin');
    await expect(accounts.updateUser(admin, peer.id, { role: 'owner' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(accounts.updateUser(admin, admin.userId!, { role: 'owner' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect((await accounts.getUser(owner, peer.id)).role).toBe('admin');
  });

  it('an admin cannot demote or disable an owner', async () => {
    const admin = await actorWithRole('admin');
    await expect(accounts.updateUser(admin, owner.userId!, { role: 'viewer' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(accounts.updateUser(admin, owner.userId!, { disabled: true })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await accounts.getUser(owner, owner.userId!)).toMatchObject({ role: 'owner', disabled: false });
  });

  it('the last owner cannot be demoted', async () => {
    await expect(accounts.updateUser(owner, owner.userId!, { role: 'admin' })).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await accounts.getUser(owner, owner.userId!)).role).toBe('owner');
  });

  it('a demotion takes effect on the next request, not at token expiry', async () => {
    const u = await actorWithRole('admin');
    const session = await accounts.login(u.email, u.password);
    await accounts.updateUser(owner, u.userId!, { role: 'viewer' });
    expect((await accounts.authenticate(session.accessToken)).role).toBe('viewer');
  });

  it('a user of another org is USER_NOT_FOUND', async () => {
    const other = await accounts.createOrg(owner, 'Other org');
    const session = await accounts.login(OWNER_EMAIL, boot!.password!, other.id);
    const inOther = await accounts.authenticate(session.accessToken);
    const u = await actorWithRole('viewer');
    await expect(accounts.getUser(inOther, u.userId!)).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
    await expect(accounts.updateUser(inOther, u.userId!, { name: 'x' })).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
    await expect(accounts.getUser(inOther, 'not-a-uuid')).rejects.toMatchObject({ code: 'INVALID_ID' });
  });
});

describe('API keys', () => {
  it('are returned once and stored only as a hash', async () => {
    const created = await accounts.createApiKey(owner, { name: 'ci', role: 'operator' });
    expect(created.key).toMatch(/^tk_/);
    const listed = (await accounts.listApiKeys(owner)).find((k) => k.id === created.id);
    expect(listed).toMatchObject({ name: 'ci', role: 'operator', revokedAt: null });
    expect(JSON.stringify(listed)).not.toContain(created.key);
    expect(listed).not.toHaveProperty('key');

    const [row] = await db.query<{ key_hash: string; prefix: string }>('SELECT key_hash, prefix FROM api_keys WHERE id = $1', [created.id]);
    expect(row!.key_hash).not.toBe(created.key);
    expect(row!.key_hash).not.toContain(created.key.slice(3));
    expect(created.key.startsWith(row!.prefix)).toBe(true);
    const [found] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys WHERE key_hash = $1 OR prefix = $1', [created.key]);
    expect(found!.n).toBe(0);
  });

  it('authenticate as the key’s org and role until revoked', async () => {
    const created = await accounts.createApiKey(owner, { name: 'dash', role: 'viewer' });
    expect(await accounts.authenticate(created.key)).toEqual({ kind: 'api_key', orgId: owner.orgId, role: 'viewer', userId: null, apiKeyId: created.id });
    await accounts.revokeApiKey(owner, created.id);
    await expect(accounts.authenticate(created.key)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect((await accounts.listApiKeys(owner)).find((k) => k.id === created.id)?.revokedAt).not.toBeNull();
    await expect(accounts.authenticate(`${created.key}x`)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('follow the role rules', async () => {
    const admin = await actorWithRole('admin');
    const viewer = await actorWithRole('viewer');
    await expect(accounts.createApiKey(viewer, { name: 'nope', role: 'viewer' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(accounts.listApiKeys(viewer)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect((await accounts.createApiKey(admin, { name: 'ok', role: 'admin' })).role).toBe('admin');
    // A viewer key cannot mint keys either.
    const viewerKey = await accounts.authenticate((await accounts.createApiKey(owner, { name: 'v', role: 'viewer' })).key);
    await expect(accounts.createApiKey(viewerKey, { name: 'nope', role: 'viewer' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('cannot be revoked from another org, and unknown ids are API_KEY_NOT_FOUND', async () => {
    const created = await accounts.createApiKey(owner, { name: 'mine', role: 'viewer' });
    const other = await accounts.createOrg(owner, 'Key thieves');
    const inOther = await accounts.authenticate((await accounts.login(OWNER_EMAIL, boot!.password!, other.id)).accessToken);
    await expect(accounts.revokeApiKey(inOther, created.id)).rejects.toMatchObject({ code: 'API_KEY_NOT_FOUND' });
    expect((await accounts.authenticate(created.key)).apiKeyId).toBe(created.id);
    await expect(accounts.revokeApiKey(owner, crypto.randomUUID())).rejects.toMatchObject({ code: 'API_KEY_NOT_FOUND' });
    await expect(accounts.revokeApiKey(owner, 'nope')).rejects.toMatchObject({ code: 'INVALID_ID' });
  });
});

describe('access tokens', () => {
  it('refuse tokens signed with another secret, or meant for devices', async () => {
    const s = await accounts.login(OWNER_EMAIL, boot!.password!);
    const foreign = new AccountsService({ db, signer: new JwtSigner(fixedKey('v'.repeat(48))), accessTtlS: 900, refreshTtlS: 3600 });
    await expect(foreign.authenticate(s.accessToken)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const deviceJwt = await new JwtSigner(fixedKey('t'.repeat(48))).sign({ org: owner.orgId }, owner.userId!, 'tether:device', 60);
    await expect(accounts.authenticate(deviceJwt)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(accounts.authenticate('not-a-token')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('report expiry as TOKEN_EXPIRED', async () => {
    const expired = await new JwtSigner(fixedKey('t'.repeat(48))).sign({ org: owner.orgId, role: 'owner' }, owner.userId!, 'tether:user', -60);
    await expect(accounts.authenticate(expired)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
  });
});

describe('without SMTP', () => {
  it('a password reset says the server cannot send e-mail', async () => {
    await expect(accounts.requestPasswordReset(OWNER_EMAIL)).rejects.toMatchObject({ code: 'SMTP_NOT_CONFIGURED' });
  });
});
