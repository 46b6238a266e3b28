import { useEffect, useRef, useState, type ReactNode } from 'react';
import { Link, useLocation } from '../lib/router';
import { useSession } from './session';
import { useLiveState, type LiveState } from './live';
import { useAlertFeed } from '../features/alerts/alert-feed';
import { AlertToast } from '../features/alerts/alert-toast';
import { AlarmCountPills } from '../features/alarms/alarm-counts';
import { RoleBadge } from '../components/ui/badges';
import { BrandMark } from '../components/ui/brand-mark';
import { OrgSwitcher } from '../features/teams/org-switcher';
import { SearchBox } from '../features/search/search-box';

const LIVE_TEXT: Record<LiveState, string> = { connecting: 'Connecting…', open: 'Live', reconnecting: 'Reconnecting…', closed: 'Offline' };

function LiveIndicator() {
  const { state, subscriptions } = useLiveState();
  return (
    <span
      className={`live live-${state}`}
      role="status"
      aria-live="polite"
      title={`Live updates over WebSocket (${subscriptions} active subscriptions)`}
      data-subscriptions={subscriptions}
    >
      <span className="dot" aria-hidden="true" />
      {LIVE_TEXT[state]}
    </span>
  );
}

function NavLink({ to, children, exact = false, onNavigate }: { to: string; children: ReactNode; exact?: boolean; onNavigate(): void }) {
  const { pathname } = useLocation();
  const current = exact ? pathname === to : pathname === to || pathname.startsWith(`${to}/`);
  return (
    <Link to={to} aria-current={current ? 'page' : undefined} onClick={onNavigate}>
      {children}
    </Link>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  const { user, org, role, can, signOut } = useSession();
  const { state } = useLiveState();
  const { unseen } = useAlertFeed();
  const { pathname } = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);

  // After a client-side navigation, move focus to the new page's heading, as a page load would.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    window.scrollTo(0, 0);
    const h1 = main.current?.querySelector<HTMLElement>('h1');
    (h1 ?? main.current)?.focus({ preventScroll: true });
  }, [pathname]);

  const close = () => setMenuOpen(false);

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand" onClick={close}>
          <BrandMark />
          Tether
        </Link>
        <button type="button" className="btn btn-ghost menu-toggle" aria-expanded={menuOpen} aria-controls="primary-nav" onClick={() => setMenuOpen((o) => !o)}>
          Menu
          {unseen > 0 && (
            <span className="count" aria-hidden="true">
              {unseen}
            </span>
          )}
        </button>
        <nav id="primary-nav" className={menuOpen ? 'nav nav-open' : 'nav'} aria-label="Main">
          <NavLink to="/" exact onNavigate={close}>
            Overview
          </NavLink>
          <NavLink to="/devices" onNavigate={close}>
            Devices
          </NavLink>
          <NavLink to="/alerts" onNavigate={close}>
            Alerts
            {unseen > 0 && (
              <span className="count" data-testid="new-alerts">
                {unseen}
                <span className="visually-hidden"> new</span>
              </span>
            )}
          </NavLink>
          <NavLink to="/files" onNavigate={close}>
            Files
          </NavLink>
          <NavLink to="/alarms" onNavigate={close}>
            Alarms
          </NavLink>
          <NavLink to="/map" onNavigate={close}>
            Map
          </NavLink>
          <NavLink to="/health" onNavigate={close}>
            Fleet health
          </NavLink>
          <NavLink to="/projects" onNavigate={close}>
            Projects
          </NavLink>
          <NavLink to="/aliases" onNavigate={close}>
            Aliases
          </NavLink>
          <NavLink to="/firmware" onNavigate={close}>
            Firmware
          </NavLink>
          <NavLink to="/fleets" onNavigate={close}>
            Fleets
          </NavLink>
          <NavLink to="/deployments" onNavigate={close}>
            Deployments
          </NavLink>
          {can.manageUsers && (
            <NavLink to="/admin" onNavigate={close}>
              Admin
            </NavLink>
          )}
        </nav>
        <SearchBox onNavigate={close} />
        <div className="topbar-end">
          <AlarmCountPills />
          <LiveIndicator />
          <OrgSwitcher />
          <span className="whoami" title={`${user.email} in ${org.name}`}>
            <span className="whoami-name">{user.name || user.email}</span> <RoleBadge role={role} />
          </span>
          <button type="button" className="btn btn-ghost" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </header>
      {state === 'reconnecting' && (
        <p className="banner banner-warning" role="status">
          Live connection lost — reconnecting… Data on screen may be out of date until it resumes.
        </p>
      )}
      <main id="main" ref={main} tabIndex={-1}>
        {children}
      </main>
      <AlertToast />
    </div>
  );
}
