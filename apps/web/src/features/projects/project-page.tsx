import { useState } from 'react';
import { ApiError } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { Link, navigate, useSearchParams } from '../../lib/router';
import { PageHeader, Section, usePageTitle } from '../../components/ui/page';
import { Async, EmptyState, ErrorNotice, Loading, describeError } from '../../components/ui/state-views';
import { Dialog } from '../../components/ui/dialog';
import { DevicesTable } from '../devices/devices-table';
import { CreateDeviceDialog } from '../devices/create-device-dialog';
import { useProjects } from '../devices/use-projects';
import { FleetStats, useFleetOverview } from '../fleet/fleet-stats';
import { ProjectForm } from './project-form';
import { ConfigEditor } from '../config/config-editor';
import { PropertiesPanel } from '../metadata/properties-panel';
import { NotesPanel } from '../metadata/notes-panel';
import { ProvisioningPanel } from './provisioning-panel';

export function ProjectPage({ id }: { id: string }) {
  const { client, can } = useSession();
  const state = useAsync(() => client.projects.get(id), [client, id]);
  const overview = useFleetOverview(id);
  const { projects } = useProjects();
  const [params, setParams] = useSearchParams();
  const [dialog, setDialog] = useState<'edit' | 'delete' | 'create-device' | null>(null);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const [reloadKey, setReloadKey] = useState(0);
  usePageTitle(state.data?.name ?? 'Project');
  const offset = Number(params.get('offset') ?? 0) || 0;

  if (state.error && !state.data) {
    if (state.error instanceof ApiError && state.error.status === 404)
      return (
        <>
          <PageHeader title="Project not found" />
          <EmptyState title="There is no such project in this org">
            <p>
              <Link to="/projects">Back to projects</Link>
            </p>
          </EmptyState>
        </>
      );
    return <ErrorNotice error={state.error} onRetry={state.reload} />;
  }
  if (!state.data) return <Loading label="Loading project…" />;
  const p = state.data;

  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/projects">Projects</Link> <span aria-hidden="true">/</span> <span aria-current="page">{p.name}</span>
      </nav>
      <PageHeader
        title={p.name}
        subtitle={
          <>
            {p.description || <span className="muted">No description</span>}
            {p.inactivityTimeoutS ? ` · inactivity timeout ${p.inactivityTimeoutS} s` : ''}
          </>
        }
        actions={
          can.manageProjects && (
            <>
              <button type="button" className="btn" onClick={() => setDialog('edit')}>
                Edit
              </button>
              <button type="button" className="btn btn-danger" onClick={() => setDialog('delete')}>
                Delete…
              </button>
            </>
          )
        }
      />
      <Async state={overview} loadingLabel="Loading counts…">
        {(data) => <FleetStats data={data} projectId={id} />}
      </Async>
      <Section
        title="Devices"
        id="devices"
        actions={
          can.createDevices && (
            <button type="button" className="btn btn-small btn-primary" onClick={() => setDialog('create-device')}>
              Create device in this project
            </button>
          )
        }
      >
        <DevicesTable
          filter={{ projectId: id }}
          offset={offset}
          onOffsetChange={(o) => setParams({ offset: o || null })}
          reloadKey={reloadKey}
          emptyHint={<p>No device belongs to this project yet. Pick this project when creating or editing a device.</p>}
        />
      </Section>
      <ProvisioningPanel projectId={id} />
      <ConfigEditor
        target={{ scope: 'project', id }}
        title="Project configuration"
        intro="Values for every device of this project. They override the org's values; a value set on a device overrides them in turn."
      />
      <div className="grid-2">
        <PropertiesPanel entity={{ kind: 'project', id }} />
        <NotesPanel entity={{ kind: 'project', id }} />
      </div>
      <Dialog open={dialog === 'edit'} title="Edit project" onClose={() => setDialog(null)}>
        <ProjectForm
          initial={p}
          submitLabel="Save"
          onCancel={() => setDialog(null)}
          onSubmit={async (input) => {
            state.setData(await client.projects.update(id, input));
            setDialog(null);
          }}
        />
      </Dialog>
      <Dialog
        open={dialog === 'delete'}
        title={`Delete “${p.name}”?`}
        onClose={() => {
          setDialog(null);
          setDeleteError(null);
        }}
      >
        {deleteError && (
          <p className="notice notice-error" role="alert">
            {deleteError}
          </p>
        )}
        <p>The project is deleted. Its devices are kept, without a project.</p>
        <div className="form-actions">
          <button type="button" className="btn" onClick={() => setDialog(null)} autoFocus>
            Cancel
          </button>
          <button
            type="button"
            className="btn btn-danger"
            onClick={async () => {
              try {
                await client.projects.delete(id);
                navigate('/projects');
              } catch (e) {
                setDeleteError(describeError(e));
              }
            }}
          >
            Delete project
          </button>
        </div>
      </Dialog>
      <CreateDeviceDialog
        open={dialog === 'create-device'}
        projects={projects}
        defaultProjectId={id}
        onClose={(created) => {
          setDialog(null);
          if (created) setReloadKey((k) => k + 1);
        }}
      />
    </>
  );
}
