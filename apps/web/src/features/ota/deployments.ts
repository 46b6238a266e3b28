/**
 * Deployments (issue 14): a firmware rolled out to a fleet in groups, with
 * success and error thresholds. The REST calls, and what the pages derive from
 * a deployment: its counts in a few buckets, the actions that make sense now,
 * the group plan and how a live `ota` event moves a device's job on.
 */
import type { BodyOf, ResponseOf, Schemas, TetherClient } from '@tether/api-client';
import { OPEN_OTA_JOB_STATES, OTA_JOB_STATES, type LiveOtaEvent, type OtaJobState } from '@tether/contracts';

export type Deployment = ResponseOf<'/api/v1/deployments/{id}', 'get'>;
export type DeploymentStatus = Deployment['status'];
export type DeploymentInput = BodyOf<'/api/v1/deployments', 'post'>;
export type MaintenanceWindow = NonNullable<DeploymentInput['maintenanceWindow']>;
export type DeploymentJob = Schemas['DeploymentJobPage']['items'][number];
export type DeploymentJobPage = Schemas['DeploymentJobPage'];
export type DeploymentJobDetail = ResponseOf<'/api/v1/deployments/{id}/devices/{deviceId}', 'get'>;
export type JobCounts = Deployment['counts'];
export { OTA_JOB_STATES, type OtaJobState };

export const listDeployments = (client: TetherClient, q: { status?: DeploymentStatus; firmwareId?: string; limit?: number } = {}) =>
  client.request<ResponseOf<'/api/v1/deployments', 'get'>>('GET', '/api/v1/deployments', undefined, q);
export const getDeployment = (client: TetherClient, id: string) => client.request<Deployment>('GET', `/api/v1/deployments/${id}`);
export const createDeployment = (client: TetherClient, input: DeploymentInput) =>
  client.request<ResponseOf<'/api/v1/deployments', 'post'>>('POST', '/api/v1/deployments', input);
export const deploymentJobs = (client: TetherClient, id: string, q: { state?: OtaJobState; group?: number; limit: number; offset: number }) =>
  client.request<DeploymentJobPage>('GET', `/api/v1/deployments/${id}/devices`, undefined, q);
export const deploymentJob = (client: TetherClient, id: string, deviceId: string) =>
  client.request<DeploymentJobDetail>('GET', `/api/v1/deployments/${id}/devices/${deviceId}`);

export type DeploymentAction = 'pause' | 'resume' | 'cancel' | 'retry';

/** Pause, resume and cancel answer the deployment; retry also says how many devices try again. */
export async function runDeploymentAction(client: TetherClient, id: string, action: DeploymentAction): Promise<Deployment> {
  if (action === 'retry') {
    const r = await client.request<ResponseOf<'/api/v1/deployments/{id}/retry', 'post'>>('POST', `/api/v1/deployments/${id}/retry`);
    return r.deployment;
  }
  return client.request<Deployment>('POST', `/api/v1/deployments/${id}/${action}`);
}

export const DEPLOYMENT_STATUSES = ['running', 'paused', 'stopped', 'cancelled', 'completed'] as const satisfies readonly DeploymentStatus[];

export const STATUS_LABEL: Record<DeploymentStatus, string> = {
  running: 'Running',
  paused: 'Paused',
  stopped: 'Stopped',
  cancelled: 'Cancelled',
  completed: 'Completed',
};

export const JOB_STATE_LABEL: Record<OtaJobState, string> = {
  pending: 'Waiting',
  notified: 'Notified',
  downloading: 'Downloading',
  downloaded: 'Downloaded',
  installing: 'Installing',
  installed: 'Installed',
  failed: 'Failed',
  'timed-out': 'Timed out',
  cancelled: 'Cancelled',
};

const isOpen = (s: string) => (OPEN_OTA_JOB_STATES as readonly string[]).includes(s);
const isJobState = (s: string): s is OtaJobState => (OTA_JOB_STATES as readonly string[]).includes(s);

/** The buckets a progress bar shows, in its order. */
export const BUCKETS = ['installed', 'failed', 'timedOut', 'inProgress', 'waiting', 'cancelled'] as const;
export type Bucket = (typeof BUCKETS)[number];
export const BUCKET_LABEL: Record<Bucket, string> = {
  installed: 'Installed',
  failed: 'Failed',
  timedOut: 'Timed out',
  inProgress: 'In progress',
  waiting: 'Waiting',
  cancelled: 'Cancelled',
};

export function buckets(c: JobCounts): Record<Bucket, number> {
  return {
    installed: c.installed,
    failed: c.failed,
    timedOut: c['timed-out'],
    inProgress: c.notified + c.downloading + c.downloaded + c.installing,
    waiting: c.pending,
    cancelled: c.cancelled,
  };
}

/** Jobs not yet ended. */
export const openJobs = (c: JobCounts): number => OPEN_OTA_JOB_STATES.reduce((n, s) => n + c[s], 0);

/** Which buttons make sense for the deployment as it is now (the server refuses the others). */
export function allowedActions(d: Pick<Deployment, 'status' | 'counts'>): Record<DeploymentAction, boolean> {
  const errors = d.counts.failed + d.counts['timed-out'];
  const retryable = d.status !== 'cancelled' && (errors > 0 || (d.status === 'stopped' && d.counts.cancelled > 0));
  return {
    pause: d.status === 'running',
    resume: d.status === 'paused',
    cancel: d.status === 'running' || d.status === 'paused',
    retry: retryable,
  };
}

/** Group presets: cumulative shares of the deployment. */
export const GROUP_PRESETS: { label: string; percents: number[] }[] = [
  { label: 'All at once', percents: [100] },
  { label: '10% → 100%', percents: [10, 100] },
  { label: '10% → 50% → 100%', percents: [10, 50, 100] },
  { label: '1% → 10% → 50% → 100%', percents: [1, 10, 50, 100] },
];

export const percentsLabel = (percents: number[]): string => percents.map((p) => `${p}%`).join(' → ');

/** What is wrong with cumulative group percents, or null; the server's rules. */
export function groupsProblem(percents: number[]): string | null {
  if (!percents.length) return 'Add at least one group.';
  let last = 0;
  for (const p of percents) {
    if (!Number.isFinite(p) || p <= 0 || p > 100) return 'Each group is a share of the deployment, above 0% and at most 100%.';
    if (p <= last) return 'Shares are cumulative (like 1, 10, 50, 100): each must be above the one before.';
    last = p;
  }
  if (last !== 100) return 'The last group must reach 100%.';
  return null;
}

/**
 * The group sizes `total` devices would split into, as the server plans them
 * (`planGroups` of @tether/contracts, which deployments.test.ts holds this to).
 * Not imported from there: Rolldown then moved React's jsx-runtime out of the
 * entry, a second script on every first load (dashboard.e2e.test.ts).
 */
export function planGroups(total: number, percents: number[]): number[] {
  const sizes: number[] = [];
  let assigned = 0;
  for (const p of percents) {
    const left = total - assigned;
    if (left <= 0) break;
    const size = Math.min(left, Math.max(1, Math.ceil((total * p) / 100) - assigned));
    sizes.push(size);
    assigned += size;
  }
  if (assigned < total && sizes.length) sizes[sizes.length - 1]! += total - assigned;
  return sizes;
}

/**
 * A job as a live event moves it on. Events can overtake a page read, so an
 * event older than the row changes nothing.
 */
export function applyOtaEvent(job: DeploymentJob, e: LiveOtaEvent['ota']): DeploymentJob {
  if (!isJobState(e.state) || e.at < job.updatedAt) return job;
  return {
    ...job,
    state: e.state,
    progress: e.progress ?? (e.state === job.state ? job.progress : null),
    error: e.error,
    updatedAt: e.at,
    finishedAt: isOpen(e.state) ? null : (job.finishedAt ?? e.at),
  };
}

export const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** "02:00–04:00 Europe/Amsterdam, Mon, Tue" (every day unless days are given). */
export function windowSummary(w: MaintenanceWindow): string {
  const days =
    w.days?.length && w.days.length < 7
      ? `, ${[...w.days]
          .sort()
          .map((d) => WEEKDAYS[d])
          .join(', ')}`
      : ', every day';
  return `${w.start}–${w.end} ${w.timezone}${days}`;
}
