import { lazy, Suspense, useEffect, useMemo, useRef, useState } from 'react';
import type { Device } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useLiveEvents, useLiveState } from '../../app/live';
import { useAsync } from '../../lib/use-async';
import { describeRange, resolveRange, telemetryQuery, type RangeSelection } from '../../lib/telemetry-range';
import { displayRangeFor, unitFor, type TelemetryKeySpec } from '../../lib/units';
import { Section } from '../../components/ui/page';
import { EmptyState, ErrorNotice, Loading } from '../../components/ui/state-views';
import { RangePicker } from './range-picker';
import { mergePoints, seriesFromHistory, trimBefore, type Series } from './telemetry-series';

const TelemetryCharts = lazy(() => import('./telemetry-charts'));

/** How often a live window slides when no data arrives. */
const SLIDE_MS = 5000;
/** Aggregated windows are re-read at most this often while data arrives. */
const AGG_RELOAD_MS = 10_000;

export function TelemetryPanel({ device, specs }: { device: Device; specs?: readonly TelemetryKeySpec[] }) {
  const { client } = useSession();
  const { resumes } = useLiveState();
  const [selection, setSelection] = useState<RangeSelection>({ kind: 'preset', preset: '1h' });
  const range = useMemo(() => resolveRange(selection), [selection]);
  const history = useAsync(() => client.devices.telemetry(device.id, telemetryQuery(resolveRange(selection))), [client, device.id, selection, resumes]);

  const series = useRef(new Map<string, Series>());
  const [version, setVersion] = useState(0);
  useEffect(() => {
    if (!history.data) return;
    series.current = seriesFromHistory(history.data.series);
    setVersion((v) => v + 1);
  }, [history.data]);

  // A live window follows the clock; points that slide out of it are dropped.
  const [now, setNow] = useState(Date.now);
  const span = range.to - range.from;
  useEffect(() => {
    if (!range.live) return;
    const t = setInterval(() => {
      const n = Date.now();
      trimBefore(series.current, (n - span) / 1000);
      setNow(n);
    }, SLIDE_MS);
    return () => clearInterval(t);
  }, [range.live, span]);
  const from = range.live ? Math.max(range.from, now - span) : range.from;
  const to = range.live ? Math.max(range.to, now) : range.to;

  const bump = useRef<number | null>(null);
  const reloadTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(
    () => () => {
      if (bump.current) cancelAnimationFrame(bump.current);
      if (reloadTimer.current) clearTimeout(reloadTimer.current);
    },
    [],
  );
  const { reload } = history;
  useLiveEvents(null, (e) => {
    if (e.type !== 'telemetry' || e.deviceId !== device.id || !range.live) return;
    if (range.bucket === null) {
      if (mergePoints(series.current, e.points).length && bump.current === null) {
        // Many points in one frame make one redraw.
        bump.current = requestAnimationFrame(() => {
          bump.current = null;
          setNow(Date.now());
          setVersion((v) => v + 1);
        });
      }
    } else if (!reloadTimer.current) {
      reloadTimer.current = setTimeout(() => {
        reloadTimer.current = null;
        reload();
      }, AGG_RELOAD_MS);
    }
  });

  const list = useMemo(() => [...series.current.values()].sort((a, b) => a.key.localeCompare(b.key)), [version]);
  const unitOf = (key: string) => unitFor(key, device.metadata, specs);
  const rangeOf = (key: string) => displayRangeFor(key, specs);

  let body;
  if (history.error && !history.data) body = <ErrorNotice error={history.error} onRetry={history.reload} title="Could not load telemetry" />;
  else if (!history.data) body = <Loading label="Loading telemetry…" />;
  else if (list.length === 0)
    body = (
      <EmptyState title="No numeric telemetry in this range">
        <p>Charts appear here as soon as the device publishes readings, without a reload.</p>
      </EmptyState>
    );
  else
    body = (
      <Suspense fallback={<Loading label="Loading charts…" />}>
        <TelemetryCharts series={list} version={version} from={from} to={to} unitOf={unitOf} rangeOf={rangeOf} />
      </Suspense>
    );

  return (
    <Section
      title="Telemetry"
      id="telemetry"
      actions={
        <span className="muted small" aria-live="polite">
          {history.loading && history.data ? 'Updating… ' : ''}
          {range.live ? 'Live · ' : ''}
          {describeRange(range)}
        </span>
      }
    >
      <RangePicker value={selection} onChange={setSelection} />
      {body}
    </Section>
  );
}
