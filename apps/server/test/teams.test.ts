/**
 * Issue 17, teams through real parts: invitations and password resets are
 * e-mailed through a real SMTP listener (`smtp-server`), and the links in those
 * e-mails are followed over HTTP as a person would. Memberships, roles with the
 * owner rules, leaving and removal, org switching, and the audit trail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, TetherClient } from '@tether/api-client';
import { ADMIN, httpJson, openLive, startServer, until, type TestServer } from './helpers.js';
import { startSmtp, type PrivateSmtp, type ReceivedMail } from './private-smtp.js';

let s: TestServer;
let smtp: PrivateSmtp;
let mails: ReceivedMail[] = [];

/** The token an e-mail's link carries, after `#`; quoted-printable soft breaks undone. */
function linkIn(raw: string, path: '/invite' | '/reset-password'): { url: string; token: string } {
  const text = raw.replace(/=\r?\n/g, '');
  const m = new RegExp(`(https?://\\S+${path})#(\\S+)`).exec(text);
  if (!m) throw new Error(`no ${path} link in:\n${text}`);
  return { url: m[1]!, token: m[2]! };
}
const mailTo = (email: string, after: number) => until(() => mails.slice(after).find((m) => m.to.some((t) => t.toLowerCase() === email.toLowerCase())));
const client = () => new TetherClient({ baseUrl: s.httpUrl });
async function fails(p: Promise<unknown>): Promise<ApiError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  if (!(e instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(e)}`);
  return e;
}

beforeAll(async () => {
  smtp = await startSmtp();
  mails = smtp.mails;
  s = await startServer({
    TETHER_SMTP_URL: smtp.url,
    TETHER_SMTP_FROM: 'Tether <team@tether.test>',
    TETHER_PUBLIC_URL: 'https://tether.example',
    // Live sockets re-check access once per ping interval.
    TETHER_LIVE_PING_INTERVAL_MS: '300',
  });
});

afterAll(async () => {
  await s?.close();
  await smtp?.close();
});

describe('invitations', () => {
  it('a new colleague gets the e-mail, follows its link, chooses a password and lands in the org with the role', async () => {
    const before = mails.length;
    const inv = await s.api.invitations.create({ email: 'Colleague@Example.com', role: 'operator' });
    expect(inv).toMatchObject({ email: 'Colleague@Example.com', role: 'operator', status: 'pending', mail: 'sent', mailError: null });
    const mail = await mailTo('Colleague@Example.com', before);
    expect(mail.raw).toMatch(/Subject: You are invited to Default org on Tether/);
    const link = linkIn(mail.raw, '/invite');
    // The link points at the public address, never the request's Host, and carries the token after '#'.
    expect(link.url).toBe('https://tether.example/invite');
    expect(inv.link).toBe(`${link.url}#${link.token}`);

    const c = client();
    expect(await c.auth.invitation(link.token)).toMatchObject({
      org: { name: 'Default org' },
      email: 'Colleague@Example.com',
      role: 'operator',
      accountExists: false,
      invitedBy: 'Admin',
    });
    expect((await fails(c.acceptInvitation({ token: link.token, password: 'short', name: 'Col' }))).code).toBe('VALIDATION_FAILED');
    const session = await c.acceptInvitation({ token: link.token, password: 'colleague-pw-1', name: 'Col League' });
    expect(session.user).toMatchObject({ email: 'Colleague@Example.com', name: 'Col League', role: 'operator' });
    expect((await c.me()).role).toBe('operator');
    // They sign in later with that password like anyone else.
    expect((await client().login('colleague@example.com', 'colleague-pw-1')).user.role).toBe('operator');

    // Once only: the link is spent, and says so.
    const again = await fails(client().acceptInvitation({ token: link.token, password: 'colleague-pw-1' }));
    expect([again.status, again.code]).toEqual([410, 'INVITATION_USED']);
    expect((await s.api.invitations.list({ status: 'all' })).items.find((i) => i.id === inv.id)).toMatchObject({
      status: 'accepted',
      acceptedBy: session.user.id,
    });
    expect((await s.api.invitations.list()).items.some((i) => i.id === inv.id)).toBe(false);
    // Inviting a member again is refused.
    expect((await fails(s.api.invitations.create({ email: 'colleague@example.com' }))).code).toBe('ALREADY_MEMBER');
  });

  it('an existing user of another org accepts with their own password, then switches between the two orgs', async () => {
    const other = client();
    await other.login(ADMIN.email, ADMIN.password);
    // Someone with an account and an org of their own (sign-up is off: made by the admin, then given an org).
    const admin = s.api;
    await admin.users.create({ email: 'owner-b@example.com', password: 'owner-b-pw-1', role: 'viewer' });
    const b = client();
    await b.login('owner-b@example.com', 'owner-b-pw-1');
    const orgB = await b.orgs.create('Org B');
    await b.switchOrg(orgB.id);
    await admin.users.remove((await b.me()).id!);
    expect((await b.me()).orgs.map((o) => o.name)).toEqual(['Org B']);

    const before = mails.length;
    const inv = await admin.invitations.create({ email: 'owner-b@example.com', role: 'viewer' });
    const { token } = linkIn((await mailTo('owner-b@example.com', before)).raw, '/invite');
    expect((await client().auth.invitation(token)).accountExists).toBe(true);
    // A wrong password neither joins nor spends the invitation.
    expect((await fails(client().acceptInvitation({ token, password: 'wrong-password' }))).code).toBe('INVALID_CREDENTIALS');
    expect((await admin.invitations.list()).items.find((i) => i.id === inv.id)?.status).toBe('pending');
    const session = await client().acceptInvitation({ token, password: 'owner-b-pw-1' });
    expect(session.org.name).toBe('Default org');
    expect(session.user.role).toBe('viewer');

    const me = await b.me();
    expect(me.orgs.map((o) => [o.name, o.role]).sort()).toEqual([
      ['Default org', 'viewer'],
      ['Org B', 'owner'],
    ]);
    const inA = await b.switchOrg(me.orgs.find((o) => o.name === 'Default org')!.id);
    expect([inA.org.name, inA.user.role]).toEqual(['Default org', 'viewer']);
    // In the Default org they are a viewer: no inviting there.
    expect((await fails(b.invitations.create({ email: 'x@example.com' }))).code).toBe('FORBIDDEN');
    const inB = await b.switchOrg(orgB.id);
    expect([inB.org.name, inB.user.role]).toEqual(['Org B', 'owner']);
    // An org they are not in is 404, like any other org's id.
    const foreign = await fails(other.switchOrg(orgB.id));
    expect([foreign.status, foreign.code]).toEqual([404, 'ORG_NOT_FOUND']);
    // Their other org stays theirs: the Default org's admin cannot change their password or name.
    expect((await fails(admin.users.update(me.id!, { password: 'taken-over-1' }))).code).toBe('FORBIDDEN');
  });

  it('an invitation that was replaced, withdrawn or has expired says so; an unknown token is 404', async () => {
    const first = await s.api.invitations.create({ email: 'late@example.com', role: 'viewer' });
    const second = await s.api.invitations.create({ email: 'late@example.com', role: 'operator' });
    const tokenOf = (link: string) => link.split('#')[1]!;
    expect((await fails(client().auth.invitation(tokenOf(first.link)))).code).toBe('INVITATION_REVOKED');
    expect((await client().auth.invitation(tokenOf(second.link))).role).toBe('operator');

    await s.api.invitations.revoke(second.id);
    const revoked = await fails(client().acceptInvitation({ token: tokenOf(second.link), password: 'late-pw-123' }));
    expect([revoked.status, revoked.code]).toEqual([410, 'INVITATION_REVOKED']);
    expect((await fails(s.api.invitations.revoke(second.id))).code).toBe('CONFLICT');

    const third = await s.api.invitations.create({ email: 'late@example.com' });
    await s.tether.db.query("UPDATE invitations SET expires_at = now() - interval '1 second' WHERE id = $1", [third.id]);
    expect((await fails(client().acceptInvitation({ token: tokenOf(third.link), password: 'late-pw-123' }))).code).toBe('INVITATION_EXPIRED');
    expect((await s.api.invitations.list({ status: 'all' })).items.find((i) => i.id === third.id)?.status).toBe('expired');

    const unknown = await fails(client().auth.invitation('inv_nothing-like-a-real-token'));
    expect([unknown.status, unknown.code]).toEqual([404, 'INVITATION_INVALID']);
    expect(
      await client()
        .auth.invitation(tokenOf(third.link))
        .catch((e: ApiError) => e.code),
    ).toBe('INVITATION_EXPIRED');
  });

  it('two acceptances of one link race to one membership', async () => {
    const inv = await s.api.invitations.create({ email: 'racer@example.com', role: 'viewer' });
    const token = inv.link.split('#')[1]!;
    const results = await Promise.allSettled([0, 1, 2].map(() => client().acceptInvitation({ token, password: 'racer-pw-123' })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const users = await s.api.users.list({ limit: 500 });
    expect(users.items.filter((u) => u.email === 'racer@example.com')).toHaveLength(1);
  });

  it('roles: an admin invites up to admin, only an owner invites an owner, operators and viewers cannot invite', async () => {
    await s.api.users.create({ email: 'an-admin@example.com', password: 'an-admin-pw-1', role: 'admin' });
    const admin = client();
    await admin.login('an-admin@example.com', 'an-admin-pw-1');
    expect((await admin.invitations.create({ email: 'new-admin@example.com', role: 'admin' })).role).toBe('admin');
    expect((await fails(admin.invitations.create({ email: 'new-owner@example.com', role: 'owner' }))).code).toBe('FORBIDDEN');
    expect((await s.api.invitations.create({ email: 'new-owner@example.com', role: 'owner' })).role).toBe('owner');

    await s.api.users.create({ email: 'an-operator@example.com', password: 'an-operator-pw-1', role: 'operator' });
    const op = client();
    await op.login('an-operator@example.com', 'an-operator-pw-1');
    expect((await fails(op.invitations.create({ email: 'x@example.com' }))).code).toBe('FORBIDDEN');
    expect((await fails(op.invitations.list())).code).toBe('FORBIDDEN');
    const bad = await httpJson(`${s.httpUrl}/api/v1/invitations`, { method: 'POST', token: s.api.token!, body: JSON.stringify({ email: 'not-an-address' }) });
    expect([bad.status, bad.body.error?.code]).toEqual([400, 'VALIDATION_FAILED']);
  });
});

describe('members', () => {
  it('an admin removes a member: their access ends at once and their refresh token is refused', async () => {
    const member = await s.api.users.create({ email: 'leaving@example.com', password: 'leaving-pw-1', role: 'operator' });
    const c = client();
    await c.login('leaving@example.com', 'leaving-pw-1');
    await s.api.users.remove(member.id);
    expect((await fails(c.devices.list())).status).toBe(401);
    expect((await fails(c.refresh())).status).toBe(401);
    expect((await fails(s.api.users.get(member.id))).code).toBe('USER_NOT_FOUND');
    // The account stays: it can be invited back.
    expect((await s.api.invitations.create({ email: 'leaving@example.com' })).status).toBe('pending');
  });

  it('a live WebSocket opened before a removal, or with a key revoked since, is closed within one ping interval', async () => {
    const member = await s.api.users.create({ email: 'watcher@example.com', password: 'watcher-pw-1', role: 'viewer' });
    const c = client();
    await c.login('watcher@example.com', 'watcher-pw-1');
    const live = await openLive(s.httpUrl, c.token!);
    const closed = new Promise<number>((r) => live.ws.on('close', (code: number) => r(code)));
    await s.api.users.remove(member.id);
    expect(await closed).toBe(4001);

    const key = await s.api.apiKeys.create({ name: 'dashboard-wall', role: 'viewer' });
    const byKey = await openLive(s.httpUrl, key.key);
    const keyClosed = new Promise<number>((r) => byKey.ws.on('close', (code: number) => r(code)));
    // Still open a few intervals later while the key is valid.
    await new Promise((r) => setTimeout(r, 1000));
    expect(byKey.ws.readyState).toBe(byKey.ws.OPEN);
    await s.api.apiKeys.revoke(key.id);
    expect(await keyClosed).toBe(4001);
  });

  it('owner rules: an admin cannot remove or demote an owner nor make one; the last owner can neither leave nor be demoted', async () => {
    await s.api.users.create({ email: 'admin2@example.com', password: 'admin2-pw-12', role: 'admin' });
    const admin = client();
    await admin.login('admin2@example.com', 'admin2-pw-12');
    const ownerId = (await s.api.me()).id!;
    expect((await fails(admin.users.remove(ownerId))).code).toBe('FORBIDDEN');
    expect((await fails(admin.users.update(ownerId, { role: 'viewer' }))).code).toBe('FORBIDDEN');
    const adminId = (await admin.me()).id!;
    expect((await fails(admin.users.update(adminId, { role: 'owner' }))).code).toBe('FORBIDDEN');
    // The only owner.
    expect((await fails(s.api.users.remove(ownerId))).code).toBe('CONFLICT');
    expect((await fails(s.api.users.update(ownerId, { role: 'admin' }))).code).toBe('CONFLICT');
    // With a second owner, the first may step down, and leave.
    await s.api.users.update(adminId, { role: 'owner' });
    const owner = client();
    await owner.login(ADMIN.email, ADMIN.password);
    await owner.users.update(ownerId, { role: 'admin' });
    expect((await admin.users.get(ownerId)).role).toBe('admin');
    await admin.users.update(ownerId, { role: 'owner' });
    // A member leaves by removing themselves.
    await s.api.users.create({ email: 'quitter@example.com', password: 'quitter-pw-1', role: 'viewer' });
    const quitter = client();
    await quitter.login('quitter@example.com', 'quitter-pw-1');
    await quitter.users.remove((await quitter.me()).id!);
    expect((await fails(quitter.me())).status).toBe(401);
    // A viewer cannot remove someone else.
    await s.api.users.create({ email: 'viewer-x@example.com', password: 'viewer-x-pw-1', role: 'viewer' });
    const viewer = client();
    await viewer.login('viewer-x@example.com', 'viewer-x-pw-1');
    expect((await fails(viewer.users.remove(adminId))).code).toBe('FORBIDDEN');
  });
});

describe('password reset', () => {
  it('the e-mailed link sets a new password once, and every old session ends', async () => {
    await s.api.users.create({ email: 'forgetful@example.com', password: 'old-password-1', role: 'viewer' });
    const oldSession = client();
    await oldSession.login('forgetful@example.com', 'old-password-1');

    const before = mails.length;
    await client().auth.requestPasswordReset('Forgetful@example.com');
    const mail = await mailTo('forgetful@example.com', before);
    expect(mail.raw).toMatch(/Subject: Reset your Tether password/);
    const { url, token } = linkIn(mail.raw, '/reset-password');
    expect(url).toBe('https://tether.example/reset-password');

    const weak = await fails(client().auth.confirmPasswordReset({ token, password: 'short' }));
    expect(weak.code).toBe('VALIDATION_FAILED');
    await client().auth.confirmPasswordReset({ token, password: 'new-password-1' });
    expect((await fails(client().login('forgetful@example.com', 'old-password-1'))).code).toBe('INVALID_CREDENTIALS');
    expect((await client().login('forgetful@example.com', 'new-password-1')).user.email).toBe('forgetful@example.com');
    expect((await fails(oldSession.refresh())).status).toBe(401);
    const reused = await fails(client().auth.confirmPasswordReset({ token, password: 'third-password-1' }));
    expect([reused.status, reused.code]).toEqual([400, 'RESET_TOKEN_INVALID']);
  });

  it('an unknown address gets the same 202 and no e-mail; an expired link is refused', async () => {
    const before = mails.length;
    const r = await httpJson(`${s.httpUrl}/api/v1/auth/password-reset`, { method: 'POST', body: JSON.stringify({ email: 'nobody@example.com' }) });
    expect(r.status).toBe(202);
    await client().auth.requestPasswordReset('forgetful@example.com');
    await mailTo('forgetful@example.com', before);
    expect(mails.slice(before).some((m) => m.to.includes('nobody@example.com'))).toBe(false);

    const { token } = linkIn(mails.slice(before).find((m) => m.to.includes('forgetful@example.com'))!.raw, '/reset-password');
    await s.tether.db.query("UPDATE password_resets SET expires_at = now() - interval '1 second' WHERE used_at IS NULL");
    expect((await fails(client().auth.confirmPasswordReset({ token, password: 'another-password-1' }))).code).toBe('RESET_TOKEN_INVALID');
  });
});

describe('audit', () => {
  it('records invitations, acceptances, removals, org switches and resets, with no token in any entry', async () => {
    const page = await s.api.audit.list({ limit: 500 });
    const actions = new Set(page.items.map((e) => e.action));
    for (const a of [
      'invitation.create',
      'invitation.accept',
      'invitation.revoke',
      'membership.remove',
      'membership.leave',
      'user.role_change',
      'user.password_reset_requested',
      'user.password_reset',
    ]) {
      expect(actions, a).toContain(a);
    }
    const json = JSON.stringify(page.items);
    expect(json).not.toMatch(/inv_|pr_[A-Za-z0-9]/);
    expect(json).not.toMatch(/password-1|pw-1/);
    const accept = page.items.find((e) => e.action === 'invitation.accept' && (e.details as { email?: string }).email === 'Colleague@Example.com');
    expect(accept?.details).toMatchObject({ role: 'operator', newAccount: true });
  });
});
