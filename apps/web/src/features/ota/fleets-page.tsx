import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { Link } from '../../lib/router';
import { PageHeader, usePageTitle } from '../../components/ui/page';
import { Async, EmptyState } from '../../components/ui/state-views';
import { RelativeTime } from '../../components/ui/relative-time';
import { useProjects } from '../devices/use-projects';
import { useTemplates } from '../devices/device-template';
import { fleetDevices, listFleets, selectorSummary } from './fleets';

/** How many devices the fleet has now (a selector fleet's count changes as devices do). */
function FleetSize({ id }: { id: string }) {
  const { client } = useSession();
  const size = useAsync(() => fleetDevices(client, id, 1), [client, id]);
  if (size.error) return <span className="muted">?</span>;
  return <>{size.data ? size.data.total : '…'}</>;
}

export function FleetsPage() {
  usePageTitle('Fleets');
  const { client, can } = useSession();
  const state = useAsync(() => listFleets(client), [client]);
  const { names: projects } = useProjects();
  const { names: templates } = useTemplates();

  return (
    <>
      <PageHeader
        title="Fleets"
        subtitle="The devices a deployment goes to: listed by hand, or every device matching a selector when the deployment starts."
        actions={
          can.manageFleets && (
            <Link className="btn btn-primary" to="/fleets/new">
              New fleet
            </Link>
          )
        }
      />
      <Async state={state} loadingLabel="Loading fleets…">
        {({ items }) =>
          items.length === 0 ? (
            <EmptyState title="No fleets yet">
              <p>{can.manageFleets ? 'Make one with “New fleet”: e.g. every boiler below firmware 2.0.0.' : 'Operators make fleets.'}</p>
            </EmptyState>
          ) : (
            <div className="table-wrap">
              <table className="table table-stack" aria-label="Fleets">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Devices</th>
                    <th scope="col" className="num">
                      Devices now
                    </th>
                    <th scope="col">Description</th>
                    <th scope="col">Updated</th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((f) => (
                    <tr key={f.id} data-fleet-id={f.id}>
                      <td data-label="Name">
                        <Link to={`/fleets/${f.id}`} className="strong">
                          {f.name}
                        </Link>
                      </td>
                      <td data-label="Kind">
                        <span className="badge">{f.kind === 'selector' ? 'Selector' : 'Static'}</span>
                      </td>
                      <td data-label="Devices">{f.kind === 'selector' ? selectorSummary(f.selector, { projects, templates }) : 'listed by hand'}</td>
                      <td data-label="Devices now" className="num">
                        <FleetSize id={f.id} />
                      </td>
                      <td data-label="Description">{f.description || <span className="muted">—</span>}</td>
                      <td data-label="Updated">
                        <RelativeTime value={f.updatedAt} />
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
