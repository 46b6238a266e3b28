/**
 * TeamsService against a real database (PGlite, or Postgres with DATABASE_URL), without
 * SMTP: the case of a fresh `npm start`. The e-mailed path is tested in test/teams.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase } from '../../../test/helpers.js';
import type { Database } from '../../platform/db/database.js';
import { JwtSigner, fixedKey } from '../../platform/security/jwt.js';
import { AccountsService } from '../accounts/accounts.service.js';
import type { Actor } from '../accounts/actor.js';
import { TeamsService } from './teams.service.js';

let db: Database;
let close: () => Promise<void>;
let accounts: AccountsService;
let owner: Actor;

beforeAll(async () => {
  ({ db, close } = await testDatabase());
  accounts = new AccountsService({ db, signer: new JwtSigner(fixedKey('t'.repeat(48))), accessTtlS: 900, refreshTtlS: 3600 });
  const boot = await accounts.bootstrap('owner@example.com', null);
  owner = await accounts.authenticate((await accounts.login('owner@example.com', boot!.password!)).accessToken);
});
afterAll(async () => {
  await close?.();
});

describe('without SMTP', () => {
  it('an invitation is made and its link given to the inviter, who passes it on', async () => {
    const teams = new TeamsService({ db, accounts, mailer: null, publicUrl: null });
    const inv = await teams.invite(owner, { email: 'no-smtp@example.com', role: 'operator' }, 'http://dash.example:8080');
    expect(inv).toMatchObject({ mail: 'not_configured', status: 'pending', role: 'operator' });
    // Without TETHER_PUBLIC_URL the link points at the dashboard the inviter works in.
    expect(inv.link).toMatch(/^http:\/\/dash\.example:8080\/invite#inv_[A-Za-z0-9_-]{40,}$/);
    const token = inv.link.split('#')[1]!;
    // Only the token's hash is stored.
    const [row] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM invitations WHERE token_hash = $1', [token]);
    expect(row!.n).toBe(0);
    const session = await teams.accept({ token, password: 'no-smtp-pw-1', name: 'No Smtp' }, null);
    expect(session.user).toMatchObject({ role: 'operator', name: 'No Smtp' });
  });
});
