import { useMemo, useState } from 'react';
import type { Device } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useLiveEvents, useLiveState } from '../../app/live';
import { useAsync } from '../../lib/use-async';
import { formatDateTime, formatDateTimeZone, formatTime, toMs } from '../../lib/time';
import { Section } from '../../components/ui/page';
import { RelativeTime } from '../../components/ui/relative-time';
import { ErrorNotice } from '../../components/ui/state-views';

const BUCKET_MS = 30 * 60_000;
const BUCKETS = 48;

interface Transition {
  at: string;
  what: 'online' | 'offline' | 'first-seen';
  live?: boolean;
}

/** Buckets of the last 24 h in which the device sent anything (telemetry or heartbeats). */
export function activityBuckets(start: number, telemetryBuckets: string[], heartbeats: string[]): boolean[] {
  const active = new Array<boolean>(BUCKETS).fill(false);
  for (const t of [...telemetryBuckets, ...heartbeats]) {
    const i = Math.floor((toMs(t) - start) / BUCKET_MS);
    if (i >= 0 && i < BUCKETS) active[i] = true;
  }
  return active;
}

export function StatusTimeline({ device }: { device: Device }) {
  const { client } = useSession();
  const { resumes } = useLiveState();
  const [live, setLive] = useState<Transition[]>([]);

  // The strip covers whole half-hours, ending with the current one.
  const start = useMemo(() => Math.floor(Date.now() / BUCKET_MS) * BUCKET_MS - (BUCKETS - 1) * BUCKET_MS, [resumes]);
  const activity = useAsync(async () => {
    const from = new Date(start).toISOString();
    const [t, h] = await Promise.all([
      client.devices.telemetry(device.id, { from, interval: '30m', agg: 'count' }),
      // As many as the API gives at once: one every 1.7 s over the 24 h.
      client.devices.heartbeats(device.id, { from, limit: 50_000 }),
    ]);
    const buckets = Object.values(t.series).flatMap((pts) => pts.filter((p) => Number(p.value) > 0).map((p) => p.ts));
    return activityBuckets(
      start,
      buckets,
      h.items.map((i) => i.ts),
    );
  }, [client, device.id, start]);

  useLiveEvents(null, (e) => {
    if (e.deviceId !== device.id) return;
    if (e.type === 'status') {
      const t: Transition = { at: new Date().toISOString(), what: e.online ? 'online' : 'offline', live: true };
      setLive((prev) => [t, ...prev].slice(0, 50));
    }
    if ((e.type === 'telemetry' || e.type === 'location') && activity.data && !activity.data[BUCKETS - 1]) {
      activity.setData((a) => a && a.map((v, i) => (i === BUCKETS - 1 ? true : v)));
    }
  });

  const s = device.status;
  const known: Transition[] = [];
  if (s.lastConnectedAt) known.push({ at: s.lastConnectedAt, what: 'online' });
  if (s.lastDisconnectedAt) known.push({ at: s.lastDisconnectedAt, what: 'offline' });
  if (s.firstSeenAt) known.push({ at: s.firstSeenAt, what: 'first-seen' });
  const transitions = [...live, ...known.filter((k) => !live.some((l) => Math.abs(toMs(l.at) - toMs(k.at)) < 2000 && l.what === k.what))].sort(
    (a, b) => toMs(b.at) - toMs(a.at),
  );
  const label = { online: 'Connected (online)', offline: 'Disconnected (offline)', 'first-seen': 'First seen' } as const;

  const active = activity.data;
  const activeCount = active?.filter(Boolean).length ?? 0;
  return (
    <Section title="Status timeline" id="status">
      <p>
        {s.online ? 'Online' : 'Offline'} now · last seen <RelativeTime value={s.lastSeenAt} /> · {s.active ? 'active' : 'inactive'} (timeout{' '}
        {s.inactivityTimeoutS} s)
      </p>
      <h3 className="h3">Activity, last 24 hours</h3>
      {activity.error ? (
        <ErrorNotice error={activity.error} onRetry={activity.reload} title="Could not load activity" />
      ) : (
        <>
          <div
            className="activity"
            role="img"
            aria-label={active ? `Data received in ${activeCount} of ${BUCKETS} half-hours over the last 24 hours` : 'Loading activity'}
          >
            {(active ?? new Array<boolean>(BUCKETS).fill(false)).map((on, i) => (
              <span
                key={i}
                className={on ? 'activity-cell on' : 'activity-cell'}
                title={`${formatDateTime(start + i * BUCKET_MS)}: ${on ? 'data received' : 'silent'}`}
              />
            ))}
          </div>
          <p className="axis-note muted small">
            <span>{formatTime(start)}</span>
            <span>now</span>
          </p>
        </>
      )}
      <h3 className="h3">Connection changes</h3>
      {transitions.length === 0 ? (
        <p className="muted">The device has never connected.</p>
      ) : (
        <ol className="timeline">
          {transitions.map((t, i) => (
            <li key={`${t.at}-${t.what}-${i}`} className={`timeline-item timeline-${t.what}`}>
              <span className="timeline-what">{label[t.what]}</span>{' '}
              <time dateTime={t.at} title={formatDateTimeZone(t.at)} className="muted">
                {formatDateTime(t.at)}
              </time>
              {t.live && <span className="badge badge-new">live</span>}
            </li>
          ))}
        </ol>
      )}
      <p className="muted small">Tether keeps the latest connect and disconnect of each device; changes seen while this page is open are added live.</p>
    </Section>
  );
}
