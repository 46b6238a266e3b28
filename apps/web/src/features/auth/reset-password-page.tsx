/** Where a password-reset link lands (`/reset-password#<token>`): choose a new password, once. */
import { useEffect, useState, type FormEvent } from 'react';
import { describeError } from '../../components/ui/state-views';
import { AuthCard, publicClient, tokenFromHash } from './invitation-page';

export function ResetPasswordPage() {
  const [client] = useState(publicClient);
  const [token] = useState(tokenFromHash);
  const [form, setForm] = useState({ password: '', confirm: '' });
  const [error, setError] = useState<string | null>(token ? null : 'This link has no reset token in it: open the whole link from the e-mail.');
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    document.title = 'Choose a new password · Tether';
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (form.password !== form.confirm) {
      setError('The two passwords differ.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await client.auth.confirmPasswordReset({ token, password: form.password });
      setDone(true);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const toSignIn = () => window.location.replace('/');
  if (done) {
    return (
      <AuthCard title="Password changed">
        <p role="status">Your password is changed, and every session that the old one opened has ended.</p>
        <button type="button" className="btn btn-primary btn-block" onClick={toSignIn}>
          Sign in
        </button>
      </AuthCard>
    );
  }
  return (
    <AuthCard title="Choose a new password">
      <form className="form" onSubmit={submit}>
        {error && (
          <p className="notice notice-error" role="alert">
            {error}
          </p>
        )}
        <label className="field">
          <span>New password</span>
          <input
            type="password"
            autoComplete="new-password"
            minLength={8}
            required
            autoFocus
            value={form.password}
            onChange={(e) => setForm({ ...form, password: e.target.value })}
          />
        </label>
        <label className="field">
          <span>Repeat the new password</span>
          <input
            type="password"
            autoComplete="new-password"
            minLength={8}
            required
            value={form.confirm}
            onChange={(e) => setForm({ ...form, confirm: e.target.value })}
          />
        </label>
        <button type="submit" className="btn btn-primary btn-block" disabled={busy || !token}>
          {busy ? 'Saving…' : 'Set the new password'}
        </button>
        <button type="button" className="btn btn-ghost btn-block" onClick={toSignIn}>
          Back to sign-in
        </button>
      </form>
    </AuthCard>
  );
}
