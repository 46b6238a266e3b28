/**
 * uPlot charts, one per numeric key. Loaded on demand (its own chunk): the
 * library draws 100K points on a canvas without breaking a sweat.
 */
import { useEffect, useId, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatDateTime, formatDateTimeZone, timeAxisLabels, timeZoneLabel } from '../../lib/time';
import { formatValue } from '../../lib/units';
import { lastValue, yRangeWithin, type Series } from './telemetry-series';

export interface ChartsProps {
  series: Series[];
  /** Bumped whenever points were merged into `series` in place. */
  version: number;
  /** The visible window, ms. */
  from: number;
  to: number;
  unitOf(key: string): string | null;
  /** The template's display range of a key, if any. */
  rangeOf(key: string): { min?: number; max?: number } | null;
}

const cssVar = (name: string, fallback: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

function Chart({
  s,
  version,
  from,
  to,
  unit,
  range,
}: {
  s: Series;
  version: number;
  from: number;
  to: number;
  unit: string | null;
  range: { min?: number; max?: number } | null;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const windowRef = useRef({ from, to });
  windowRef.current = { from, to };

  useEffect(() => {
    const el = box.current!;
    const text = cssVar('--text-muted', '#667');
    const grid = cssVar('--border', '#ddd');
    const line = cssVar('--chart-line', '#0f766e');
    const fill = cssVar('--chart-fill', 'rgba(15,118,110,0.12)');
    const surface = cssVar('--surface', '#fff');
    const axis = {
      stroke: text,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
      font: '12px system-ui, sans-serif',
      labelFont: '12px system-ui, sans-serif',
    };
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: 220,
      scales: {
        // The x axis always spans the chosen window, even where there is no data.
        x: { time: true, range: () => [windowRef.current.from / 1000, windowRef.current.to / 1000] },
        // The template's display range, widened to any reading outside it.
        ...(range ? { y: { range: (_u: uPlot, dataMin: number | null, dataMax: number | null) => yRangeWithin(range, dataMin, dataMax) } } : {}),
      },
      axes: [
        { ...axis, label: `Time (${timeZoneLabel()})`, labelSize: 20, values: (_u, splits, _i, _space, incr) => timeAxisLabels(splits, incr) },
        { ...axis, label: unit ? `${s.key} (${unit})` : s.key, labelSize: 18, size: 48, gap: 4 },
      ],
      series: [
        { value: (_u, v) => (v == null ? '–' : formatDateTime(v * 1000)) },
        {
          label: s.key,
          stroke: line,
          fill,
          width: 1.5,
          spanGaps: false,
          points: { show: (u: uPlot) => (u.data[0]?.length ?? 0) < 120, fill: surface },
          value: (_u, v) => (v == null ? '–' : formatValue(v, unit)),
        },
      ],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    };
    const u = new uPlot(opts, [s.xs, s.ys], el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height: 220 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // The chart is built once per key, unit and range; data and window changes go through setData below.
  }, [s.key, unit, range?.min, range?.max]);

  useEffect(() => {
    // uPlot keeps references: hand it the current arrays, then redraw with the (maybe slid) window.
    plot.current?.setData([s.xs, s.ys]);
  }, [s, version, from, to]);

  const last = lastValue(s);
  const captionId = useId();
  return (
    <figure
      className="chart"
      aria-labelledby={captionId}
      data-testid={`chart-${s.key}`}
      data-points={s.xs.length}
      data-range={range ? `${range.min ?? ''}..${range.max ?? ''}` : undefined}
    >
      <figcaption id={captionId} className="chart-caption">
        <strong>{s.key}</strong>
        {unit && <span className="muted"> ({unit})</span>}
        {range && (
          <span className="muted small">
            {' '}
            · range {range.min ?? '…'} – {range.max ?? '…'}
          </span>
        )}
        <span className="muted small">
          {' '}
          · {s.xs.length.toLocaleString()} {s.xs.length === 1 ? 'point' : 'points'}
          {last && (
            <>
              {' '}
              · last <span data-testid={`chart-last-${s.key}`}>{formatValue(last.y, unit)}</span> at{' '}
              <time dateTime={new Date(last.x * 1000).toISOString()}>{formatDateTimeZone(last.x * 1000)}</time>
            </>
          )}
        </span>
      </figcaption>
      <div ref={box} className="chart-canvas" aria-hidden="true" />
      {s.xs.length === 0 && <p className="chart-empty muted">No data in this range.</p>}
    </figure>
  );
}

export default function TelemetryCharts({ series, version, from, to, unitOf, rangeOf }: ChartsProps) {
  return (
    <div className="charts">
      {series.map((s) => (
        <Chart key={s.key} s={s} version={version} from={from} to={to} unit={unitOf(s.key)} range={rangeOf(s.key)} />
      ))}
    </div>
  );
}
