import type { Database } from '../../platform/db/database.js';
import type { Mailer } from '../../platform/notify/mailer.js';
import { hashToken, randomToken } from '../../platform/security/secrets.js';
import { AppError, assertUuid } from '../errors.js';
import { outranks, requireRole, type Actor, type OrgRole } from '../accounts/actor.js';
import type { AccountsService, Session } from '../accounts/accounts.service.js';
import { AuditLog } from '../audit/audit.repository.js';
import { TeamsRepository, type InvitationRow } from './teams.repository.js';
import type { Invitation } from './teams.schemas.js';

/** How long an invitation link works. */
export const INVITATION_TTL_S = 7 * 86400;

export interface TeamsServiceDeps {
  db: Database;
  accounts: AccountsService;
  /** null: no SMTP set up; invitations are made and their link shown to the inviter only. */
  mailer: Mailer | null;
  /** TETHER_PUBLIC_URL; null: the inviter's own address (the dashboard they invite from). */
  publicUrl: string | null;
}

const statusOf = (r: InvitationRow): Invitation['status'] =>
  r.accepted_at ? 'accepted' : r.revoked_at ? 'revoked' : r.expires_at.getTime() <= Date.now() ? 'expired' : 'pending';

const toInvitation = (r: InvitationRow): Invitation => ({
  id: r.id,
  email: r.email,
  role: r.role,
  status: statusOf(r),
  invitedBy: r.invited_by && r.invited_by_email ? { id: r.invited_by, email: r.invited_by_email } : null,
  createdAt: r.created_at.toISOString(),
  expiresAt: r.expires_at.toISOString(),
  acceptedAt: r.accepted_at?.toISOString() ?? null,
  acceptedBy: r.accepted_by,
  revokedAt: r.revoked_at?.toISOString() ?? null,
  mail: r.mail_status,
  mailError: r.mail_error,
});

function normaliseEmail(email: string): string {
  const e = email.trim();
  if (!/^[^@\s]+@[^@\s]+$/.test(e)) throw new AppError('VALIDATION_FAILED', 'email is not a valid address');
  return e;
}

/**
 * Teams (seed 004's Invitation): admins invite an e-mail address with a role; the person
 * accepts through the link as a new or an existing user and lands in the org with that role.
 * Memberships themselves are the accounts module's: this module asks it to join.
 */
export class TeamsService {
  private readonly repo: TeamsRepository;
  private readonly audit: AuditLog;

  constructor(private readonly deps: TeamsServiceDeps) {
    this.repo = new TeamsRepository(deps.db);
    this.audit = new AuditLog(deps.db);
  }

  /**
   * Makes the invitation and e-mails its link. The link is also returned once, so that an
   * inviter without SMTP (or whose mail failed) can pass it on; only its hash is stored.
   */
  async invite(actor: Actor, input: { email: string; role?: OrgRole }, origin: string | null): Promise<Invitation & { link: string }> {
    requireRole(actor, 'admin');
    const role = input.role ?? 'viewer';
    if (!outranks(actor.role, role)) throw new AppError('FORBIDDEN', `an ${actor.role} cannot grant the ${role} role`);
    const email = normaliseEmail(input.email);
    if ((await this.deps.accounts.accountOf(actor.orgId, email)).member) throw new AppError('ALREADY_MEMBER', `${email} is already a member of this org`);

    const token = randomToken('inv_', 32);
    const link = `${(this.deps.publicUrl ?? origin ?? 'http://localhost:8080').replace(/\/+$/, '')}/invite#${token}`;
    const id = await this.deps.db.transaction((tx) =>
      this.repo.create(
        {
          orgId: actor.orgId,
          email,
          role,
          tokenHash: hashToken(token),
          invitedBy: actor.userId,
          expiresAt: new Date(Date.now() + INVITATION_TTL_S * 1000),
          mailStatus: this.deps.mailer ? 'failed' : 'not_configured',
        },
        tx,
      ),
    );
    if (this.deps.mailer) {
      const orgName = (await this.deps.accounts.orgName(actor.orgId)) ?? 'an org';
      const inviter = actor.userId ? await this.deps.accounts.person(actor.userId) : null;
      const sent = await this.deps.mailer.send({
        to: [email],
        subject: `You are invited to ${orgName} on Tether`,
        text: [
          `${inviter ? inviter.name || inviter.email : 'An administrator'} invited you to join ${orgName} on Tether as ${role === 'admin' || role === 'operator' || role === 'owner' ? 'an' : 'a'} ${role}.`,
          '',
          `Accept the invitation here (the link works once, for ${INVITATION_TTL_S / 86400} days):`,
          link,
          '',
          'If you already have a Tether account with this address, sign in with its password on that page;',
          'otherwise choose a password there. If you did not expect this e-mail, ignore it.',
        ].join('\n'),
      });
      await this.repo.setMailStatus(id, sent.ok ? 'sent' : 'failed', sent.error);
    }
    const row = (await this.repo.get(actor.orgId, id))!;
    await this.audit.record({
      orgId: actor.orgId,
      actor,
      action: 'invitation.create',
      targetKind: 'invitation',
      targetId: id,
      details: { email, role, mail: row.mail_status },
    });
    return { ...toInvitation(row), link };
  }

  async list(actor: Actor, status: 'pending' | 'all' = 'pending', limit = 100): Promise<Invitation[]> {
    requireRole(actor, 'admin');
    return (await this.repo.list(actor.orgId, status === 'pending', limit)).map(toInvitation);
  }

  async revoke(actor: Actor, id: string): Promise<void> {
    requireRole(actor, 'admin');
    const row = await this.repo.get(actor.orgId, assertUuid(id));
    if (!row) throw new AppError('INVITATION_NOT_FOUND', `invitation ${id} not found`);
    if (!(await this.repo.revoke(actor.orgId, row.id))) throw new AppError('CONFLICT', `this invitation is ${statusOf(row)}, not pending`);
    await this.audit.record({
      orgId: actor.orgId,
      actor,
      action: 'invitation.revoke',
      targetKind: 'invitation',
      targetId: row.id,
      details: { email: row.email },
    });
  }

  /** What the link is for, before the person accepts: the org, the role, and whether they have an account. */
  async preview(token: string) {
    const row = await this.usable(token);
    const inviter = row.invited_by ? await this.deps.accounts.person(row.invited_by) : null;
    return {
      org: { id: row.org_id, name: (await this.deps.accounts.orgName(row.org_id)) ?? '' },
      email: row.email,
      role: row.role,
      invitedBy: inviter ? inviter.name || inviter.email : null,
      expiresAt: row.expires_at.toISOString(),
      accountExists: (await this.deps.accounts.accountOf(row.org_id, row.email)).exists,
    };
  }

  /** Accepts: an existing account signs in with its password, a new one is made; then a session in the org. */
  async accept(input: { token: string; password: string; name?: string }, ip: string | null): Promise<Session> {
    const row = await this.usable(input.token);
    const joined = await this.deps.accounts.join(
      { orgId: row.org_id, role: row.role, email: row.email, password: input.password, name: input.name },
      (tx, userId) => this.repo.accept(row.id, userId, tx),
    );
    await this.audit.record({
      orgId: row.org_id,
      actor: { kind: 'user', orgId: row.org_id, role: row.role, userId: joined.userId, apiKeyId: null, ip },
      action: 'invitation.accept',
      targetKind: 'invitation',
      targetId: row.id,
      details: { email: row.email, role: row.role, newAccount: joined.newAccount },
    });
    return joined.session;
  }

  private async usable(token: string): Promise<InvitationRow> {
    const row = await this.repo.byTokenHash(hashToken(token));
    if (!row) throw new AppError('INVITATION_INVALID', 'this invitation link is not valid: check that it was copied whole');
    const status = statusOf(row);
    if (status === 'accepted') throw new AppError('INVITATION_USED', 'this invitation was already accepted: sign in instead');
    if (status === 'revoked') throw new AppError('INVITATION_REVOKED', 'this invitation was withdrawn: ask for a new one');
    if (status === 'expired') throw new AppError('INVITATION_EXPIRED', 'this invitation has expired: ask for a new one');
    return row;
  }
}
