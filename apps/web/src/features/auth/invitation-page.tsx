/**
 * Where an invitation's link lands (`/invite#<token>`): who invites you into
 * which org with which role; accept with your existing account's password, or
 * choose a password for a new one. The token is in the fragment, so it never
 * reaches a server log.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { TetherClient, type InvitationPreview } from '@tether/api-client';
import { storeSession } from '../../app/session';
import { describeError } from '../../components/ui/state-views';
import { BrandMark } from '../../components/ui/brand-mark';
import { RoleBadge } from '../../components/ui/badges';
import { formatDateTime } from '../../lib/time';

/** The links in e-mails open without a session (or in someone else's): these pages call the API themselves. */
export const publicClient = () => new TetherClient({ baseUrl: window.location.origin });

export const tokenFromHash = () => decodeURIComponent(window.location.hash.replace(/^#/, '')).trim();

export function AuthCard({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <main className="signin">
      <div className="signin-card card" aria-labelledby="auth-title" role="region">
        <div className="brand brand-large" aria-hidden="true">
          <BrandMark />
          Tether
        </div>
        <h1 id="auth-title">{title}</h1>
        {children}
      </div>
    </main>
  );
}

export function InvitationPage() {
  const [client] = useState(publicClient);
  const [token] = useState(tokenFromHash);
  const [preview, setPreview] = useState<InvitationPreview | null>(null);
  const [loadError, setLoadError] = useState<string | null>(token ? null : 'This link has no invitation in it: open the whole link from the e-mail.');
  const [form, setForm] = useState({ name: '', password: '', confirm: '' });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    document.title = 'Invitation · Tether';
    if (!token) return;
    client.auth.invitation(token).then(setPreview, (e: unknown) => setLoadError(describeError(e)));
  }, [client, token]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!preview) return;
    if (!preview.accountExists && form.password !== form.confirm) {
      setError('The two passwords differ.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      storeSession(await client.acceptInvitation({ token, password: form.password, name: preview.accountExists ? undefined : form.name.trim() || undefined }));
      window.location.replace('/');
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  if (loadError) {
    return (
      <AuthCard title="Invitation">
        <p className="notice notice-error" role="alert">
          {loadError}
        </p>
        <p>
          <a href="/">Go to sign-in</a>
        </p>
      </AuthCard>
    );
  }
  if (!preview) {
    return (
      <AuthCard title="Invitation">
        <p className="muted" role="status">
          Checking the invitation…
        </p>
      </AuthCard>
    );
  }
  return (
    <AuthCard title={`Join ${preview.org.name}`}>
      <p data-testid="invitation-summary">
        {preview.invitedBy ?? 'An administrator'} invited <strong>{preview.email}</strong> to <strong>{preview.org.name}</strong> as{' '}
        <RoleBadge role={preview.role} />.
      </p>
      <p className="muted small">The invitation works once, until {formatDateTime(preview.expiresAt)}.</p>
      <form className="form" onSubmit={submit}>
        {error && (
          <p className="notice notice-error" role="alert">
            {error}
          </p>
        )}
        <input type="email" name="email" autoComplete="username" value={preview.email} readOnly hidden />
        {preview.accountExists ? (
          <>
            <p>You already have a Tether account with this address: enter its password to add {preview.org.name} to your orgs.</p>
            <label className="field">
              <span>Your password</span>
              <input
                type="password"
                autoComplete="current-password"
                required
                autoFocus
                value={form.password}
                onChange={(e) => setForm({ ...form, password: e.target.value })}
              />
            </label>
          </>
        ) : (
          <>
            <label className="field">
              <span>Your name</span>
              <input autoComplete="name" maxLength={200} autoFocus value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
            </label>
            <label className="field">
              <span>Choose a password</span>
              <input
                type="password"
                autoComplete="new-password"
                minLength={8}
                required
                value={form.password}
                onChange={(e) => setForm({ ...form, password: e.target.value })}
              />
            </label>
            <label className="field">
              <span>Repeat the password</span>
              <input
                type="password"
                autoComplete="new-password"
                minLength={8}
                required
                value={form.confirm}
                onChange={(e) => setForm({ ...form, confirm: e.target.value })}
              />
            </label>
          </>
        )}
        <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
          {busy ? 'Joining…' : `Accept and join ${preview.org.name}`}
        </button>
      </form>
    </AuthCard>
  );
}
