import { useEffect, useRef, useState } from 'react';
import { Link, useLocation } from '../../lib/router';
import { SeverityBadge } from '../../components/ui/badges';
import { useAlertFeed } from './alert-feed';

const SHOW_MS = 8000;

/** A short-lived notice for each new alert, read out by screen readers. The alerts page shows the feed itself. */
export function AlertToast() {
  const { items } = useAlertFeed();
  const { pathname } = useLocation();
  const onAlertsPage = useRef(pathname === '/alerts');
  onAlertsPage.current = pathname === '/alerts';
  const [shownId, setShownId] = useState<string | null>(null);
  const latestId = items[0]?.id;

  useEffect(() => {
    if (!latestId || onAlertsPage.current) return;
    setShownId(latestId);
    const t = setTimeout(() => setShownId(null), SHOW_MS);
    return () => clearTimeout(t);
  }, [latestId]);

  // Looked up by id, so the device name appears once it has been fetched.
  const shown = shownId && pathname !== '/alerts' ? items.find((a) => a.id === shownId) : undefined;
  return (
    <div className="toast-region" aria-live="polite" aria-atomic="true">
      {shown && (
        <div className="toast" role="status">
          <SeverityBadge severity={shown.severity} />
          <span className="toast-text">
            New alert: <strong>{shown.message}</strong>
            {shown.deviceName ? ` on ${shown.deviceName}` : ''}
          </span>
          <Link to="/alerts" className="btn btn-small">
            View
          </Link>
          <button type="button" className="btn btn-ghost btn-icon" aria-label="Dismiss" onClick={() => setShownId(null)}>
            ×
          </button>
        </div>
      )}
    </div>
  );
}
