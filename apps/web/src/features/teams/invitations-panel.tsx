/**
 * Invitations (seed 004): an admin invites an e-mail address with a role. The
 * link is e-mailed when the server has SMTP; it is also shown once here, to
 * pass on by hand (the only way without SMTP). Pending ones can be withdrawn
 * or sent again.
 */
import { useState, type FormEvent } from 'react';
import type { Invitation, Role } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { formatDateTime } from '../../lib/time';
import { Section } from '../../components/ui/page';
import { Async, describeError } from '../../components/ui/state-views';
import { ConfirmDialog, Dialog } from '../../components/ui/dialog';
import { CopyBlock } from '../../components/ui/copy-block';
import { RoleBadge } from '../../components/ui/badges';
import { RelativeTime } from '../../components/ui/relative-time';

type Created = Invitation & { link: string };

const MAIL_TEXT: Record<Invitation['mail'], string> = {
  sent: 'e-mailed',
  failed: 'e-mail failed',
  not_configured: 'not e-mailed (no SMTP)',
};

function InviteForm({ grantable, onDone, onCancel }: { grantable: Role[]; onDone(i: Created): void; onCancel(): void }) {
  const { client } = useSession();
  const [form, setForm] = useState({ email: '', role: 'viewer' as Role });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onDone(await client.invitations.create({ email: form.email.trim(), role: form.role }));
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };
  return (
    <form className="form" onSubmit={submit}>
      {error && (
        <p className="notice notice-error" role="alert">
          {error}
        </p>
      )}
      <label className="field">
        <span>Email</span>
        <input type="email" required autoComplete="off" autoFocus value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />
      </label>
      <label className="field">
        <span>Role</span>
        <select value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as Role })}>
          {grantable.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </label>
      <p className="muted small">
        They get a link that works once, for 7 days. With an account already (in another org), they accept with its password; otherwise they choose one.
      </p>
      <div className="form-actions">
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? 'Inviting…' : 'Send invitation'}
        </button>
      </div>
    </form>
  );
}

function InvitationResult({ invitation, onClose }: { invitation: Created; onClose(): void }) {
  return (
    <div className="form" data-testid="invitation-result">
      {invitation.mail === 'sent' ? (
        <p className="notice notice-success" role="status">
          An invitation to join as {invitation.role} is on its way to {invitation.email}.
        </p>
      ) : (
        <p className="notice notice-warning" role="status">
          {invitation.mail === 'failed'
            ? `The e-mail to ${invitation.email} could not be sent (${invitation.mailError ?? 'unknown error'}).`
            : 'This server cannot send e-mail (TETHER_SMTP_URL is not set).'}{' '}
          Send them this link yourself: it is shown only now.
        </p>
      )}
      <CopyBlock label="Invitation link" value={invitation.link} testId="invitation-link" />
      <div className="form-actions">
        <button type="button" className="btn btn-primary" onClick={onClose}>
          Done
        </button>
      </div>
    </div>
  );
}

export function InvitationsPanel() {
  const { client, can } = useSession();
  const [inviting, setInviting] = useState(false);
  const [created, setCreated] = useState<Created | null>(null);
  const [withdrawing, setWithdrawing] = useState<Invitation | null>(null);
  const [rowError, setRowError] = useState<{ id: string; message: string } | null>(null);
  const state = useAsync(() => client.invitations.list({ status: 'pending' }), [client]);

  const resend = async (i: Invitation) => {
    setRowError(null);
    try {
      setCreated(await client.invitations.create({ email: i.email, role: i.role }));
      state.reload();
    } catch (e) {
      setRowError({ id: i.id, message: describeError(e) });
    }
  };

  return (
    <Section
      title="Invitations"
      id="invitations"
      actions={
        <button type="button" className="btn btn-small btn-primary" onClick={() => setInviting(true)}>
          Invite by e-mail
        </button>
      }
    >
      <Async state={state} loadingLabel="Loading invitations…">
        {({ items }) =>
          items.length === 0 ? (
            <p className="muted">No pending invitations.</p>
          ) : (
            <div className="table-wrap">
              <table className="table table-stack" aria-label="Pending invitations">
                <thead>
                  <tr>
                    <th scope="col">Email</th>
                    <th scope="col">Role</th>
                    <th scope="col">Invited</th>
                    <th scope="col">Expires</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((i) => (
                    <tr key={i.id}>
                      <td data-label="Email">
                        <div>
                          <div className="strong">{i.email}</div>
                          <div className="muted small">{MAIL_TEXT[i.mail]}</div>
                          {rowError?.id === i.id && (
                            <p className="field-error" role="alert">
                              {rowError.message}
                            </p>
                          )}
                        </div>
                      </td>
                      <td data-label="Role">
                        <RoleBadge role={i.role} />
                      </td>
                      <td data-label="Invited">
                        <div>
                          <RelativeTime value={i.createdAt} />
                          {i.invitedBy && <div className="muted small">by {i.invitedBy.email}</div>}
                        </div>
                      </td>
                      <td data-label="Expires">{formatDateTime(i.expiresAt)}</td>
                      <td data-label="Actions">
                        <div className="row-actions">
                          <button type="button" className="btn btn-small" onClick={() => void resend(i)}>
                            Send again<span className="visually-hidden"> to {i.email}</span>
                          </button>
                          <button type="button" className="btn btn-small btn-danger" onClick={() => setWithdrawing(i)}>
                            Withdraw<span className="visually-hidden"> the invitation of {i.email}</span>
                          </button>
                        </div>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Async>
      <Dialog open={inviting} title="Invite a member" onClose={() => setInviting(false)}>
        <InviteForm
          grantable={can.grantable}
          onCancel={() => setInviting(false)}
          onDone={(i) => {
            setInviting(false);
            setCreated(i);
            state.reload();
          }}
        />
      </Dialog>
      <Dialog open={created !== null} title="Invitation made" onClose={() => setCreated(null)}>
        {created && <InvitationResult invitation={created} onClose={() => setCreated(null)} />}
      </Dialog>
      <ConfirmDialog
        open={withdrawing !== null}
        title="Withdraw the invitation?"
        confirmLabel="Withdraw"
        onClose={() => setWithdrawing(null)}
        onConfirm={async () => {
          await client.invitations.revoke(withdrawing!.id);
          state.reload();
        }}
      >
        <p>The link sent to {withdrawing?.email} stops working at once.</p>
      </ConfirmDialog>
    </Section>
  );
}
