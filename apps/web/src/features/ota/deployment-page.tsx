import { Fragment, useEffect, useMemo, useState } from 'react';
import { ApiError } from '@tether/api-client';
import type { LiveOtaEvent } from '@tether/contracts';
import { useSession } from '../../app/session';
import { useLiveState } from '../../app/live';
import { useAsync } from '../../lib/use-async';
import { useThrottledCounter } from '../../lib/use-throttled-counter';
import { Link, useSearchParams } from '../../lib/router';
import { formatDateTime, formatDateTimeZone } from '../../lib/time';
import { PageHeader, Section, usePageTitle } from '../../components/ui/page';
import { ConfirmDialog } from '../../components/ui/dialog';
import { Pagination } from '../../components/ui/pagination';
import { RelativeTime } from '../../components/ui/relative-time';
import { Async, EmptyState, ErrorNotice, Loading, describeError } from '../../components/ui/state-views';
import { formatSeconds } from '../alarms/alarm-format';
import { useUserNames } from '../alarms/use-user-names';
import {
  JOB_STATE_LABEL,
  OTA_JOB_STATES,
  allowedActions,
  applyOtaEvent,
  deploymentJob,
  deploymentJobs,
  getDeployment,
  openJobs,
  runDeploymentAction,
  windowSummary,
  type Deployment,
  type DeploymentAction,
  type DeploymentJob,
  type OtaJobState,
} from './deployments';
import { getFleet } from './fleets';
import { useOtaEvents } from './ota-live';
import { DeploymentStatusBadge, JobStateBadge, StackedProgress } from './ota-ui';

const JOBS_LIMIT = 50;

const SOURCE_LABEL: Record<string, string> = { device: 'the device', server: 'Tether', user: 'a user' };

/** Every transition of one device's job, oldest first; read again when the device reports. */
function JobHistory({ deploymentId, deviceId, version }: { deploymentId: string; deviceId: string; version: number }) {
  const { client } = useSession();
  const state = useAsync(() => deploymentJob(client, deploymentId, deviceId), [client, deploymentId, deviceId, version]);
  return (
    <Async state={state} loadingLabel="Loading the device’s history…">
      {(job) => (
        <div className="job-detail">
          <p className="small">
            {job.fromVersion ? (
              <>
                From <code>{job.fromVersion}</code>.{' '}
              </>
            ) : null}
            {job.deadlineAt && job.finishedAt === null && <>Deadline {formatDateTime(job.deadlineAt)}. </>}
            {job.attempts > 1 && <>Attempt {job.attempts}.</>}
          </p>
          <ol className="job-history" data-testid="job-history" aria-label={`History of ${job.deviceName ?? 'the device'}`}>
            {job.history.map((h, i) => (
              <li key={i} className={`job-history-item job-history-${h.state}`}>
                <JobStateBadge state={h.state} />{' '}
                <span className="muted small">
                  by {SOURCE_LABEL[h.source] ?? h.source},{' '}
                  <time dateTime={h.at} title={formatDateTimeZone(h.at)}>
                    {formatDateTime(h.at)}
                  </time>
                </span>
                {h.error && <span className="job-error">{h.error}</span>}
              </li>
            ))}
          </ol>
        </div>
      )}
    </Async>
  );
}

/** How far the device got: its download while under way, full once installed; nothing for a job not started or ended otherwise. */
function JobProgress({ job }: { job: DeploymentJob }) {
  const value = job.state === 'downloading' || job.state === 'notified' ? (job.progress ?? 0) : 100;
  if (!['notified', 'downloading', 'downloaded', 'installing', 'installed'].includes(job.state)) return <span className="muted">—</span>;
  return (
    <span className="job-progress">
      <progress max={100} value={value} aria-label={`${job.deviceName ?? 'device'}: progress`} />
      <span className="small">{value}%</span>
    </span>
  );
}

/** The devices' jobs: filtered by state and group (kept in the URL), live, each with its history on demand. */
function JobsPanel({ deployment, jobsVersion, historyVersion }: { deployment: Deployment; jobsVersion: number; historyVersion: Map<string, number> }) {
  const { client } = useSession();
  const [params, setParams] = useSearchParams();
  const state = (params.get('state') ?? '') as OtaJobState | '';
  const groupParam = params.get('group');
  const group = groupParam === null || groupParam === '' ? undefined : Number(groupParam);
  const offset = Number(params.get('offset') ?? 0) || 0;
  const jobs = useAsync(
    () => deploymentJobs(client, deployment.id, { state: state || undefined, group, limit: JOBS_LIMIT, offset }),
    [client, deployment.id, state, group, offset, jobsVersion],
  );
  const [open, setOpen] = useState<string | null>(null);
  const { setData } = jobs;

  // Rows on screen move with each report at once (the page's subscription brings them); a filtered page is read again by jobsVersion.
  useOtaEvents(false, (e: LiveOtaEvent) => {
    if (e.ota.deploymentId !== deployment.id) return;
    setData((page) => page && { ...page, items: page.items.map((j) => (j.deviceId === e.deviceId ? applyOtaEvent(j, e.ota) : j)) });
  });

  return (
    <Section title="Devices" id="deployment-devices">
      <form className="filters" aria-label="Filter devices" onSubmit={(e) => e.preventDefault()}>
        <label className="field">
          <span>State</span>
          <select value={state} onChange={(e) => setParams({ state: e.target.value || null, offset: null })}>
            <option value="">All states</option>
            {OTA_JOB_STATES.map((s) => (
              <option key={s} value={s}>
                {JOB_STATE_LABEL[s]} ({deployment.counts[s]})
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Group</span>
          <select value={group ?? ''} onChange={(e) => setParams({ group: e.target.value === '' ? null : e.target.value, offset: null })}>
            <option value="">All groups</option>
            {deployment.groups.map((g) => (
              <option key={g.index} value={g.index}>
                Group {g.index + 1} ({g.size})
              </option>
            ))}
          </select>
        </label>
        {(state || group !== undefined) && (
          <button type="button" className="btn btn-ghost filters-clear" onClick={() => setParams({ state: null, group: null, offset: null })}>
            Clear filters
          </button>
        )}
      </form>
      <Async state={jobs} loadingLabel="Loading devices…">
        {(page) =>
          page.items.length === 0 ? (
            <EmptyState title="No device matches" />
          ) : (
            <>
              <div className="table-wrap">
                <table className="table table-stack jobs-table" aria-label="Devices of the deployment" aria-busy={jobs.loading}>
                  <thead>
                    <tr>
                      <th scope="col">Device</th>
                      <th scope="col">Group</th>
                      <th scope="col">State</th>
                      <th scope="col">Progress</th>
                      <th scope="col">Error</th>
                      <th scope="col" className="num">
                        Attempts
                      </th>
                      <th scope="col">Updated</th>
                      <th scope="col">
                        <span className="visually-hidden">History</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.items.map((j) => (
                      <Fragment key={j.deviceId}>
                        <tr className="job-row" data-device-id={j.deviceId} data-state={j.state}>
                          <td data-label="Device">
                            <Link to={`/devices/${j.deviceId}`}>{j.deviceName ?? j.deviceId}</Link>
                          </td>
                          <td data-label="Group">{j.group + 1}</td>
                          <td data-label="State">
                            <JobStateBadge state={j.state} />
                          </td>
                          <td data-label="Progress">
                            <JobProgress job={j} />
                          </td>
                          <td data-label="Error" className="job-error-cell">
                            {j.error ?? <span className="muted">—</span>}
                          </td>
                          <td data-label="Attempts" className="num">
                            {j.attempts}
                          </td>
                          <td data-label="Updated">
                            <RelativeTime value={j.updatedAt} />
                          </td>
                          <td data-label="History">
                            <button
                              type="button"
                              className="btn btn-small"
                              aria-expanded={open === j.deviceId}
                              aria-controls={`job-${j.deviceId}`}
                              onClick={() => setOpen((x) => (x === j.deviceId ? null : j.deviceId))}
                            >
                              {open === j.deviceId ? 'Hide history' : 'History'}
                              <span className="visually-hidden"> of {j.deviceName}</span>
                            </button>
                          </td>
                        </tr>
                        {open === j.deviceId && (
                          <tr className="job-detail-row" id={`job-${j.deviceId}`}>
                            <td colSpan={8}>
                              <JobHistory deploymentId={deployment.id} deviceId={j.deviceId} version={historyVersion.get(j.deviceId) ?? 0} />
                            </td>
                          </tr>
                        )}
                      </Fragment>
                    ))}
                  </tbody>
                </table>
              </div>
              <Pagination total={page.total} limit={page.limit} offset={page.offset} onChange={(o) => setParams({ offset: o || null })} label="Device pages" />
            </>
          )
        }
      </Async>
    </Section>
  );
}

/** A group that never started in a deployment that has ended will not start. */
const groupStatus = (g: Deployment['groups'][number]['status'], d: Deployment['status']): string =>
  g === 'done' ? 'Done' : g === 'running' ? 'Running' : d === 'stopped' || d === 'cancelled' ? 'Not started' : 'Waiting';

function GroupsPanel({ deployment: d }: { deployment: Deployment }) {
  let reached = 0;
  return (
    <Section title="Groups" id="deployment-groups">
      <ol className="group-progress-list">
        {d.groups.map((g) => {
          reached += g.size;
          const errors = g.counts.failed + g.counts['timed-out'];
          const errorPct = g.size ? Math.round((errors * 100) / g.size) : 0;
          const current = g.index === d.currentGroup && (d.status === 'running' || d.status === 'paused');
          return (
            <li
              key={g.index}
              className={current ? 'group-progress group-current' : 'group-progress'}
              data-testid={`group-${g.index + 1}`}
              data-status={g.status}
            >
              <div className="group-progress-head">
                <span className="strong">Group {g.index + 1}</span>
                <span className={`badge group-status-${g.status}`}>{groupStatus(g.status, d.status)}</span>
                <span className="muted small">
                  {g.size} {g.size === 1 ? 'device' : 'devices'}, up to {d.total ? Math.round((reached * 100) / d.total) : 0}% of the deployment
                  {g.startedAt && (
                    <>
                      {' '}
                      · started <RelativeTime value={g.startedAt} />
                    </>
                  )}
                </span>
                {errors > 0 && (
                  <span className={errors * 100 > d.errorThreshold * g.size ? 'small over-threshold' : 'small'}>
                    {errors} failed or timed out ({errorPct}%; threshold {d.errorThreshold}%)
                  </span>
                )}
              </div>
              <StackedProgress counts={g.counts} total={g.size} label={`Group ${g.index + 1}`} compact />
            </li>
          );
        })}
      </ol>
    </Section>
  );
}

function Settings({ deployment: d, createdBy }: { deployment: Deployment; createdBy: string }) {
  return (
    <Section title="Settings" id="deployment-settings">
      <dl className="props">
        <div className="props-row">
          <dt>Groups</dt>
          <dd>{d.groups.map((g) => g.size).join(' → ')} devices</dd>
        </div>
        <div className="props-row">
          <dt>Success threshold</dt>
          <dd>{d.successThreshold}% of a group installed before the next starts</dd>
        </div>
        <div className="props-row">
          <dt>Error threshold</dt>
          <dd>stops past {d.errorThreshold}% of a group failed or timed out</dd>
        </div>
        <div className="props-row">
          <dt>Device deadline</dt>
          <dd>{formatSeconds(d.deviceTimeoutS)} from the start of its group</dd>
        </div>
        <div className="props-row">
          <dt>Maintenance window</dt>
          <dd>{d.maintenanceWindow ? windowSummary(d.maintenanceWindow) : 'none: devices are told at once'}</dd>
        </div>
        <div className="props-row">
          <dt>Started</dt>
          <dd>
            {formatDateTime(d.createdAt)} by {createdBy}
          </dd>
        </div>
        {d.finishedAt && (
          <div className="props-row">
            <dt>Ended</dt>
            <dd>{formatDateTime(d.finishedAt)}</dd>
          </div>
        )}
      </dl>
    </Section>
  );
}

const ACTION_LABEL: Record<DeploymentAction, string> = { pause: 'Pause', resume: 'Resume', retry: 'Retry failed', cancel: 'Cancel deployment' };
const ACTION_WHY: Record<DeploymentAction, string> = {
  pause: 'Only a running deployment can be paused.',
  resume: 'Only a paused deployment can be resumed.',
  retry: 'No device has failed or timed out.',
  cancel: 'Only a running or paused deployment can be cancelled.',
};

function Actions({ deployment, onChanged }: { deployment: Deployment; onChanged(d: Deployment): void }) {
  const { client, can } = useSession();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [confirmCancel, setConfirmCancel] = useState(false);
  if (!can.deploy) return null;
  const allowed = allowedActions(deployment);
  const run = async (action: DeploymentAction) => {
    setBusy(true);
    setError(null);
    try {
      onChanged(await runDeploymentAction(client, deployment.id, action));
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  const button = (action: DeploymentAction, className = 'btn') => (
    <button
      type="button"
      className={className}
      disabled={busy || !allowed[action]}
      title={allowed[action] ? undefined : ACTION_WHY[action]}
      onClick={() => (action === 'cancel' ? setConfirmCancel(true) : void run(action))}
    >
      {ACTION_LABEL[action]}
    </button>
  );
  return (
    <>
      <div className="page-actions deployment-actions" role="group" aria-label="Deployment actions">
        {button('pause')}
        {button('resume', 'btn btn-primary')}
        {button('retry')}
        {button('cancel', 'btn btn-danger')}
      </div>
      {error && (
        <p className="notice notice-error action-error" role="alert">
          {error}
        </p>
      )}
      <ConfirmDialog
        open={confirmCancel}
        title={`Cancel “${deployment.name}”?`}
        confirmLabel="Cancel deployment"
        dismissLabel="Keep it"
        onConfirm={async () => onChanged(await runDeploymentAction(client, deployment.id, 'cancel'))}
        onClose={() => setConfirmCancel(false)}
      >
        <p>Devices not yet told of the update are not told. Devices already updating may finish, and their reports still count. This cannot be undone.</p>
      </ConfirmDialog>
    </>
  );
}

/**
 * One deployment: its groups' progress, the devices' jobs and the actions an
 * operator may take now. It follows the org's OTA events: each report moves
 * the device's row at once, and the summary is read again (at most twice a
 * second) since only the server knows when a group starts or the rollout stops.
 */
export function DeploymentPage({ id }: { id: string }) {
  const { client } = useSession();
  const { resumes } = useLiveState();
  const { nameOf } = useUserNames();
  const [summaryVersion, bumpSummary] = useThrottledCounter(500, 200);
  const [jobsVersion, bumpJobs] = useThrottledCounter(1500, 300);
  const [historyVersion, setHistoryVersion] = useState(() => new Map<string, number>());
  const state = useAsync(() => getDeployment(client, id), [client, id, summaryVersion, resumes]);
  const { setData } = state;
  const d = state.data;
  usePageTitle(d?.name ?? 'Deployment');
  const fleet = useAsync(async () => (d?.fleetId ? getFleet(client, d.fleetId) : null), [client, d?.fleetId]);
  const [params] = useSearchParams();
  const filtered = params.has('state') || params.has('group');

  useOtaEvents(true, (e) => {
    if (e.ota.deploymentId !== id) return;
    bumpSummary();
    // A filtered page can gain or lose rows as states change: read it again.
    if (filtered) bumpJobs();
    setHistoryVersion((m) => new Map(m).set(e.deviceId, (m.get(e.deviceId) ?? 0) + 1));
  });

  // The last report of a group or of the rollout ends a job; the server moves the deployment on a moment later.
  const settling = d?.status === 'running' && openJobs(d.counts) === 0;
  useEffect(() => {
    if (!settling) return;
    const t = setTimeout(bumpSummary, 1000);
    return () => clearTimeout(t);
  }, [settling, summaryVersion, bumpSummary]);

  const fleetLink = useMemo(() => {
    if (!d) return null;
    if (!d.fleetId) return <span className="muted">a deleted fleet</span>;
    return <Link to={`/fleets/${d.fleetId}`}>{fleet.data?.name ?? 'its fleet'}</Link>;
  }, [d, fleet.data]);

  if (state.error && !d) {
    if (state.error instanceof ApiError && (state.error.status === 404 || state.error.status === 400)) {
      return (
        <>
          <PageHeader title="Deployment not found" />
          <EmptyState title="There is no such deployment in this org">
            <p>
              <Link to="/deployments">Back to deployments</Link>
            </p>
          </EmptyState>
        </>
      );
    }
    return <ErrorNotice error={state.error} onRetry={state.reload} />;
  }
  if (!d) return <Loading label="Loading deployment…" />;

  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link to="/deployments">Deployments</Link> /
      </nav>
      <PageHeader
        title={
          <>
            {d.name} <DeploymentStatusBadge status={d.status} />
          </>
        }
        subtitle={
          <>
            Firmware <Link to="/firmware">{d.firmware.version}</Link> to {fleetLink}: {d.total} {d.total === 1 ? 'device' : 'devices'} in {d.groups.length}{' '}
            {d.groups.length === 1 ? 'group' : 'groups'}
          </>
        }
        actions={
          <Actions
            deployment={d}
            onChanged={(next) => {
              setData(next);
              bumpJobs();
            }}
          />
        }
      />
      {state.error && <ErrorNotice error={state.error} onRetry={state.reload} title="Could not refresh" />}
      {d.status === 'stopped' && (
        <p className="notice notice-error" role="alert" data-testid="stop-reason">
          <strong>Stopped by itself:</strong> {d.stopReason ?? 'the error threshold was passed'}. Devices not yet told were cancelled. Fix the firmware and
          deploy a new version, or retry the failed devices.
        </p>
      )}
      {d.status === 'cancelled' && (
        <p className="notice notice-warning" data-testid="stop-reason">
          <strong>Cancelled:</strong> {d.stopReason ?? 'by a user'}.
        </p>
      )}
      {d.status === 'paused' && (
        <p className="notice notice-warning">
          <strong>Paused:</strong> no device is told of the update until it is resumed; updates under way go on.
        </p>
      )}
      {d.status === 'completed' && (
        <p className="notice notice-success" data-testid="completed">
          <strong>Completed:</strong> {d.counts.installed} of {d.total} devices run {d.firmware.version}.
        </p>
      )}
      <Section title="Progress" id="deployment-progress">
        <StackedProgress counts={d.counts} total={d.total} label="Deployment" />
      </Section>
      <div className="deployment-layout">
        <GroupsPanel deployment={d} />
        <Settings deployment={d} createdBy={d.createdBy ? nameOf(d.createdBy) : 'an API key'} />
      </div>
      <JobsPanel deployment={d} jobsVersion={jobsVersion} historyVersion={historyVersion} />
    </>
  );
}
