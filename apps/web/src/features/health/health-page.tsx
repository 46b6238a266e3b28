import { lazy, Suspense, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { usePolling } from '../../lib/use-polling';
import { Link, useSearchParams } from '../../lib/router';
import { PageHeader, Section, usePageTitle } from '../../components/ui/page';
import { Async, EmptyState, ErrorNotice, Loading, describeError } from '../../components/ui/state-views';
import { Pagination } from '../../components/ui/pagination';
import { RelativeTime } from '../../components/ui/relative-time';
import { useProjects } from '../devices/use-projects';
import { useTemplates } from '../devices/device-template';
import { AtRisk } from './health-at-risk';
import {
  SILENT_PAGE,
  downloadHealthCsv,
  fetchAtRisk,
  fetchGaps,
  fetchLifespans,
  fetchSilent,
  formatDays,
  formatDuration,
  formatShare,
  trimHistogram,
  type FleetGaps,
  type HealthFilter,
  type Lifespans,
  type SilentDevices,
} from './health';

const SilentShareChart = lazy(() => import('./health-charts').then((m) => ({ default: m.SilentShareChart })));
const GapHistogramChart = lazy(() => import('./health-charts').then((m) => ({ default: m.GapHistogramChart })));
const SurvivalChart = lazy(() => import('./health-charts').then((m) => ({ default: m.SurvivalChart })));

/** The silent count and the early warnings follow the clock; the 30-day numbers change slowly. */
const POLL_MS = 60_000;
const DEFAULT_MINUTES = 10;

function HeadlineCard({ title, value, testId, children }: { title: string; value: string; testId: string; children: ReactNode }) {
  return (
    <div className="headline">
      <span className="headline-title">{title}</span>
      <span className="headline-value" data-testid={testId}>
        {value}
      </span>
      <div className="headline-detail">{children}</div>
    </div>
  );
}

function SilentCard({ s }: { s: SilentDevices }) {
  return (
    <HeadlineCard title="Silent now" value={formatShare(s.share)} testId="headline-silent">
      <p>
        <strong data-testid="headline-silent-count">
          {s.silent.toLocaleString()} of {s.monitored.toLocaleString()}
        </strong>{' '}
        {s.monitored === 1 ? 'device has' : 'devices have'} sent no heartbeat for more than {s.minutes} min.
      </p>
      <p className="muted small">
        Counts devices heard at least once and not retired
        {s.retired + s.neverHeard > 0 && ` (not counted: ${s.retired} retired, ${s.neverHeard} never heard)`}.
      </p>
    </HeadlineCard>
  );
}

function GapCard({ g }: { g: FleetGaps }) {
  return (
    <HeadlineCard title="Mean time between heartbeats" value={formatDuration(g.gaps.meanS)} testId="headline-gap">
      <p data-testid="headline-gap-spread">
        Median {formatDuration(g.gaps.medianS)} · p95 {formatDuration(g.gaps.p95S)} · longest {formatDuration(g.gaps.maxS)}
      </p>
      <p className="muted small">
        Over {g.gaps.count.toLocaleString()} gaps between consecutive heartbeats of one device, ending in the last 30 days; median and p95 estimated from the
        histogram.
      </p>
    </HeadlineCard>
  );
}

function LifespanCard({ l }: { l: Lifespans }) {
  return (
    <HeadlineCard title="Mean lifespan" value={formatDays(l.meanEndedDays)} testId="headline-lifespan">
      <p>
        Of <span data-testid="headline-lifespan-ended">{l.ended.toLocaleString()}</span> ended {l.ended === 1 ? 'device' : 'devices'} (retired, or silent for
        more than {l.minutes} min), first to last heartbeat.
      </p>
      <p data-testid="headline-lifespan-km">
        Kaplan–Meier median: {l.medianSurvivalDays === null ? 'not reached (more than half still alive)' : formatDays(l.medianSurvivalDays)} ·{' '}
        <span data-testid="headline-lifespan-alive">{l.alive.toLocaleString()}</span> still alive (censored).
      </p>
    </HeadlineCard>
  );
}

/** A chart in a figure, with a sentence saying what it shows, or why there is nothing to draw. */
function ChartFigure({ title, note, empty, testId, children }: { title: string; note: ReactNode; empty?: string; testId: string; children: ReactNode }) {
  return (
    <figure className="chart" data-testid={testId}>
      <figcaption className="chart-caption">
        <strong>{title}</strong> <span className="muted small">· {note}</span>
      </figcaption>
      {empty ? <p className="chart-empty-inline muted">{empty}</p> : <Suspense fallback={<Loading label="Loading chart…" />}>{children}</Suspense>}
    </figure>
  );
}

function SilentList({ s, offset, onOffset }: { s: SilentDevices; offset: number; onOffset(o: number): void }) {
  if (s.silent === 0) return <EmptyState title="No device is silent">Every monitored device has sent a heartbeat in the last {s.minutes} minutes.</EmptyState>;
  return (
    <>
      <div className="table-wrap">
        <table className="table table-stack" aria-label="Silent devices">
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">Last heartbeat</th>
              <th scope="col">Silent for</th>
            </tr>
          </thead>
          <tbody>
            {s.items.map((d) => (
              <tr key={d.id} data-device-id={d.id}>
                <td data-label="Device">
                  <Link to={`/devices/${d.id}`}>{d.name}</Link>
                </td>
                <td data-label="Last heartbeat">
                  <RelativeTime value={d.lastHeartbeatAt} />
                </td>
                <td data-label="Silent for">{formatDuration(d.silentS)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Pagination total={s.silent} limit={SILENT_PAGE} offset={offset} onChange={onOffset} label="Silent devices pages" />
    </>
  );
}

/** Fleet health (issue 16): the seed's three numbers, their charts, the early warnings and the silent list for a fleet selection. */
export function HealthPage() {
  usePageTitle('Fleet health');
  const { client } = useSession();
  const [params, setParams] = useSearchParams();
  const { projects } = useProjects();
  const { templates } = useTemplates();

  const projectId = params.get('projectId') ?? '';
  const templateId = params.get('templateId') ?? '';
  const tag = params.get('tag') ?? '';
  const minutesParam = Number(params.get('minutes'));
  const minutes = Number.isInteger(minutesParam) && minutesParam >= 1 && minutesParam <= 43200 ? minutesParam : DEFAULT_MINUTES;
  const offset = Number(params.get('offset') ?? 0) || 0;

  // Typing in the tag and minutes boxes updates the URL (and the questions) once it pauses.
  const [tagInput, setTagInput] = useState(tag);
  useEffect(() => setTagInput(tag), [tag]);
  const [minutesInput, setMinutesInput] = useState(String(minutes));
  useEffect(() => setMinutesInput(String(minutes)), [minutes]);
  useEffect(() => {
    const m = Number(minutesInput);
    const nextMinutes = Number.isInteger(m) && m >= 1 && m <= 43200 && m !== minutes ? m : minutes;
    if (tagInput.trim() === tag && nextMinutes === minutes) return;
    const t = setTimeout(() => setParams({ tag: tagInput.trim() || null, minutes: nextMinutes === DEFAULT_MINUTES ? null : nextMinutes, offset: null }), 400);
    return () => clearTimeout(t);
  }, [tagInput, minutesInput, tag, minutes, setParams]);
  const minutesValid = (() => {
    const m = Number(minutesInput);
    return Number.isInteger(m) && m >= 1 && m <= 43200;
  })();

  const filter: HealthFilter = useMemo(
    () => ({ projectId: projectId || undefined, templateId: templateId || undefined, tag: tag || undefined, minutes }),
    [projectId, templateId, tag, minutes],
  );
  const silent = useAsync(() => fetchSilent(client, filter, offset), [client, filter, offset]);
  const gaps = useAsync(() => fetchGaps(client, filter), [client, filter]);
  const lifespans = useAsync(() => fetchLifespans(client, filter), [client, filter]);
  const atRisk = useAsync(() => fetchAtRisk(client, filter), [client, filter]);
  usePolling(silent.reload, true, POLL_MS);
  usePolling(atRisk.reload, true, POLL_MS);

  const [csv, setCsv] = useState<{ busy: boolean; error: string | null }>({ busy: false, error: null });
  const download = async () => {
    setCsv({ busy: true, error: null });
    try {
      await downloadHealthCsv(client, filter);
      setCsv({ busy: false, error: null });
    } catch (e) {
      setCsv({ busy: false, error: describeError(e) });
    }
  };

  const filtered = Boolean(projectId || templateId || tag || minutes !== DEFAULT_MINUTES);
  const histogram = useMemo(() => trimHistogram(gaps.data?.histogram ?? []), [gaps.data]);
  const shareSeries = useMemo(() => (silent.data ? [...silent.data.series, { at: silent.data.at, share: silent.data.share }] : []), [silent.data]);
  const fresh = silent.data && silent.data.monitored === 0 && silent.data.retired === 0;

  return (
    <>
      <PageHeader
        title="Fleet health"
        subtitle="Which devices have gone quiet, how regularly devices send heartbeats, how long they last, and which look about to fail."
        actions={
          <button type="button" className="btn" onClick={() => void download()} disabled={csv.busy}>
            {csv.busy ? 'Preparing…' : 'Download CSV'}
          </button>
        }
      />
      {csv.error && <ErrorNotice error={csv.error} title="Could not download the CSV" />}
      <div className="card">
        <form className="filters" role="search" aria-label="Fleet selection" onSubmit={(e) => e.preventDefault()}>
          <label className="field">
            <span>Project</span>
            <select name="projectId" value={projectId} onChange={(e) => setParams({ projectId: e.target.value || null, offset: null })}>
              <option value="">All projects</option>
              {projects.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Template</span>
            <select name="templateId" value={templateId} onChange={(e) => setParams({ templateId: e.target.value || null, offset: null })}>
              <option value="">All templates</option>
              {templates.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Tag</span>
            <input name="tag" value={tagInput} onChange={(e) => setTagInput(e.target.value)} placeholder="any tag" maxLength={64} />
          </label>
          <label className="field">
            <span>Silent after (minutes)</span>
            <input
              name="minutes"
              type="number"
              inputMode="numeric"
              min={1}
              max={43200}
              value={minutesInput}
              onChange={(e) => setMinutesInput(e.target.value)}
              aria-invalid={!minutesValid}
              aria-describedby={minutesValid ? undefined : 'minutes-error'}
            />
            {!minutesValid && (
              <span id="minutes-error" className="field-error">
                A whole number of minutes, 1 to 43,200.
              </span>
            )}
          </label>
          {filtered && (
            <button
              type="button"
              className="btn btn-ghost filters-clear"
              onClick={() => setParams({ projectId: null, templateId: null, tag: null, minutes: null, offset: null })}
            >
              Clear filters
            </button>
          )}
        </form>
      </div>

      {fresh ? (
        <EmptyState title="No heartbeats yet">
          <p>
            Devices appear here once they send heartbeats: over MQTT on <code>devices/{'{id}'}/heartbeat</code>, or <code>POST /api/v1/device/heartbeat</code>.
            Heartbeats are counted within a minute of arriving.
          </p>
          {filtered && <p>No device of this selection has sent one; try removing a filter.</p>}
        </EmptyState>
      ) : (
        <>
          <div className="headlines" role="group" aria-label="Fleet health in numbers">
            <Async state={silent} loadingLabel="Counting silent devices…">
              {(s) => <SilentCard s={s} />}
            </Async>
            <Async state={gaps} loadingLabel="Measuring heartbeat gaps…">
              {(g) => <GapCard g={g} />}
            </Async>
            <Async state={lifespans} loadingLabel="Measuring lifespans…">
              {(l) => <LifespanCard l={l} />}
            </Async>
          </div>

          <AtRisk state={atRisk} />

          <Section title="Over time" id="health-charts">
            <div className="health-charts">
              <Async state={silent} loadingLabel="Loading…">
                {(s) => (
                  <ChartFigure
                    title="Silent share, last 30 days"
                    note={`the share of monitored devices silent for more than ${s.minutes} min at each UTC midnight, and now`}
                    testId="chart-silent-share"
                  >
                    <SilentShareChart series={shareSeries} />
                  </ChartFigure>
                )}
              </Async>
              <Async state={gaps} loadingLabel="Loading…">
                {() => (
                  <ChartFigure
                    title="Time between heartbeats"
                    note="how many gaps fell in each range, last 30 days (log-spaced ranges)"
                    empty={histogram.length === 0 ? 'No two consecutive heartbeats yet.' : undefined}
                    testId="chart-gap-histogram"
                  >
                    <GapHistogramChart buckets={histogram} />
                  </ChartFigure>
                )}
              </Async>
              <Async state={lifespans} loadingLabel="Loading…">
                {(l) => (
                  <ChartFigure
                    title="Survival"
                    note={`share of devices still alive after so many days (Kaplan–Meier; ${l.alive} alive devices censored at their age so far)`}
                    empty={l.ended === 0 ? 'No device has ended yet: every device heard is still alive.' : undefined}
                    testId="chart-survival"
                  >
                    <SurvivalChart survival={l.survival} />
                  </ChartFigure>
                )}
              </Async>
            </div>
          </Section>

          <Section title="Silent devices" id="silent-devices">
            <Async state={silent} loadingLabel="Loading silent devices…">
              {(s) => <SilentList s={s} offset={offset} onOffset={(o) => setParams({ offset: o || null })} />}
            </Async>
          </Section>
        </>
      )}
    </>
  );
}
