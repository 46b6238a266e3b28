import { Fragment, lazy, Suspense, useState } from 'react';
import { useSession } from '../../app/session';
import { useAsync, type AsyncState } from '../../lib/use-async';
import { Link } from '../../lib/router';
import { formatDateTimeZone } from '../../lib/time';
import { Section } from '../../components/ui/page';
import { Async, EmptyState, Loading } from '../../components/ui/state-views';
import { RelativeTime } from '../../components/ui/relative-time';
import { fetchDeviceGaps, formatDuration, type AtRiskDevice, type AtRiskDevices } from './health';

const DeviceGapChart = lazy(() => import('./health-charts').then((m) => ({ default: m.DeviceGapChart })));

/** The score as a bar and a number: 0.5 is where the detector flags a device. */
function ScoreBar({ score }: { score: number }) {
  const pct = Math.round(score * 100);
  return (
    <span className="score" data-testid="risk-score" title={`Risk score ${score.toFixed(2)} of 1 (flagged from 0.5)`}>
      <span className="score-bar" aria-hidden="true">
        <span className={score >= 0.8 ? 'score-fill score-high' : 'score-fill'} style={{ width: `${pct}%` }} />
      </span>
      <span className="score-value">{score.toFixed(2)}</span>
    </span>
  );
}

/** One device's gaps over the last 24 h, under its row. */
function GapsOfDevice({ device }: { device: AtRiskDevice }) {
  const { client } = useSession();
  const state = useAsync(() => fetchDeviceGaps(client, device.id), [client, device.id]);
  return (
    <Async state={state} loadingLabel="Loading its heartbeats…">
      {(gaps) => {
        const last = gaps.items.at(-1);
        const longest = gaps.items.reduce((m, g) => Math.max(m, g.gapS), 0);
        return (
          <figure className="chart" data-testid="device-gap-chart" data-points={gaps.items.length}>
            <figcaption className="chart-caption">
              <strong>Time between heartbeats of {device.name}</strong>
              <span className="muted small">
                {' '}
                · last 24 h · {gaps.items.length.toLocaleString()} {gaps.items.length === 1 ? 'heartbeat' : 'heartbeats'}
                {last && (
                  <>
                    {' '}
                    · latest gap {formatDuration(last.gapS)}, longest {formatDuration(longest)}
                  </>
                )}
                {gaps.truncated && ' · the newest only'}
              </span>
            </figcaption>
            {gaps.items.length === 0 ? (
              <p className="chart-empty muted">No heartbeat in the last 24 hours.</p>
            ) : (
              <Suspense fallback={<Loading label="Loading chart…" />}>
                <DeviceGapChart gaps={gaps} />
              </Suspense>
            )}
          </figure>
        );
      }}
    </Async>
  );
}

/** Devices the early-warning scan flagged, strongest first; a row opens the device's gap chart. */
export function AtRisk({ state }: { state: AsyncState<AtRiskDevices> }) {
  const [open, setOpen] = useState<string | null>(null);
  return (
    <Section title="At risk of failing" id="at-risk">
      <Async state={state} loadingLabel="Loading the early warnings…">
        {(data) => (
          <>
            <p className="muted small" data-testid="scan-summary">
              {data.scannedAt ? (
                <>
                  The last scan ran <RelativeTime value={data.scannedAt} /> and judged {data.assessed.toLocaleString()}{' '}
                  {data.assessed === 1 ? 'device' : 'devices'} against their own heartbeat history ({data.scanMs.toLocaleString()} ms).
                </>
              ) : (
                'No scan has run yet: the worker scans every device a few minutes after it starts, then every few minutes.'
              )}
            </p>
            {data.items.length === 0 ? (
              <EmptyState title="No device is at risk">
                <p>
                  {data.scannedAt
                    ? `As of the last scan (${formatDateTimeZone(data.scannedAt)}), no device's heartbeats are late, irregular or spreading out.`
                    : 'Devices whose heartbeats grow late, irregular or spread out appear here once the scan has run.'}
                </p>
              </EmptyState>
            ) : (
              <div className="table-wrap">
                <table className="table table-stack at-risk" aria-label="Devices at risk">
                  <thead>
                    <tr>
                      <th scope="col">Device</th>
                      <th scope="col">Score</th>
                      <th scope="col">Why</th>
                      <th scope="col">Since</th>
                      <th scope="col">Last heartbeat</th>
                      <th scope="col">
                        <span className="visually-hidden">Gap chart</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.items.map((d) => {
                      const expanded = open === d.id;
                      const toggle = () => setOpen(expanded ? null : d.id);
                      return (
                        <Fragment key={d.id}>
                          <tr data-device-id={d.id} className={expanded ? 'row-open row-clickable' : 'row-clickable'} onClick={toggle}>
                            <td data-label="Device">
                              <Link to={`/devices/${d.id}`} onClick={(e) => e.stopPropagation()}>
                                {d.name}
                              </Link>
                            </td>
                            <td data-label="Score">
                              <ScoreBar score={d.score} />
                            </td>
                            <td data-label="Why">
                              <ul className="reasons">
                                {d.reasons.map((r) => (
                                  <li key={r}>{r}</li>
                                ))}
                              </ul>
                            </td>
                            <td data-label="Since">
                              <RelativeTime value={d.since} />
                            </td>
                            <td data-label="Last heartbeat">
                              <RelativeTime value={d.lastHeartbeatAt} />
                            </td>
                            <td className="cell-action">
                              <button
                                type="button"
                                className="btn btn-small"
                                aria-expanded={expanded}
                                onClick={(e) => {
                                  e.stopPropagation();
                                  toggle();
                                }}
                              >
                                {expanded ? 'Hide gaps' : 'Show gaps'}
                                <span className="visually-hidden"> of {d.name}</span>
                              </button>
                            </td>
                          </tr>
                          {expanded && (
                            <tr className="row-detail">
                              <td colSpan={6}>
                                <GapsOfDevice device={d} />
                              </td>
                            </tr>
                          )}
                        </Fragment>
                      );
                    })}
                  </tbody>
                </table>
              </div>
            )}
            {data.total > data.items.length && (
              <p className="muted small">
                The {data.items.length} highest scores of {data.total.toLocaleString()} flagged devices.
              </p>
            )}
          </>
        )}
      </Async>
    </Section>
  );
}
