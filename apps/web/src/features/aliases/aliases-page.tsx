import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { Link } from '../../lib/router';
import { formatDateTime } from '../../lib/time';
import { PageHeader, usePageTitle } from '../../components/ui/page';
import { Async, EmptyState } from '../../components/ui/state-views';
import { RelativeTime } from '../../components/ui/relative-time';
import { useProjects } from '../devices/use-projects';
import { listAliases, type Alias } from './aliases';

/** "sensor-a.temperature → sensor-b.temperature (since 1 Mar 2026, 00:00)" */
function TapSummary({ alias }: { alias: Alias }) {
  const taps = alias.taps;
  const last = taps[taps.length - 1];
  if (!last) return <span className="muted">no taps</span>;
  return (
    <>
      {taps.map((t, i) => (
        <span key={t.from}>
          {i > 0 && ' → '}
          <span className={t.deviceId ? undefined : 'muted'}>{t.deviceName ?? 'deleted device'}</span>
          <span className="muted">.{t.key}</span>
        </span>
      ))}
      <span className="muted small"> (since {formatDateTime(last.from)})</span>
    </>
  );
}

export function AliasesPage() {
  usePageTitle('Stream aliases');
  const { client, can } = useSession();
  const state = useAsync(() => listAliases(client), [client]);
  const { names: projects } = useProjects();

  return (
    <>
      <PageHeader
        title="Stream aliases"
        subtitle="Virtual streams stitched from device keys over time: a site’s temperature stays one chart when its sensor is replaced."
        actions={
          can.editDevices && (
            <Link className="btn btn-primary" to="/aliases/new">
              New alias
            </Link>
          )
        }
      />
      <Async state={state} loadingLabel="Loading aliases…">
        {({ items }) =>
          items.length === 0 ? (
            <EmptyState title="No aliases yet">
              <p>
                {can.editDevices
                  ? 'Make one with “New alias”: device A’s temperature until the day its sensor was replaced, then device B’s.'
                  : 'Operators make aliases.'}
              </p>
            </EmptyState>
          ) : (
            <div className="table-wrap">
              <table className="table table-stack" aria-label="Stream aliases">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Taps</th>
                    <th scope="col">Unit</th>
                    <th scope="col">Project</th>
                    <th scope="col">Updated</th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((a) => (
                    <tr key={a.id} data-alias-id={a.id}>
                      <td data-label="Name">
                        <Link to={`/aliases/${a.id}`} className="strong">
                          {a.name}
                        </Link>
                      </td>
                      <td data-label="Taps">
                        <TapSummary alias={a} />
                      </td>
                      <td data-label="Unit">{a.unit ?? <span className="muted">—</span>}</td>
                      <td data-label="Project">{a.projectId ? (projects.get(a.projectId) ?? '…') : <span className="muted">—</span>}</td>
                      <td data-label="Updated">
                        <RelativeTime value={a.updatedAt} />
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
