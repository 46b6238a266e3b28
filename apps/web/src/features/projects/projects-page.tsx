import { useState } from 'react';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { Link, navigate } from '../../lib/router';
import { formatDateTime } from '../../lib/time';
import { PageHeader, usePageTitle } from '../../components/ui/page';
import { Async, EmptyState } from '../../components/ui/state-views';
import { Dialog } from '../../components/ui/dialog';
import { Pagination } from '../../components/ui/pagination';
import { ProjectForm } from './project-form';

const LIMIT = 50;

export function ProjectsPage() {
  usePageTitle('Projects');
  const { client, can } = useSession();
  const [offset, setOffset] = useState(0);
  const [creating, setCreating] = useState(false);
  const state = useAsync(() => client.projects.list({ limit: LIMIT, offset }), [client, offset]);

  return (
    <>
      <PageHeader
        title="Projects"
        subtitle="Group devices, follow them together and give them their own inactivity timeout."
        actions={
          can.manageProjects && (
            <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
              Create project
            </button>
          )
        }
      />
      <Async state={state} loadingLabel="Loading projects…">
        {(page) =>
          page.items.length === 0 ? (
            <EmptyState title="No projects yet">
              {can.manageProjects ? <p>Create a project to group devices.</p> : <p>An admin of this org can create projects.</p>}
            </EmptyState>
          ) : (
            <>
              <div className="table-wrap">
                <table className="table table-stack" aria-label="Projects">
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Description</th>
                      <th scope="col" className="num">
                        Devices
                      </th>
                      <th scope="col">Created</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.items.map((p) => (
                      <tr key={p.id}>
                        <td data-label="Name">
                          <Link to={`/projects/${p.id}`} className="strong">
                            {p.name}
                          </Link>
                        </td>
                        <td data-label="Description">{p.description || <span className="muted">—</span>}</td>
                        <td data-label="Devices" className="num">
                          {p.deviceCount}
                        </td>
                        <td data-label="Created">{formatDateTime(p.createdAt)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <Pagination total={page.total} limit={page.limit} offset={page.offset} onChange={setOffset} label="Project pages" />
            </>
          )
        }
      </Async>
      <Dialog open={creating} title="Create a project" onClose={() => setCreating(false)}>
        <ProjectForm
          submitLabel="Create project"
          onCancel={() => setCreating(false)}
          onSubmit={async (input) => {
            const p = await client.projects.create(input);
            setCreating(false);
            navigate(`/projects/${p.id}`);
          }}
        />
      </Dialog>
    </>
  );
}
