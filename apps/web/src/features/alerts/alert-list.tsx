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
  /** Names of the files the device said it uploads for the alert. */
  files?: string[];
}

function Paperclip() {
  return (
    <svg viewBox="0 0 24 24" width="14" height="14" aria-hidden="true" focusable="false">
      <path
        d="M21 11.5 12.5 20a5 5 0 0 1-7-7L14 4.5a3.3 3.3 0 0 1 4.7 4.7l-8.5 8.5a1.7 1.7 0 0 1-2.4-2.4L15.5 7.6"
        fill="none"
        stroke="currentColor"
        strokeWidth="2"
        strokeLinecap="round"
        strokeLinejoin="round"
      />
    </svg>
  );
}

/** Alerts as a list: newest first, with the device, the severity, the time and a paperclip for files; each opens its page. */
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
            <Link to={`/alerts/${a.id}`} className="alert-message">
              {a.message}
            </Link>
            {a.files && a.files.length > 0 && (
              <span className="badge badge-files" title={a.files.join(', ')} data-testid="alert-files">
                <Paperclip />
                {a.files.length}
                <span className="visually-hidden"> {a.files.length === 1 ? 'file' : 'files'}</span>
              </span>
            )}
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
