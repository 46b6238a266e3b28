import { useEffect, useRef } from 'react';
import { useSession } from '../../app/session';
import { useLiveEvents } from '../../app/live';
import { useAsync, type AsyncState } from '../../lib/use-async';
import { Link } from '../../lib/router';
import { Sparkline } from './sparkline';
import { fetchFleetOverview, type FleetOverview } from './fleet-overview';
import { RelativeTime } from '../../components/ui/relative-time';
import { EmptyState } from '../../components/ui/state-views';
import { Section } from '../../components/ui/page';
import { formatTime } from '../../lib/time';

const POLL_MS = 15_000;

/** The overview for the org or one project: polled, and reloaded soon after a device connects or drops. */
export function useFleetOverview(projectId?: string): AsyncState<FleetOverview> {
  const { client } = useSession();
  const state = useAsync(() => fetchFleetOverview(client, projectId), [client, projectId]);
  const { reload } = state;
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);

  useEffect(() => {
    const t = setInterval(reload, POLL_MS);
    return () => clearInterval(t);
  }, [reload]);
  useEffect(() => () => void (pending.current && clearTimeout(pending.current)), []);

  useLiveEvents(projectId ? { project: projectId, channels: ['status'] } : { channels: ['status'] }, (e) => {
    if (e.type !== 'status' || pending.current) return;
    pending.current = setTimeout(() => {
      pending.current = null;
      reload();
    }, 1500);
  });
  return state;
}

function Stat({ label, value, tone, hint, to }: { label: string; value: number; tone?: string; hint?: string; to?: string }) {
  const body = (
    <>
      <span className="stat-value">{value.toLocaleString()}</span>
      <span className="stat-label">{label}</span>
      {hint && <span className="stat-hint">{hint}</span>}
    </>
  );
  return (
    <li className={`stat ${tone ? `stat-${tone}` : ''}`}>
      {to ? (
        <Link to={to} className="stat-link">
          {body}
        </Link>
      ) : (
        body
      )}
    </li>
  );
}

export function FleetStats({ data, projectId }: { data: FleetOverview; projectId?: string }) {
  const d = data.devices;
  const scope = projectId ? `&projectId=${projectId}` : '';
  return (
    <ul className="stats" aria-label="Fleet counts">
      <Stat
        label="Devices"
        value={d.total}
        to={`/devices${projectId ? `?projectId=${projectId}` : ''}`}
        hint={d.neverSeen ? `${d.neverSeen} never seen` : undefined}
      />
      <Stat label="Online" value={d.online} tone="online" to={`/devices?status=online${scope}`} />
      <Stat label="Offline" value={d.offline} tone="offline" to={`/devices?status=offline${scope}`} />
      <Stat label="Inactive" value={d.inactive} tone={d.inactive ? 'warning' : undefined} hint="no data within the timeout" />
      <Stat
        label="Alerts, last 24 h"
        value={data.alerts24h.total}
        tone={data.alerts24h.critical ? 'critical' : undefined}
        hint={`${data.alerts24h.critical} critical`}
        to="/alerts"
      />
    </ul>
  );
}

export function MessageRate({ data }: { data: FleetOverview }) {
  const counts = data.messagesPerMinute.map((m) => m.count);
  const total = counts.reduce((a, b) => a + b, 0);
  // The current minute is still filling up; the last complete one is the honest rate.
  const lastFull = counts.length > 1 ? counts[counts.length - 2]! : (counts[0] ?? 0);
  const first = data.messagesPerMinute[0];
  const last = data.messagesPerMinute[data.messagesPerMinute.length - 1];
  return (
    <Section title="Messages per minute" id="rate">
      <p className="rate-figures">
        <span className="rate-now">{lastFull.toLocaleString()}</span> <span className="muted">in the last full minute</span> · {total.toLocaleString()} in the
        last hour
      </p>
      <Sparkline values={counts} label={`Messages per minute over the last hour: ${lastFull} in the last full minute, peak ${Math.max(0, ...counts)}`} />
      {first && last && (
        <p className="axis-note muted small">
          <span>{formatTime(first.minute)}</span>
          <span>{formatTime(last.minute)}</span>
        </p>
      )}
    </Section>
  );
}

export function RecentlySilent({ data }: { data: FleetOverview }) {
  return (
    <Section title="Recently silent" id="silent">
      {data.recentlySilent.length === 0 ? (
        <EmptyState title="No silent devices">Devices that stop sending data within their inactivity timeout appear here.</EmptyState>
      ) : (
        <ul className="list">
          {data.recentlySilent.map((d) => (
            <li key={d.id} className="list-row">
              <Link to={`/devices/${d.id}`}>{d.name}</Link>
              <span className="muted">
                last seen <RelativeTime value={d.lastSeenAt} />
              </span>
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}
