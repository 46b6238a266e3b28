import { useEffect, useState, type FormEvent } from 'react';
import { ApiError } from '@tether/api-client';
import { describeError } from '../../components/ui/state-views';
import { BrandMark } from '../../components/ui/brand-mark';

export function SignInPage({ onSignIn, notice }: { onSignIn(email: string, password: string): Promise<void>; notice: string | null }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    document.title = 'Sign in · Tether';
  }, []);

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
        <p className="muted small">The first admin login is printed when Tether starts for the first time.</p>
      </form>
    </main>
  );
}
