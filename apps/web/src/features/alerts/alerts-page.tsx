import { useEffect, useMemo, useState } from 'react';
import type { Device } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useLiveState } from '../../app/live';
import { useAsync } from '../../lib/use-async';
import { useSearchParams } from '../../lib/router';
import { fromDateTimeLocal, toDateTimeLocal } from '../../lib/time';
import { PageHeader, Section, usePageTitle } from '../../components/ui/page';
import { Async, EmptyState } from '../../components/ui/state-views';
import { Pagination } from '../../components/ui/pagination';
import { useProjects } from '../devices/use-projects';
import { useAlertFeed } from './alert-feed';
import { AlertList } from './alert-list';
import { SEVERITIES } from './severities';

const LIMIT = 50;
const WINDOWS: { id: string; label: string; ms: number | null }[] = [
  { id: '24h', label: 'Last 24 h', ms: 86_400_000 },
  { id: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
  { id: '30d', label: 'Last 30 days', ms: 30 * 86_400_000 },
  { id: 'all', label: 'All time', ms: null },
  { id: 'custom', label: 'Custom…', ms: null },
];

function LiveFeed() {
  const { items, unseen, markSeen } = useAlertFeed();
  // What was new when the page opened stays marked while it is open.
  const [newIds, setNewIds] = useState(() => new Set(items.slice(0, unseen).map((a) => a.id)));
  useEffect(() => {
    setNewIds((prev) => {
      const next = new Set(prev);
      for (const a of items.slice(0, unseen)) next.add(a.id);
      return next;
    });
    markSeen();
  }, [items, unseen, markSeen]);

  return (
    <Section
      title={
        <>
          Live feed <span className="live-dot" aria-hidden="true" />
        </>
      }
      id="feed"
      actions={<span className="muted small">{items.length ? `${items.length} since you signed in` : ''}</span>}
    >
      <div aria-live="polite" data-testid="live-feed">
        {items.length === 0 ? (
          <EmptyState title="Waiting for alerts">
            <p>New alerts from any device in this org appear here the moment they are raised.</p>
          </EmptyState>
        ) : (
          <AlertList alerts={items.slice(0, 20)} highlight={newIds} />
        )}
      </div>
    </Section>
  );
}

function History() {
  const { client } = useSession();
  const { resumes } = useLiveState();
  const { projects } = useProjects();
  const { items: live } = useAlertFeed();
  const [params, setParams] = useSearchParams();
  const devices = useAsync(() => client.devices.list({ limit: 500 }), [client]);

  const deviceId = params.get('deviceId') ?? '';
  const projectId = params.get('projectId') ?? '';
  const type = params.get('type') ?? '';
  const severity = params.get('severity') ?? '';
  const win = params.get('window') ?? '7d';
  const customFrom = params.get('from') ?? '';
  const customTo = params.get('to') ?? '';
  const offset = Number(params.get('offset') ?? 0) || 0;
  const severities = severity ? severity.split(',') : [];

  const [typeInput, setTypeInput] = useState(type);
  useEffect(() => setTypeInput(type), [type]);
  useEffect(() => {
    if (typeInput === type) return;
    const t = setTimeout(() => setParams({ type: typeInput.trim() || null, offset: null }), 300);
    return () => clearTimeout(t);
  }, [typeInput, type, setParams]);

  const [loadedAt, setLoadedAt] = useState(Date.now);
  const query = useMemo(() => {
    const w = WINDOWS.find((x) => x.id === win);
    const from =
      win === 'custom' ? (customFrom ? new Date(Number(customFrom)).toISOString() : undefined) : w?.ms ? new Date(loadedAt - w.ms).toISOString() : undefined;
    const to = win === 'custom' && customTo ? new Date(Number(customTo)).toISOString() : undefined;
    return {
      deviceId: deviceId || undefined,
      projectId: projectId || undefined,
      type: type || undefined,
      severity: severity || undefined,
      from,
      to,
      limit: LIMIT,
      offset,
    };
  }, [deviceId, projectId, type, severity, win, customFrom, customTo, offset, loadedAt]);
  const state = useAsync(() => client.alerts.list(query), [client, query, resumes]);

  // Alerts that arrived after the history was loaded and match its filters.
  const pendingNew = live.filter(
    (a) =>
      a.arrivedAt > loadedAt &&
      (!deviceId || a.deviceId === deviceId) &&
      (!projectId || a.projectId === projectId) &&
      (!type || a.type === type) &&
      (!severities.length || severities.includes(a.severity)),
  ).length;

  const toggleSeverity = (s: string) => {
    const next = severities.includes(s) ? severities.filter((x) => x !== s) : [...severities, s];
    setParams({ severity: next.join(',') || null, offset: null });
  };
  const filtered = Boolean(deviceId || projectId || type || severity || params.get('window'));
  const deviceList: Device[] = devices.data?.items ?? [];

  return (
    <Section
      title="History"
      id="history"
      actions={
        pendingNew > 0 && (
          <button type="button" className="btn btn-small btn-primary" onClick={() => setLoadedAt(Date.now())} data-testid="show-new-alerts">
            {pendingNew} new {pendingNew === 1 ? 'alert' : 'alerts'} — show
          </button>
        )
      }
    >
      <form className="filters" aria-label="Filter alerts" onSubmit={(e) => e.preventDefault()}>
        <label className="field">
          <span>Device</span>
          <select value={deviceId} onChange={(e) => setParams({ deviceId: e.target.value || null, offset: null })}>
            <option value="">All devices</option>
            {deviceList
              .slice()
              .sort((a, b) => a.name.localeCompare(b.name))
              .map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name}
                </option>
              ))}
            {deviceId && !deviceList.some((d) => d.id === deviceId) && <option value={deviceId}>This device</option>}
          </select>
        </label>
        <label className="field">
          <span>Project</span>
          <select value={projectId} onChange={(e) => setParams({ projectId: e.target.value || null, offset: null })}>
            <option value="">All projects</option>
            {projects.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Type</span>
          <input value={typeInput} onChange={(e) => setTypeInput(e.target.value)} placeholder="e.g. gas" />
        </label>
        <label className="field">
          <span>Time range</span>
          <select value={win} onChange={(e) => setParams({ window: e.target.value === '7d' ? null : e.target.value, offset: null })}>
            {WINDOWS.map((w) => (
              <option key={w.id} value={w.id}>
                {w.label}
              </option>
            ))}
          </select>
        </label>
        {win === 'custom' && (
          <>
            <label className="field">
              <span>From</span>
              <input
                type="datetime-local"
                value={customFrom ? toDateTimeLocal(Number(customFrom)) : ''}
                onChange={(e) => setParams({ from: Number.isNaN(fromDateTimeLocal(e.target.value)) ? null : fromDateTimeLocal(e.target.value), offset: null })}
              />
            </label>
            <label className="field">
              <span>To</span>
              <input
                type="datetime-local"
                value={customTo ? toDateTimeLocal(Number(customTo)) : ''}
                onChange={(e) => setParams({ to: Number.isNaN(fromDateTimeLocal(e.target.value)) ? null : fromDateTimeLocal(e.target.value), offset: null })}
              />
            </label>
          </>
        )}
        <fieldset className="field severity-filter">
          <legend>Severity</legend>
          <div className="checks">
            {SEVERITIES.map((s) => (
              <label key={s} className={`check sev-check sev-${s}`}>
                <input type="checkbox" checked={severities.includes(s)} onChange={() => toggleSeverity(s)} />
                {s}
              </label>
            ))}
          </div>
        </fieldset>
        {filtered && (
          <button
            type="button"
            className="btn btn-ghost filters-clear"
            onClick={() => setParams({ deviceId: null, projectId: null, type: null, severity: null, window: null, from: null, to: null, offset: null })}
          >
            Clear filters
          </button>
        )}
      </form>
      <Async state={state} loadingLabel="Loading alerts…">
        {(page) =>
          page.items.length === 0 ? (
            <EmptyState title="No alerts match">
              {filtered ? <p>Try a wider time range or fewer filters.</p> : <p>No device has raised an alert in this period.</p>}
            </EmptyState>
          ) : (
            <>
              <AlertList alerts={page.items} />
              <Pagination total={page.total} limit={page.limit} offset={page.offset} onChange={(o) => setParams({ offset: o || null })} label="Alert pages" />
            </>
          )
        }
      </Async>
    </Section>
  );
}

export function AlertsPage() {
  usePageTitle('Alerts');
  return (
    <>
      <PageHeader title="Alerts" subtitle="Raised by devices on their alerts topic." />
      <div className="alerts-layout">
        <LiveFeed />
        <History />
      </div>
    </>
  );
}
