import { lazy, Suspense, useEffect, useMemo, useRef, useState } from 'react';
import type { Device, TelemetrySeries } from '@tether/api-client';
import type { LiveDeviceEvent } from '@tether/contracts';
import { useSession } from '../../app/session';
import { useLiveEvents, useLiveState, type LiveSpec } from '../../app/live';
import { useAsync } from '../../lib/use-async';
import { describeRange, resolveRange, telemetryQuery, type RangeSelection, type TelemetryQuery } from '../../lib/telemetry-range';
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

type LivePoint = { key: string; ts: string; value: unknown };

export interface HistoryPanelProps {
  /** Names what is read (a device, an alias): a new source reads again. */
  source: string;
  /** Reads the history: the device route or the alias route, which take the same query and answer alike. */
  load(q: TelemetryQuery): Promise<TelemetrySeries>;
  /** What to follow live; null: the page's own subscription delivers the events. */
  live: LiveSpec | null;
  /** The event's points for these charts, keyed as the series are; null: not for them. */
  livePoints(e: LiveDeviceEvent): LivePoint[] | null;
  unitOf(key: string): string | null;
  rangeOf(key: string): { min?: number; max?: number } | null;
  title?: string;
  empty?: string;
}

/** A range picker over uPlot charts of a history, kept live while the range follows the clock. */
export function HistoryPanel({ source, load, live, livePoints, unitOf, rangeOf, title = 'Telemetry', empty }: HistoryPanelProps) {
  const { resumes } = useLiveState();
  const [selection, setSelection] = useState<RangeSelection>({ kind: 'preset', preset: '1h' });
  const range = useMemo(() => resolveRange(selection), [selection]);
  const history = useAsync(() => load(telemetryQuery(resolveRange(selection))), [source, selection, resumes]);

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
  useLiveEvents(live, (e) => {
    if (!range.live) return;
    const points = livePoints(e);
    if (!points?.length) return;
    if (range.bucket === null) {
      if (mergePoints(series.current, points).length && bump.current === null) {
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

  let body;
  if (history.error && !history.data) body = <ErrorNotice error={history.error} onRetry={history.reload} title={`Could not load ${title.toLowerCase()}`} />;
  else if (!history.data) body = <Loading label={`Loading ${title.toLowerCase()}…`} />;
  else if (list.length === 0)
    body = (
      <EmptyState title="No numeric telemetry in this range">
        <p>{empty ?? 'Charts appear here as soon as the device publishes readings, without a reload.'}</p>
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
      title={title}
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

export function TelemetryPanel({ device, specs }: { device: Device; specs?: readonly TelemetryKeySpec[] }) {
  const { client } = useSession();
  return (
    <HistoryPanel
      source={device.id}
      load={(q) => client.devices.telemetry(device.id, q)}
      // The device page follows the device's telemetry already.
      live={null}
      livePoints={(e) => (e.type === 'telemetry' && e.deviceId === device.id ? e.points : null)}
      unitOf={(key) => unitFor(key, device.metadata, specs)}
      rangeOf={(key) => displayRangeFor(key, specs)}
    />
  );
}
