import { useEffect, useState, type FormEvent } from 'react';
import { ApiError } from '@tether/api-client';
import { describeError } from '../../components/ui/state-views';
import { BrandMark } from '../../components/ui/brand-mark';

/** "Forgot your password?": asks for a reset e-mail. The answer does not say whether the address has an account. */
function ForgotPasswordForm({ email: initial, onRequest, onBack }: { email: string; onRequest(email: string): Promise<void>; onBack(): void }) {
  const [email, setEmail] = useState(initial);
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onRequest(email.trim());
      setSent(true);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="signin-card card" onSubmit={submit} aria-labelledby="forgot-title">
      <div className="brand brand-large" aria-hidden="true">
        <BrandMark />
        Tether
      </div>
      <h1 id="forgot-title">Reset your password</h1>
      {sent ? (
        <p className="notice notice-success" role="status">
          If an account has the address {email.trim()}, an e-mail with a link to choose a new password is on its way. The link works once, for an hour.
        </p>
      ) : (
        <>
          {error && (
            <p className="notice notice-error" role="alert">
              {error}
            </p>
          )}
          <label className="field">
            <span>Email</span>
            <input type="email" name="email" autoComplete="username" required autoFocus value={email} onChange={(e) => setEmail(e.target.value)} />
          </label>
          <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
            {busy ? 'Sending…' : 'E-mail me a reset link'}
          </button>
        </>
      )}
      <button type="button" className="btn btn-ghost btn-block" onClick={onBack}>
        Back to sign-in
      </button>
    </form>
  );
}

export function SignInPage({
  onSignIn,
  onForgotPassword,
  notice,
}: {
  onSignIn(email: string, password: string): Promise<void>;
  onForgotPassword(email: string): Promise<void>;
  notice: string | null;
}) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [forgot, setForgot] = useState(false);

  useEffect(() => {
    document.title = forgot ? 'Reset your password · Tether' : 'Sign in · Tether';
  }, [forgot]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onSignIn(email.trim(), password);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'Wrong email or password.' : describeError(err));
      setBusy(false);
    }
  };

  if (forgot) {
    return (
      <main className="signin">
        <ForgotPasswordForm email={email} onRequest={onForgotPassword} onBack={() => setForgot(false)} />
      </main>
    );
  }
  return (
    <main className="signin">
      <form className="signin-card card" onSubmit={submit} aria-labelledby="signin-title">
        <div className="brand brand-large" aria-hidden="true">
          <BrandMark />
          Tether
        </div>
        <h1 id="signin-title">Sign in</h1>
        {notice && (
          <p className="notice notice-warning" role="alert">
            {notice}
          </p>
        )}
        {error && (
          <p className="notice notice-error" role="alert">
            {error}
          </p>
        )}
        <label className="field">
          <span>Email</span>
          <input type="email" name="email" autoComplete="username" required autoFocus value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label className="field">
          <span>Password</span>
          <input type="password" name="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <button type="button" className="btn btn-ghost btn-block" onClick={() => setForgot(true)}>
          Forgot your password?
        </button>
        <p className="muted small">The first admin login is printed when Tether starts for the first time.</p>
      </form>
    </main>
  );
}
