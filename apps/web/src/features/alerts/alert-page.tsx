/**
 * One alert (`/alerts/:id`): what happened, on which device and when, its JSON
 * summary, and the files the device named for it. Files attach as they arrive;
 * there is no live event for that, so the page reads the alert again every few
 * seconds until every named file is stored. Loaded on demand (app/on-demand-pages.ts).
 */
import { ApiError, type AlertDetail } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { usePolling } from '../../lib/use-polling';
import { Link } from '../../lib/router';
import { formatDateTimeZone } from '../../lib/time';
import { PageHeader, Section, usePageTitle } from '../../components/ui/page';
import { SeverityBadge } from '../../components/ui/badges';
import { RelativeTime } from '../../components/ui/relative-time';
import { EmptyState, ErrorNotice, Loading } from '../../components/ui/state-views';
import { FileCard } from '../files/file-card';
import { attachmentProgress } from '../files/files';

const POLL_MS = 3000;

/** The alert's JSON summary: each top-level key with its value, text as text, anything nested as indented JSON. */
function AlertData({ data }: { data: AlertDetail['data'] }) {
  const keys = Object.keys(data);
  if (!keys.length) return <p className="muted small">The device sent no data with this alert.</p>;
  return (
    <dl className="props alert-data" data-testid="alert-data">
      {keys.map((k) => {
        const v = data[k];
        const nested = v !== null && typeof v === 'object';
        return (
          <div key={k} className="props-row">
            <dt>{k}</dt>
            <dd>{nested ? <pre className="json-value">{JSON.stringify(v, null, 2)}</pre> : typeof v === 'string' ? v : <code>{JSON.stringify(v)}</code>}</dd>
          </div>
        );
      })}
    </dl>
  );
}

function Attachments({ alert }: { alert: AlertDetail }) {
  const { stored, total, pending } = attachmentProgress(alert.attachments);
  return (
    <Section
      title={`Files (${total})`}
      id="files"
      actions={
        <span className="muted small" data-testid="attachments-summary" aria-live="polite">
          {stored} of {total} stored{pending ? ' · checking for new uploads every few seconds' : ''}
        </span>
      }
    >
      <ul className="file-grid file-grid-large" aria-label="Files of this alert">
        {alert.attachments.map((a) => (
          <FileCard key={a.name} name={a.name} file={a.file} />
        ))}
      </ul>
    </Section>
  );
}

export function AlertPage({ id }: { id: string }) {
  const { client } = useSession();
  const state = useAsync(() => client.alerts.get(id), [client, id]);
  usePageTitle(state.data ? state.data.message : 'Alert');
  usePolling(state.reload, state.data ? attachmentProgress(state.data.attachments).pending : false, POLL_MS);

  if (state.error && !state.data) {
    if (state.error instanceof ApiError && (state.error.status === 404 || state.error.code === 'INVALID_ID')) {
      return (
        <>
          <PageHeader title="Alert not found" />
          <EmptyState title="There is no such alert in this org">
            <p>
              It may have been removed by retention. <Link to="/alerts">Back to alerts</Link>
            </p>
          </EmptyState>
        </>
      );
    }
    return <ErrorNotice error={state.error} onRetry={state.reload} title="Could not load the alert" />;
  }
  if (!state.data) return <Loading label="Loading alert…" />;
  const a = state.data;

  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/alerts">Alerts</Link> <span aria-hidden="true">/</span> <span aria-current="page">{a.type ?? 'alert'}</span>
      </nav>
      <PageHeader
        title={
          <>
            {a.message} <SeverityBadge severity={a.severity} />
          </>
        }
        subtitle={
          <span data-testid="alert-subtitle">
            <Link to={`/devices/${a.deviceId}`}>{a.deviceName}</Link>
            {a.type && ` · ${a.type}`}
            {' · '}
            <RelativeTime value={a.ts} />
          </span>
        }
      />
      {state.error && <ErrorNotice error={state.error} onRetry={state.reload} title="Could not refresh" />}
      <div className="grid-2">
        <Section title="Details" id="details">
          <dl className="props">
            <div className="props-row">
              <dt>Severity</dt>
              <dd>
                <SeverityBadge severity={a.severity} />
              </dd>
            </div>
            <div className="props-row">
              <dt>Type</dt>
              <dd>{a.type ?? <span className="muted">none</span>}</dd>
            </div>
            <div className="props-row">
              <dt>Device</dt>
              <dd>
                <Link to={`/devices/${a.deviceId}`}>{a.deviceName}</Link>
              </dd>
            </div>
            <div className="props-row">
              <dt>Happened</dt>
              <dd>{formatDateTimeZone(a.ts)}</dd>
            </div>
            <div className="props-row">
              <dt>Received</dt>
              <dd>{formatDateTimeZone(a.receivedAt)}</dd>
            </div>
          </dl>
        </Section>
        <Section title="Data" id="data">
          <AlertData data={a.data} />
        </Section>
      </div>
      {a.attachments.length > 0 ? (
        <Attachments alert={a} />
      ) : (
        <Section title="Files" id="files">
          <p className="muted small">The device named no files for this alert.</p>
        </Section>
      )}
    </>
  );
}
