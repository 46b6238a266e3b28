import { randomBytes } from 'node:crypto';
import type { Database } from '../../platform/db/database.js';
import { AppError, assertUuid, notFound } from '../errors.js';
import { JwtSigner, looksLikeJwt } from '../../platform/security/jwt.js';
import { hashPassword, verifyPassword } from '../../platform/security/passwords.js';
import { hashToken, randomToken } from '../../platform/security/secrets.js';
import { ORG_ROLES, outranks, requireRole, type Actor, type OrgRole } from './actor.js';
import { AuditLog } from '../audit/audit.repository.js';
import { AccountsRepository, type ApiKeyRow, type MemberRow, type OrgRow } from './accounts.repository.js';
import type { Queryable } from '../../platform/db/database.js';
import type { Mailer } from '../../platform/notify/mailer.js';

import type { PublicUser, Session } from './accounts.schemas.js';

export type { PublicUser, Session };

const API_KEY_PREFIX = 'tk_';
const USER_AUDIENCE = 'tether:user';

const toUser = (m: MemberRow): PublicUser => ({
  id: m.id,
  email: m.email,
  name: m.name,
  role: m.role,
  disabled: m.disabled,
  createdAt: m.created_at.toISOString(),
});
const toApiKey = (k: ApiKeyRow) => ({
  id: k.id,
  name: k.name,
  role: k.role,
  prefix: k.prefix,
  createdAt: k.created_at.toISOString(),
  lastUsedAt: k.last_used_at?.toISOString() ?? null,
  revokedAt: k.revoked_at?.toISOString() ?? null,
});

function checkEmail(email: string): string {
  const e = email.trim();
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(e) && !/^[^@\s]+@localhost$/.test(e)) throw new AppError('VALIDATION_FAILED', 'email is not a valid address');
  return e;
}
function checkPassword(p: string): void {
  if (p.length < 8) throw new AppError('VALIDATION_FAILED', 'password must have at least 8 characters');
}

export interface AccountsServiceDeps {
  db: Database;
  signer: JwtSigner;
  accessTtlS: number;
  refreshTtlS: number;
  /** Counts failed sign-ins; one of an unknown e-mail has no org whose audit log could hold it. */
  signInFailed?: (account: 'known' | 'unknown') => void;
  /** Password-reset e-mail; null: no SMTP set up (TETHER_SMTP_URL), resets are refused with SMTP_NOT_CONFIGURED. */
  mailer?: Mailer | null;
  /**
   * Where e-mailed links point: TETHER_PUBLIC_URL, else this node's own address. Never the
   * request's Host header: whoever asks for a reset could otherwise send the victim's link to
   * their own server.
   */
  linkBase?: () => string;
}

/** How long a password-reset link works. */
export const PASSWORD_RESET_TTL_S = 3600;
/** Reset e-mails one account may be sent per hour, whatever the IP limits let through. */
const RESETS_PER_HOUR = 5;

/** Users, orgs, memberships, sessions and API keys. */
export class AccountsService {
  private readonly repo: AccountsRepository;
  private readonly audit: AuditLog;
  constructor(private readonly deps: AccountsServiceDeps) {
    this.repo = new AccountsRepository(deps.db);
    this.audit = new AuditLog(deps.db);
  }

  /** First start on an empty database: one org and its owner. Returns the generated password, if any. */
  async bootstrap(email: string | null, password: string | null): Promise<{ email: string; password: string | null } | null> {
    return this.deps.db.withExclusiveLock('tether-bootstrap', async () => {
      if ((await this.repo.countUsers()) > 0) return null;
      const adminEmail = email ?? 'admin@tether.local';
      const generated = password === null ? randomBytes(12).toString('base64url') : null;
      const passwordHash = await hashPassword(password ?? generated!);
      await this.deps.db.transaction(async (tx) => {
        const org = await this.repo.createOrg('Default org', tx);
        const user = await this.repo.createUser({ email: adminEmail, name: 'Admin', passwordHash }, tx);
        await this.repo.addMember(org.id, user.id, 'owner', tx);
      });
      return { email: adminEmail, password: generated };
    });
  }

  /**
   * Signs in; audited. A failure of a known account goes to the audit log of
   * every org it belongs to (each org's admins see attempts on their members);
   * one of an unknown e-mail only to the signInFailed counter.
   */
  async login(email: string, password: string, orgId?: string, ip: string | null = null): Promise<Session> {
    const user = await this.repo.userByEmail(email);
    // Verify against a dummy hash when the user is unknown, so timing does not reveal which emails exist.
    const ok = user ? await verifyPassword(user.password_hash, password) : await verifyPassword(DUMMY_HASH, password);
    if (!user || !ok || user.disabled) {
      this.deps.signInFailed?.(user ? 'known' : 'unknown');
      if (user) {
        for (const o of await this.repo.orgsOfUser(user.id)) {
          await this.audit.record({
            orgId: o.id,
            actor: { kind: 'anonymous', ip },
            action: 'auth.login_failed',
            targetKind: 'user',
            targetId: user.id,
            details: { email: user.email, reason: ok ? 'disabled' : 'wrong_password' },
          });
        }
      }
      throw new AppError('INVALID_CREDENTIALS', 'email or password is wrong');
    }
    const orgs = await this.repo.orgsOfUser(user.id);
    const org = orgId ? orgs.find((o) => o.id === orgId) : orgs[0];
    if (!org) throw new AppError(orgId ? 'ORG_NOT_FOUND' : 'FORBIDDEN', orgId ? 'org not found' : 'this user belongs to no org');
    await this.audit.record({
      orgId: org.id,
      actor: { kind: 'user', orgId: org.id, role: org.role, userId: user.id, apiKeyId: null, ip },
      action: 'auth.login',
      targetKind: 'user',
      targetId: user.id,
      details: { email: user.email },
    });
    return this.issueSession(user.id, org);
  }

  async refresh(refreshToken: string): Promise<Session> {
    const row = await this.repo.consumeRefreshToken(hashToken(refreshToken));
    if (!row) throw new AppError('UNAUTHORIZED', 'refresh token is invalid, expired or already used');
    const org = (await this.repo.orgsOfUser(row.user_id)).find((o) => o.id === row.org_id);
    const member = org && (await this.repo.member(org.id, row.user_id));
    if (!org || !member || member.disabled) throw new AppError('UNAUTHORIZED', 'this session is no longer valid');
    return this.issueSession(row.user_id, org);
  }

  private async issueSession(userId: string, org: OrgRow & { role: OrgRole }): Promise<Session> {
    const member = (await this.repo.member(org.id, userId))!;
    const accessToken = await this.deps.signer.sign({ org: org.id, role: org.role }, userId, USER_AUDIENCE, this.deps.accessTtlS);
    const refreshToken = randomToken('rt_', 32);
    await this.repo.storeRefreshToken({
      userId,
      orgId: org.id,
      hash: hashToken(refreshToken),
      expiresAt: new Date(Date.now() + this.deps.refreshTtlS * 1000),
    });
    return { accessToken, refreshToken, expiresIn: this.deps.accessTtlS, user: toUser(member), org: { id: org.id, name: org.name } };
  }

  /** A user in several orgs moves to another: a new session there (the old one stays valid until it expires or is refreshed away). */
  async switchOrg(actor: Actor, orgId: string): Promise<Session> {
    if (!actor.userId) throw new AppError('FORBIDDEN', 'API keys belong to one org');
    const org = (await this.repo.orgsOfUser(actor.userId)).find((o) => o.id === assertUuid(orgId, 'orgId'));
    if (!org) throw notFound('ORG', orgId);
    await this.audit.record({
      orgId: org.id,
      actor: { ...actor, orgId: org.id, role: org.role },
      action: 'auth.org_switch',
      targetKind: 'org',
      targetId: org.id,
      details: { from: actor.orgId },
    });
    return this.issueSession(actor.userId, org);
  }

  /**
   * Joins `email` to an org with `role`, as an invitation's acceptance: an existing account
   * proves itself with its password, a new one is made with it. `consume` uses the invitation
   * inside the same transaction and returns false when it was used meanwhile: then nothing
   * is written. Returns a session in the org.
   */
  async join(
    input: { orgId: string; role: OrgRole; email: string; password: string; name?: string },
    consume: (tx: Queryable, userId: string) => Promise<boolean>,
  ): Promise<{ session: Session; userId: string; newAccount: boolean }> {
    const existing = await this.repo.userByEmail(input.email);
    if (existing) {
      if (!(await verifyPassword(existing.password_hash, input.password))) {
        this.deps.signInFailed?.('known');
        throw new AppError('INVALID_CREDENTIALS', 'an account with this e-mail exists: enter its password to accept');
      }
      if (existing.disabled) throw new AppError('FORBIDDEN', 'this account is disabled');
      if (await this.repo.member(input.orgId, existing.id)) throw new AppError('ALREADY_MEMBER', 'this account is already a member of the org');
    } else {
      checkPassword(input.password);
    }
    const passwordHash = existing ? null : await hashPassword(input.password);
    const userId = await this.deps.db.transaction(async (tx) => {
      const id =
        existing?.id ?? (await this.repo.createUser({ email: checkEmail(input.email), name: input.name?.trim() ?? '', passwordHash: passwordHash! }, tx)).id;
      if (!(await consume(tx, id))) throw new AppError('INVITATION_USED', 'this invitation was used, revoked or has expired');
      await this.repo.addMember(input.orgId, id, input.role, tx);
      return id;
    });
    const org = (await this.repo.orgsOfUser(userId)).find((o) => o.id === input.orgId)!;
    return { session: await this.issueSession(userId, org), userId, newAccount: !existing };
  }

  /** Whether an account has this e-mail, and whether it is in the org already (invitations). */
  async accountOf(orgId: string, email: string): Promise<{ exists: boolean; member: boolean }> {
    const user = await this.repo.userByEmail(email);
    return { exists: user !== null, member: user !== null && (await this.repo.member(orgId, user.id)) !== null };
  }

  async orgName(orgId: string): Promise<string | null> {
    return (await this.repo.getOrg(orgId))?.name ?? null;
  }

  /** A user's name and e-mail (who invited whom). */
  person(userId: string): Promise<{ name: string; email: string } | null> {
    return this.repo.nameAndEmail(userId);
  }

  /**
   * Sends a password-reset link to the e-mail, if an account has it. The answer is the same
   * either way, so the endpoint does not tell which addresses have accounts; only a missing
   * SMTP set-up is said (it is the server's state, not the account's).
   */
  async requestPasswordReset(email: string, ip: string | null = null): Promise<void> {
    const mailer = this.deps.mailer;
    if (!mailer) {
      throw new AppError('SMTP_NOT_CONFIGURED', 'this server cannot send e-mail (TETHER_SMTP_URL is not set): ask an administrator to reset your password');
    }
    const user = await this.repo.userByEmail(email.trim());
    if (!user || user.disabled) return;
    if ((await this.repo.recentPasswordResets(user.id)) >= RESETS_PER_HOUR) return;
    const token = randomToken('pr_', 32);
    await this.repo.storePasswordReset({ userId: user.id, hash: hashToken(token), expiresAt: new Date(Date.now() + PASSWORD_RESET_TTL_S * 1000) });
    const link = `${this.linkBase()}/reset-password#${token}`;
    const sent = await mailer.send({
      to: [user.email],
      subject: 'Reset your Tether password',
      text: [
        `Someone (we hope you) asked to reset the password of ${user.email} on Tether.`,
        '',
        `Choose a new password here (the link works once, for ${PASSWORD_RESET_TTL_S / 60} minutes):`,
        link,
        '',
        'If you did not ask for this, ignore this e-mail: your password stays as it is.',
      ].join('\n'),
    });
    for (const o of await this.repo.orgsOfUser(user.id)) {
      await this.audit.record({
        orgId: o.id,
        actor: { kind: 'anonymous', ip },
        action: 'user.password_reset_requested',
        targetKind: 'user',
        targetId: user.id,
        details: { email: user.email, mail: sent.ok ? 'sent' : 'failed', ...(sent.ok ? {} : { error: sent.error }) },
      });
    }
    if (!sent.ok) throw new AppError('UNAVAILABLE', 'the e-mail could not be sent; try again later');
  }

  /** Sets a new password with a reset token (once), and ends every session the old password opened. */
  async confirmPasswordReset(token: string, password: string, ip: string | null = null): Promise<void> {
    checkPassword(password);
    const passwordHash = await hashPassword(password);
    const userId = await this.deps.db.transaction(async (tx) => {
      const id = await this.repo.consumePasswordReset(hashToken(token), tx);
      if (!id) return null;
      await this.repo.updateUser(id, { passwordHash }, tx);
      await this.repo.revokeRefreshTokens(id, tx);
      return id;
    });
    if (!userId) throw new AppError('RESET_TOKEN_INVALID', 'this reset link is invalid, already used or expired: ask for a new one');
    for (const o of await this.repo.orgsOfUser(userId)) {
      await this.audit.record({ orgId: o.id, actor: { kind: 'anonymous', ip }, action: 'user.password_reset', targetKind: 'user', targetId: userId });
    }
  }

  private linkBase(): string {
    return (this.deps.linkBase?.() ?? 'http://localhost:8080').replace(/\/+$/, '');
  }

  /** Resolves `Authorization: Bearer …`: a user access token or an API key. */
  async authenticate(token: string): Promise<Actor> {
    if (token.startsWith(API_KEY_PREFIX)) {
      const key = await this.repo.apiKeyByHash(hashToken(token));
      if (!key) throw new AppError('UNAUTHORIZED', 'API key is invalid or revoked');
      return { kind: 'api_key', orgId: key.org_id, role: key.role, userId: null, apiKeyId: key.id };
    }
    if (!looksLikeJwt(token)) throw new AppError('UNAUTHORIZED', 'bearer token is malformed');
    const claims = await this.deps.signer.verify(token, USER_AUDIENCE);
    if (claims === 'expired') throw new AppError('TOKEN_EXPIRED', 'access token expired; refresh it');
    if (!claims || typeof claims.org !== 'string') throw new AppError('UNAUTHORIZED', 'access token is invalid');
    // The role is re-read so a demotion or removal takes effect at once, not at token expiry.
    const member = await this.repo.member(claims.org, claims.sub);
    if (!member || member.disabled) throw new AppError('UNAUTHORIZED', 'this user no longer has access to the org');
    return { kind: 'user', orgId: claims.org, role: member.role, userId: claims.sub, apiKeyId: null };
  }

  /** Whether an actor authenticated earlier may still act in its org (long-lived connections re-ask). */
  async stillAllowed(actor: Actor): Promise<boolean> {
    if (actor.kind === 'api_key') return actor.apiKeyId !== null && (await this.repo.apiKeyActive(actor.orgId, actor.apiKeyId));
    const member = actor.userId ? await this.repo.member(actor.orgId, actor.userId) : null;
    return member !== null && !member.disabled;
  }

  async me(actor: Actor) {
    if (!actor.userId) {
      return { id: null, kind: 'api_key' as const, role: actor.role, orgId: actor.orgId, orgs: [] };
    }
    const member = await this.repo.member(actor.orgId, actor.userId);
    if (!member) throw notFound('USER', actor.userId);
    const orgs = await this.repo.orgsOfUser(actor.userId);
    return { ...toUser(member), kind: 'user' as const, orgId: actor.orgId, orgs: orgs.map((o) => ({ id: o.id, name: o.name, role: o.role })) };
  }

  async listUsers(actor: Actor, limit = 50, offset = 0) {
    const page = await this.repo.listMembers(actor.orgId, limit, offset);
    return { items: page.items.map(toUser), total: page.total, limit, offset };
  }

  /** Where mail to these members (by id, or by role) goes: enabled members only, any org (notifications, at send time). */
  memberEmails(orgId: string, recipients: { users: string[]; roles: string[] }): Promise<string[]> {
    return this.repo.memberEmails(orgId, recipients.users, recipients.roles);
  }

  async getUser(actor: Actor, id: string): Promise<PublicUser> {
    const member = await this.repo.member(actor.orgId, assertUuid(id));
    if (!member) throw notFound('USER', id);
    return toUser(member);
  }

  async createUser(actor: Actor, input: { email: string; password: string; name?: string; role: OrgRole }): Promise<PublicUser> {
    requireRole(actor, 'admin');
    if (!outranks(actor.role, input.role)) throw new AppError('FORBIDDEN', `an ${actor.role} cannot grant the ${input.role} role`);
    const email = checkEmail(input.email);
    checkPassword(input.password);
    if (await this.repo.userByEmail(email)) {
      throw new AppError('EMAIL_TAKEN', 'a user with this email already exists: invite them (POST /api/v1/invitations) to add them to this org');
    }
    const passwordHash = await hashPassword(input.password);
    const user = await this.deps.db.transaction(async (tx) => {
      const u = await this.repo.createUser({ email, name: input.name ?? '', passwordHash }, tx);
      await this.repo.addMember(actor.orgId, u.id, input.role, tx);
      return u;
    });
    await this.audit.record({ orgId: actor.orgId, actor, action: 'user.create', targetKind: 'user', targetId: user.id, details: { email, role: input.role } });
    return this.getUser(actor, user.id);
  }

  async updateUser(actor: Actor, id: string, patch: { name?: string; password?: string; role?: OrgRole; disabled?: boolean }): Promise<PublicUser> {
    const target = await this.getUser(actor, id);
    const self = actor.userId === target.id;
    if (!self) {
      requireRole(actor, 'admin');
      if (!outranks(actor.role, target.role)) throw new AppError('FORBIDDEN', `an ${actor.role} cannot change an ${target.role}`);
      // Password, name and disabled belong to the person, not the membership: an admin of one
      // org must not take over a user who also belongs to other orgs.
      if (patch.password !== undefined || patch.name !== undefined || patch.disabled !== undefined) {
        const orgs = await this.repo.orgsOfUser(target.id);
        if (orgs.some((o) => o.id !== actor.orgId)) {
          throw new AppError('FORBIDDEN', 'this user also belongs to other orgs: only they can change their password, name or status');
        }
      }
    }
    if (patch.role !== undefined) {
      if (!ORG_ROLES.includes(patch.role)) throw new AppError('VALIDATION_FAILED', 'unknown role');
      requireRole(actor, 'admin');
      if (!outranks(actor.role, patch.role)) throw new AppError('FORBIDDEN', `an ${actor.role} cannot grant the ${patch.role} role`);
      if (target.role === 'owner' && patch.role !== 'owner' && (await this.repo.countOwners(actor.orgId)) <= 1) {
        throw new AppError('CONFLICT', 'the last owner of an org cannot be demoted');
      }
      await this.repo.setRole(actor.orgId, target.id, patch.role);
      if (patch.role !== target.role) {
        await this.audit.record({
          orgId: actor.orgId,
          actor,
          action: 'user.role_change',
          targetKind: 'user',
          targetId: target.id,
          details: { email: target.email, from: target.role, to: patch.role },
        });
      }
    }
    if (patch.password !== undefined) checkPassword(patch.password);
    await this.repo.updateUser(target.id, {
      name: patch.name,
      disabled: self ? undefined : patch.disabled,
      passwordHash: patch.password !== undefined ? await hashPassword(patch.password) : undefined,
    });
    // A new password ends every session that the old one opened (a stolen session included):
    // their refresh tokens stop working, so they end at the latest when the access token expires.
    // Disabling ends them too: enabling the user again later must not bring them back.
    if (patch.password !== undefined || (!self && patch.disabled === true)) await this.repo.revokeRefreshTokens(target.id);
    // Which fields changed, never the password itself.
    const changed = {
      ...(patch.name !== undefined && patch.name !== target.name ? { name: patch.name } : {}),
      ...(!self && patch.disabled !== undefined && patch.disabled !== target.disabled ? { disabled: patch.disabled } : {}),
      ...(patch.password !== undefined ? { password: 'changed' } : {}),
    };
    if (Object.keys(changed).length > 0) {
      await this.audit.record({
        orgId: actor.orgId,
        actor,
        action: 'user.update',
        targetKind: 'user',
        targetId: target.id,
        details: { email: target.email, ...changed },
      });
    }
    return this.getUser(actor, id);
  }

  /**
   * Removes a member from the org (their account and other orgs stay). Admins remove members
   * up to their own rank; anyone may leave; the last owner can do neither. Their sessions in
   * this org end: access tokens at once (every request re-reads the membership), refresh tokens
   * are revoked.
   */
  async removeMember(actor: Actor, id: string): Promise<void> {
    const target = await this.getUser(actor, id);
    if (actor.userId !== target.id) {
      requireRole(actor, 'admin');
      if (!outranks(actor.role, target.role)) throw new AppError('FORBIDDEN', `an ${actor.role} cannot remove an ${target.role}`);
    }
    if (target.role === 'owner' && (await this.repo.countOwners(actor.orgId)) <= 1) {
      throw new AppError('CONFLICT', 'the last owner of an org cannot be removed: make another member owner first');
    }
    if (!(await this.repo.removeMember(actor.orgId, target.id))) throw notFound('USER', id);
    await this.repo.revokeRefreshTokensIn(actor.orgId, target.id);
    await this.audit.record({
      orgId: actor.orgId,
      actor,
      action: actor.userId === target.id ? 'membership.leave' : 'membership.remove',
      targetKind: 'user',
      targetId: target.id,
      details: { email: target.email, role: target.role },
    });
  }

  /** Any signed-in user may create an org; they become its owner. */
  async createOrg(actor: Actor, name: string) {
    if (!actor.userId) throw new AppError('FORBIDDEN', 'API keys cannot create orgs');
    const trimmed = name.trim();
    if (!trimmed) throw new AppError('VALIDATION_FAILED', 'name is required');
    const org = await this.deps.db.transaction(async (tx) => {
      const o = await this.repo.createOrg(trimmed, tx);
      await this.repo.addMember(o.id, actor.userId!, 'owner', tx);
      return o;
    });
    await this.audit.record({
      orgId: org.id,
      actor: { ...actor, orgId: org.id, role: 'owner' },
      action: 'org.create',
      targetKind: 'org',
      targetId: org.id,
      details: { name: org.name },
    });
    return { id: org.id, name: org.name, createdAt: org.created_at.toISOString(), role: 'owner' as const };
  }

  async listOrgs(actor: Actor) {
    if (!actor.userId) {
      const org = await this.repo.getOrg(actor.orgId);
      return org ? [{ id: org.id, name: org.name, createdAt: org.created_at.toISOString(), role: actor.role }] : [];
    }
    return (await this.repo.orgsOfUser(actor.userId)).map((o) => ({ id: o.id, name: o.name, createdAt: o.created_at.toISOString(), role: o.role }));
  }

  /** Self-service sign-up: a new org with its owner. Off unless TETHER_ALLOW_SIGNUP is set. */
  async signup(input: { orgName: string; email: string; password: string; name?: string }, ip: string | null = null): Promise<Session> {
    const email = checkEmail(input.email);
    checkPassword(input.password);
    if (!input.orgName.trim()) throw new AppError('VALIDATION_FAILED', 'orgName is required');
    if (await this.repo.userByEmail(email)) throw new AppError('EMAIL_TAKEN', 'a user with this email already exists');
    const passwordHash = await hashPassword(input.password);
    const org = await this.deps.db.transaction(async (tx) => {
      const o = await this.repo.createOrg(input.orgName.trim(), tx);
      const u = await this.repo.createUser({ email, name: input.name ?? '', passwordHash }, tx);
      await this.repo.addMember(o.id, u.id, 'owner', tx);
      return o;
    });
    return this.login(email, input.password, org.id, ip);
  }

  async listApiKeys(actor: Actor) {
    requireRole(actor, 'admin');
    return (await this.repo.listApiKeys(actor.orgId)).map(toApiKey);
  }

  /** The key is returned once; only its hash is stored. */
  async createApiKey(actor: Actor, input: { name: string; role: Exclude<OrgRole, 'owner'> }) {
    requireRole(actor, 'admin');
    if (!outranks(actor.role, input.role)) throw new AppError('FORBIDDEN', `an ${actor.role} cannot create an ${input.role} key`);
    const key = randomToken(API_KEY_PREFIX, 32);
    const row = await this.repo.createApiKey({
      orgId: actor.orgId,
      name: input.name,
      role: input.role,
      prefix: key.slice(0, 10),
      hash: hashToken(key),
      createdBy: actor.userId,
    });
    await this.audit.record({
      orgId: actor.orgId,
      actor,
      action: 'api_key.create',
      targetKind: 'api_key',
      targetId: row.id,
      details: { name: row.name, role: row.role },
    });
    return { ...toApiKey(row), key };
  }

  async revokeApiKey(actor: Actor, id: string): Promise<void> {
    requireRole(actor, 'admin');
    if (!(await this.repo.revokeApiKey(actor.orgId, assertUuid(id)))) throw notFound('API_KEY', id);
    await this.audit.record({ orgId: actor.orgId, actor, action: 'api_key.revoke', targetKind: 'api_key', targetId: id });
  }
}

// argon2id hash of a random string, used only to equalise login timing.
const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$8J8pCkzPl4MBx4vCwTs0Yc0lrB8ZK0kG7vPq7a7x3bE';

/**
 * `tether admin reset-password`: an operator on the server's machine sets a
 * user's password (the one given, or a generated one, returned) and ends
 * every session of that user.
 */
export async function resetUserPassword(db: Database, email: string, password: string | null): Promise<string> {
  const repo = new AccountsRepository(db);
  const user = await repo.userByEmail(email);
  if (!user) throw new AppError('USER_NOT_FOUND', `no user with the email ${email}`);
  const next = password ?? randomBytes(12).toString('base64url');
  await repo.updateUser(user.id, { passwordHash: await hashPassword(next) });
  await repo.revokeRefreshTokens(user.id);
  return next;
}
