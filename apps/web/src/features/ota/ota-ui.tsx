/** Pieces the OTA pages share: status badges and the stacked progress bar of a deployment or one of its groups. */
import { BUCKETS, BUCKET_LABEL, JOB_STATE_LABEL, STATUS_LABEL, buckets, type DeploymentStatus, type JobCounts, type OtaJobState } from './deployments';

export function DeploymentStatusBadge({ status }: { status: DeploymentStatus }) {
  return (
    <span className={`badge dep-status dep-status-${status}`} data-testid="deployment-status">
      {status === 'running' && <span className="dot" aria-hidden="true" />}
      {STATUS_LABEL[status]}
    </span>
  );
}

export function JobStateBadge({ state }: { state: OtaJobState }) {
  return <span className={`badge job-state job-state-${state}`}>{JOB_STATE_LABEL[state]}</span>;
}

/**
 * One bar, a segment per bucket (installed, failed, timed out, in progress,
 * waiting, cancelled), with the numbers spelled out beside it, never by colour
 * alone. `compact` leaves out the legend's empty buckets.
 */
export function StackedProgress({ counts, total, label, compact = false }: { counts: JobCounts; total: number; label: string; compact?: boolean }) {
  const b = buckets(counts);
  const done = b.installed + b.failed + b.timedOut + b.cancelled;
  const pct = (n: number) => (total > 0 ? (n * 100) / total : 0);
  const shown = BUCKETS.filter((k) => b[k] > 0 || (!compact && k !== 'cancelled'));
  return (
    <div className={compact ? 'stack stack-compact' : 'stack'}>
      <div
        className="stack-bar"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={done}
        aria-valuetext={`${b.installed} of ${total} installed`}
      >
        {BUCKETS.map((k) =>
          b[k] > 0 ? <span key={k} className={`stack-seg seg-${k}`} style={{ width: `${pct(b[k])}%` }} title={`${BUCKET_LABEL[k]}: ${b[k]}`} /> : null,
        )}
      </div>
      <ul className="stack-legend" aria-label={`${label}: devices by state`}>
        {shown.map((k) => (
          <li key={k} data-bucket={k}>
            <span className={`swatch seg-${k}`} aria-hidden="true" />
            {BUCKET_LABEL[k]} <strong>{b[k]}</strong>
          </li>
        ))}
      </ul>
    </div>
  );
}
