import { useMemo } from 'react';
import { useSession } from '../../app/session';
import { useLiveState } from '../../app/live';
import { useAsync } from '../../lib/use-async';
import { useThrottledCounter } from '../../lib/use-throttled-counter';
import { Link, useSearchParams } from '../../lib/router';
import { PageHeader, usePageTitle } from '../../components/ui/page';
import { Async, EmptyState } from '../../components/ui/state-views';
import { RelativeTime } from '../../components/ui/relative-time';
import { DEPLOYMENT_STATUSES, STATUS_LABEL, listDeployments, type DeploymentStatus } from './deployments';
import { listFleets } from './fleets';
import { useOtaEvents } from './ota-live';
import { DeploymentStatusBadge, StackedProgress } from './ota-ui';

export function DeploymentsPage() {
  usePageTitle('Deployments');
  const { client, can } = useSession();
  const { resumes } = useLiveState();
  const [params, setParams] = useSearchParams();
  const status = (params.get('status') ?? '') as DeploymentStatus | '';
  const [version, bump] = useThrottledCounter(1000, 250);
  const list = useAsync(() => listDeployments(client, { status: status || undefined, limit: 200 }), [client, status, version, resumes]);
  const fleets = useAsync(() => listFleets(client), [client]);
  const fleetNames = useMemo(() => new Map((fleets.data?.items ?? []).map((f) => [f.id, f.name])), [fleets.data]);
  // Any device's job moving reads the list again (at most once a second): counts, statuses and new deployments.
  useOtaEvents(true, bump);

  return (
    <>
      <PageHeader
        title="Deployments"
        subtitle="Firmware rolled out to a fleet in groups; one that fails past its error threshold stops itself."
        actions={
          can.deploy && (
            <Link className="btn btn-primary" to="/deployments/new">
              New deployment
            </Link>
          )
        }
      />
      <form className="filters" aria-label="Filter deployments" onSubmit={(e) => e.preventDefault()}>
        <label className="field">
          <span>Status</span>
          <select value={status} onChange={(e) => setParams({ status: e.target.value || null })}>
            <option value="">All</option>
            {DEPLOYMENT_STATUSES.map((s) => (
              <option key={s} value={s}>
                {STATUS_LABEL[s]}
              </option>
            ))}
          </select>
        </label>
      </form>
      <Async state={list} loadingLabel="Loading deployments…">
        {({ items }) =>
          items.length === 0 ? (
            <EmptyState title={status ? `No ${STATUS_LABEL[status].toLowerCase()} deployments` : 'No deployments yet'}>
              <p>
                {can.deploy ? (
                  <>
                    Upload a <Link to="/firmware">firmware</Link>, make a <Link to="/fleets">fleet</Link>, then start a deployment.
                  </>
                ) : (
                  'Operators start deployments.'
                )}
              </p>
            </EmptyState>
          ) : (
            <div className="table-wrap">
              <table className="table table-stack deployments-table" aria-label="Deployments">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Firmware</th>
                    <th scope="col">Fleet</th>
                    <th scope="col">Status</th>
                    <th scope="col">Progress</th>
                    <th scope="col">Group</th>
                    <th scope="col">Started</th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((d) => (
                    <tr key={d.id} data-deployment-id={d.id} data-status={d.status}>
                      <td data-label="Name">
                        <Link to={`/deployments/${d.id}`} className="strong">
                          {d.name}
                        </Link>
                      </td>
                      <td data-label="Firmware">
                        <code>{d.firmware.version}</code>
                      </td>
                      <td data-label="Fleet">
                        {d.fleetId ? <Link to={`/fleets/${d.fleetId}`}>{fleetNames.get(d.fleetId) ?? '…'}</Link> : <span className="muted">deleted</span>}
                      </td>
                      <td data-label="Status">
                        <DeploymentStatusBadge status={d.status} />
                      </td>
                      <td data-label="Progress" className="progress-cell">
                        <StackedProgress counts={d.counts} total={d.total} label={`${d.name}: progress`} compact />
                      </td>
                      <td data-label="Group" className="nowrap">
                        {d.currentGroup + 1} of {d.groups.length}
                      </td>
                      <td data-label="Started">
                        <RelativeTime value={d.createdAt} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Async>
    </>
  );
}
