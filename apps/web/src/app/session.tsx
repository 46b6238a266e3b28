/**
 * Who is signed in. Tokens live in localStorage so a reload keeps the session;
 * the access token is refreshed before it expires (the live WebSocket needs a
 * valid one to reconnect) and transparently when a request finds it expired.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { Role, Session, User } from '@tether/api-client';
import { permissions, type Permissions } from '../lib/roles';
import { DashboardClient } from './dashboard-client';
import { SignInPage } from '../features/auth/sign-in-page';

const STORAGE_KEY = 'tether.session';
export const SESSION_EXPIRED_NOTICE = 'Your session has expired. Please sign in again.';

export interface StoredSession {
  accessToken: string;
  refreshToken: string;
  /** ms since the epoch */
  expiresAt: number;
  lifetimeMs: number;
  user: User;
  org: { id: string; name: string };
}

export interface OrgMembership {
  id: string;
  name: string;
  role: Role;
}

interface SessionContextValue {
  client: DashboardClient;
  user: User;
  org: { id: string; name: string };
  role: Role;
  can: Permissions;
  /** Every org the user belongs to (the current one included); empty until the server answered. */
  orgs: OrgMembership[];
  /** Moves to another of the user's orgs: a new session there, and the dashboard starts afresh. */
  switchOrg(orgId: string): Promise<void>;
  signOut(notice?: string): void;
}

const SessionContext = createContext<SessionContextValue | null>(null);

export function useSession(): SessionContextValue {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in SessionProvider');
  return s;
}

function readStored(): StoredSession | null {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    return raw ? (JSON.parse(raw) as StoredSession) : null;
  } catch {
    return null;
  }
}

/** Keeps a new session for the next page load (an accepted invitation signs in, then the dashboard starts). */
export function storeSession(s: Session): void {
  localStorage.setItem(STORAGE_KEY, JSON.stringify(toStored(s)));
}

const toStored = (s: Session): StoredSession => ({
  accessToken: s.accessToken,
  refreshToken: s.refreshToken,
  expiresAt: Date.now() + s.expiresIn * 1000,
  lifetimeMs: s.expiresIn * 1000,
  user: s.user,
  org: s.org,
});

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<StoredSession | null>(readStored);
  const [notice, setNotice] = useState<string | null>(null);
  const [orgs, setOrgs] = useState<OrgMembership[]>([]);

  const client = useMemo(() => {
    const stored = readStored();
    return new DashboardClient({
      baseUrl: window.location.origin,
      token: stored?.accessToken,
      refreshToken: stored?.refreshToken,
      onTokens(s) {
        setSession((prev) => {
          const next = { ...toStored(s), user: prev && s.user.id === prev.user.id ? { ...s.user } : s.user };
          localStorage.setItem(STORAGE_KEY, JSON.stringify(next));
          return next;
        });
      },
    });
  }, []);

  const signOut = useCallback(
    (why?: string) => {
      localStorage.removeItem(STORAGE_KEY);
      client.token = undefined;
      client.refreshToken = undefined;
      setNotice(why ?? null);
      setSession(null);
    },
    [client],
  );

  // Only the first 401 of a burst signs out; the rest find the session gone.
  const signedIn = useRef(session !== null);
  signedIn.current = session !== null;
  useEffect(() => {
    client.onSessionLost = () => {
      if (signedIn.current) signOut(SESSION_EXPIRED_NOTICE);
    };
    return () => {
      client.onSessionLost = null;
    };
  }, [client, signOut]);

  // Refresh a minute (or a quarter of the lifetime) before the access token expires.
  const expiresAt = session?.expiresAt;
  const lifetimeMs = session?.lifetimeMs ?? 0;
  useEffect(() => {
    if (!expiresAt) return;
    const lead = Math.min(60_000, lifetimeMs / 4);
    const t = setTimeout(() => void client.refresh().catch(() => {}), Math.max(1000, expiresAt - Date.now() - lead));
    return () => clearTimeout(t);
  }, [client, expiresAt, lifetimeMs]);

  // Another tab signed in, refreshed or signed out: follow it.
  useEffect(() => {
    const onStorage = (e: StorageEvent) => {
      if (e.key !== STORAGE_KEY) return;
      const next = readStored();
      client.token = next?.accessToken;
      client.refreshToken = next?.refreshToken;
      setSession(next);
    };
    window.addEventListener('storage', onStorage);
    return () => window.removeEventListener('storage', onStorage);
  }, [client]);

  // The stored role may be stale: ask the server once per sign-in (and per org: an accepted invitation adds one).
  const userId = session?.user.id;
  const orgId = session?.org.id;
  useEffect(() => {
    if (!userId) return;
    let cancelled = false;
    client.me().then(
      (me) => {
        if (cancelled) return;
        setOrgs(me.orgs);
        setSession((prev) => {
          // The dashboard signs in users; an API key has no user to refresh.
          if (!prev || me.kind !== 'user') return prev;
          const next = { ...prev, user: { id: me.id, email: me.email, name: me.name, role: me.role, disabled: me.disabled, createdAt: me.createdAt } };
          localStorage.setItem(STORAGE_KEY, JSON.stringify(next));
          return next;
        });
      },
      () => {},
    );
    return () => {
      cancelled = true;
    };
  }, [client, userId, orgId]);

  const signIn = useCallback(
    async (email: string, password: string) => {
      await client.login(email, password);
      setNotice(null);
    },
    [client],
  );

  const switchOrg = useCallback(
    async (orgId: string) => {
      // Stored before the reload (a state updater would run too late): every page, cache and
      // live subscription starts again in the other org.
      storeSession(await client.switchOrg(orgId));
      window.location.assign('/');
    },
    [client],
  );

  const value = useMemo<SessionContextValue | null>(
    () =>
      session ? { client, user: session.user, org: session.org, role: session.user.role, can: permissions(session.user.role), orgs, switchOrg, signOut } : null,
    [client, session, orgs, switchOrg, signOut],
  );

  if (!value) return <SignInPage onSignIn={signIn} onForgotPassword={(email) => client.auth.requestPasswordReset(email)} notice={notice} />;
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}
