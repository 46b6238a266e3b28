/**
 * The fleet health charts, drawn with uPlot like the telemetry charts and loaded
 * on demand with them: the silent share by day, the gap histogram, the survival
 * curve and one device's gaps. Each figure says in words what it draws.
 */
import { useEffect, useMemo, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatDateTime, timeAxisLabels, timeZoneLabel } from '../../lib/time';
import { bucketLabel, formatDays, formatDuration, formatShare, type DeviceGaps, type GapBucket, type Lifespans, type SilentDevices } from './health';

const HEIGHT = 220;
/** Round steps for a seconds axis, so its ticks read "2 min", "5 min", not "3.3 min". */
const DURATION_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400];
const cssVar = (name: string, fallback: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

function axisStyle(): uPlot.Axis {
  const grid = cssVar('--border', '#ddd');
  return {
    stroke: cssVar('--text-muted', '#667'),
    grid: { stroke: grid, width: 1 },
    ticks: { stroke: grid, width: 1 },
    font: '12px system-ui, sans-serif',
    labelFont: '12px system-ui, sans-serif',
  };
}

/** A uPlot canvas that follows its box's width; rebuilt when `data` changes (these charts are small). */
function Plot({ options, data }: { options: (width: number) => uPlot.Options; data: uPlot.AlignedData }) {
  const box = useRef<HTMLDivElement>(null);
  const optionsRef = useRef(options);
  optionsRef.current = options;
  useEffect(() => {
    const el = box.current!;
    const u = new uPlot(optionsRef.current(Math.max(200, el.clientWidth)), data, el);
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height: HEIGHT }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
    };
  }, [data]);
  return <div ref={box} className="chart-canvas" aria-hidden="true" />;
}

const percentAxis = (label: string): uPlot.Axis => ({
  ...axisStyle(),
  label,
  labelSize: 18,
  size: 52,
  values: (_u, splits) => splits.map((v) => `${Math.round(v * 100)} %`),
});

/** The share of monitored devices that were silent at each UTC midnight of the range, and now. */
export function SilentShareChart({ series }: { series: Pick<SilentDevices['series'][number], 'at' | 'share'>[] }) {
  const data = useMemo<uPlot.AlignedData>(() => [series.map((p) => Date.parse(p.at) / 1000), series.map((p) => p.share)], [series]);
  return (
    <Plot
      data={data}
      options={(width) => ({
        width,
        height: HEIGHT,
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(0.1, Math.min(1, (max ?? 0) * 1.2))] } },
        axes: [
          { ...axisStyle(), label: `Day (${timeZoneLabel()})`, labelSize: 20, values: (_u, splits, _i, _s, incr) => timeAxisLabels(splits, incr) },
          percentAxis('Silent'),
        ],
        series: [
          { label: 'Day', value: (_u, v) => (v == null ? '–' : formatDateTime(v * 1000)) },
          {
            label: 'Silent share',
            stroke: cssVar('--warning', '#a16207'),
            fill: 'rgba(161, 98, 7, 0.12)',
            width: 1.5,
            points: { show: true, size: 5 },
            value: (_u, v) => formatShare(v ?? null),
          },
        ],
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
      })}
    />
  );
}

/** The histogram's buckets as bars, one a bucket, labelled with its range ("1–2 min"). */
export function GapHistogramChart({ buckets }: { buckets: GapBucket[] }) {
  const data = useMemo<uPlot.AlignedData>(() => [buckets.map((_, i) => i), buckets.map((b) => b.count)], [buckets]);
  const labels = buckets.map(bucketLabel);
  return (
    <Plot
      data={data}
      options={(width) => ({
        width,
        height: HEIGHT,
        scales: { x: { time: false, range: [-0.5, buckets.length - 0.5] }, y: { range: (_u, _min, max) => [0, Math.max(1, (max ?? 0) * 1.1)] } },
        axes: [
          {
            ...axisStyle(),
            label: 'Time between heartbeats',
            labelSize: 20,
            // Every bucket when they fit, else every other (or fewer): the labels never overlap.
            splits: (u) => {
              const every = Math.max(1, Math.ceil((labels.length * 64) / Math.max(1, u.bbox.width / devicePixelRatio)));
              return labels.map((_, i) => i).filter((i) => i % every === 0);
            },
            values: (_u, splits) => splits.map((i) => labels[i] ?? ''),
          },
          { ...axisStyle(), label: 'Gaps', labelSize: 18, size: 56 },
        ],
        series: [
          { label: 'Range', value: (_u, v) => (v == null ? '–' : (labels[v] ?? '')) },
          {
            label: 'Gaps',
            stroke: cssVar('--chart-line', '#0f766e'),
            fill: cssVar('--chart-fill', 'rgba(15,118,110,0.12)'),
            width: 1,
            paths: uPlot.paths.bars!({ size: [0.8, 80] }),
            points: { show: false },
            value: (_u, v) => (v == null ? '–' : v.toLocaleString()),
          },
        ],
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
      })}
    />
  );
}

/** Kaplan–Meier: the share still alive after so many days, as a step line from 100 %. */
export function SurvivalChart({ survival }: { survival: Lifespans['survival'] }) {
  const data = useMemo<uPlot.AlignedData>(() => {
    // The curve starts at 100 % on day 0.
    const points = survival[0]?.days === 0 ? survival : [{ days: 0, survival: 1 }, ...survival];
    return [points.map((p) => p.days), points.map((p) => p.survival)];
  }, [survival]);
  return (
    <Plot
      data={data}
      options={(width) => ({
        width,
        height: HEIGHT,
        scales: { x: { time: false }, y: { range: [0, 1] } },
        axes: [
          { ...axisStyle(), label: 'Days since the first heartbeat', labelSize: 20, values: (_u, splits) => splits.map((d) => `${Number(d.toFixed(1))}`) },
          percentAxis('Still alive'),
        ],
        series: [
          { label: 'After', value: (_u, v) => (v == null ? '–' : formatDays(v)) },
          {
            label: 'Still alive',
            stroke: cssVar('--chart-line', '#0f766e'),
            fill: cssVar('--chart-fill', 'rgba(15,118,110,0.12)'),
            width: 2,
            paths: uPlot.paths.stepped!({ align: 1 }),
            points: { show: false },
            value: (_u, v) => formatShare(v ?? null),
          },
        ],
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
      })}
    />
  );
}

/** One device's heartbeats over time with the gap before each: a failing device's gaps climb. */
export function DeviceGapChart({ gaps }: { gaps: DeviceGaps }) {
  const data = useMemo<uPlot.AlignedData>(() => [gaps.items.map((g) => Date.parse(g.at) / 1000), gaps.items.map((g) => g.gapS)], [gaps]);
  // From the first heartbeat shown (a device heard for minutes is not squeezed into a day), to now: the open gap shows.
  const to = Date.parse(gaps.to) / 1000;
  const first = data[0][0] ?? Date.parse(gaps.from) / 1000;
  const from = Math.max(Date.parse(gaps.from) / 1000, first - (to - first) * 0.03);
  return (
    <Plot
      data={data}
      options={(width) => ({
        width,
        height: HEIGHT,
        scales: { x: { time: true, range: [from, to] }, y: { range: (_u, _min, max) => [0, Math.max(1, (max ?? 0) * 1.15)] } },
        axes: [
          { ...axisStyle(), label: `Heartbeat (${timeZoneLabel()})`, labelSize: 20, values: (_u, splits, _i, _s, incr) => timeAxisLabels(splits, incr) },
          {
            ...axisStyle(),
            label: 'Gap before it',
            labelSize: 18,
            size: 64,
            incrs: DURATION_STEPS,
            values: (_u, splits) => splits.map((s) => formatDuration(s)),
          },
        ],
        series: [
          { label: 'Heartbeat', value: (_u, v) => (v == null ? '–' : formatDateTime(v * 1000)) },
          {
            label: 'Gap',
            stroke: cssVar('--danger', '#b91c1c'),
            width: 1.5,
            points: { show: true, size: 4 },
            value: (_u, v) => (v == null ? '–' : formatDuration(v)),
          },
        ],
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
      })}
    />
  );
}
