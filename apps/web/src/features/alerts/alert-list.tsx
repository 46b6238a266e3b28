import { Link } from '../../lib/router';
import { SeverityBadge } from '../../components/ui/badges';
import { RelativeTime } from '../../components/ui/relative-time';
import { formatDateTime } from '../../lib/time';

export interface AlertRow {
  id: string;
  deviceId: string;
  deviceName: string | null;
  ts: string;
  message: string;
  severity: string;
  type: string | null;
}

/** Alerts as a list: newest first, with the device, the severity and the time. */
export function AlertList({
  alerts,
  compact = false,
  highlight,
  showDevice = true,
}: {
  alerts: AlertRow[];
  compact?: boolean;
  highlight?: Set<string>;
  showDevice?: boolean;
}) {
  return (
    <ol className={`alert-list ${compact ? 'alert-list-compact' : ''}`}>
      {alerts.map((a) => (
        <li key={a.id} className={`alert-item sev-border-${a.severity} ${highlight?.has(a.id) ? 'alert-new' : ''}`}>
          <div className="alert-main">
            <SeverityBadge severity={a.severity} />
            {highlight?.has(a.id) && <span className="badge badge-new">New</span>}
            <span className="alert-message">{a.message}</span>
          </div>
          <div className="alert-meta muted small">
            {showDevice && (
              <>
                <Link to={`/devices/${a.deviceId}`}>{a.deviceName ?? 'device'}</Link>
                {' · '}
              </>
            )}
            {a.type && (
              <>
                <span>{a.type}</span>
                {' · '}
              </>
            )}
            <RelativeTime value={a.ts} /> <span className="nowrap">({formatDateTime(a.ts)})</span>
          </div>
        </li>
      ))}
    </ol>
  );
}
