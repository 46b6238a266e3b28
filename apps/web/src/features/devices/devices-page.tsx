import { useEffect, useState } from 'react';
import { useSession } from '../../app/session';
import { useSearchParams } from '../../lib/router';
import { PageHeader, usePageTitle } from '../../components/ui/page';
import { DevicesTable, type DeviceFilter } from './devices-table';
import { CreateDeviceDialog } from './create-device-dialog';
import { useProjects } from './use-projects';
import { PropertySearch } from '../metadata/property-search';
import { ClaimDeviceForm } from './claim-device-form';

export function DevicesPage() {
  usePageTitle('Devices');
  const { can } = useSession();
  const [params, setParams] = useSearchParams();
  const { projects, names } = useProjects();
  const [reloadKey, setReloadKey] = useState(0);

  const q = params.get('q') ?? '';
  const projectId = params.get('projectId') ?? '';
  const tag = params.get('tag') ?? '';
  const status = params.get('status') ?? '';
  const offset = Number(params.get('offset') ?? 0) || 0;
  const creating = params.get('create') === '1' && can.createDevices;

  // The search box updates the URL (and the query) once typing pauses.
  const [qInput, setQInput] = useState(q);
  useEffect(() => setQInput(q), [q]);
  useEffect(() => {
    if (qInput === q) return;
    const t = setTimeout(() => setParams({ q: qInput.trim() || null, offset: null }), 300);
    return () => clearTimeout(t);
  }, [qInput, q, setParams]);

  const [tagInput, setTagInput] = useState(tag);
  useEffect(() => setTagInput(tag), [tag]);
  useEffect(() => {
    if (tagInput === tag) return;
    const t = setTimeout(() => setParams({ tag: tagInput.trim() || null, offset: null }), 300);
    return () => clearTimeout(t);
  }, [tagInput, tag, setParams]);

  const filter: DeviceFilter = {
    q: q || undefined,
    projectId: projectId || undefined,
    tag: tag || undefined,
    online: status === 'online' ? true : status === 'offline' ? false : undefined,
  };
  const filtered = Boolean(q || projectId || tag || status);

  return (
    <>
      <PageHeader
        title="Devices"
        actions={
          can.createDevices && (
            <button type="button" className="btn btn-primary" onClick={() => setParams({ create: 1 })}>
              Create device
            </button>
          )
        }
      />
      <PropertySearch projectNames={names} />
      {can.claimDevices && projects.length > 0 && <ClaimDeviceForm projects={projects} onClaimed={() => setReloadKey((k) => k + 1)} />}
      <div className="card">
        <form className="filters" role="search" aria-label="Filter devices" onSubmit={(e) => e.preventDefault()}>
          <label className="field field-grow">
            <span>Search by name and more</span>
            <input
              type="search"
              name="q"
              value={qInput}
              onChange={(e) => setQInput(e.target.value)}
              placeholder="Name, serial, id, tag, metadata, property"
              title="Finds the text in a device's name, serial, tags, metadata or properties, in any case, or the start of its id"
              maxLength={200}
            />
          </label>
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
            <span>Tag</span>
            <input name="tag" value={tagInput} onChange={(e) => setTagInput(e.target.value)} placeholder="any tag" />
          </label>
          <label className="field">
            <span>Status</span>
            <select name="status" value={status} onChange={(e) => setParams({ status: e.target.value || null, offset: null })}>
              <option value="">Any status</option>
              <option value="online">Online</option>
              <option value="offline">Offline</option>
            </select>
          </label>
          {filtered && (
            <button
              type="button"
              className="btn btn-ghost filters-clear"
              onClick={() => setParams({ q: null, projectId: null, tag: null, status: null, offset: null })}
            >
              Clear filters
            </button>
          )}
        </form>
        <DevicesTable
          filter={filter}
          offset={offset}
          onOffsetChange={(o) => setParams({ offset: o || null })}
          projectNames={names}
          reloadKey={reloadKey}
          emptyHint={
            filtered ? (
              <p>Try removing a filter.</p>
            ) : can.createDevices ? (
              <p>Create a device to get its credentials and a command to publish its first reading.</p>
            ) : (
              <p>An admin of this org can create devices.</p>
            )
          }
        />
      </div>
      <CreateDeviceDialog
        open={creating}
        projects={projects}
        defaultProjectId={projectId || undefined}
        onClose={(created) => {
          setParams({ create: null });
          if (created) setReloadKey((k) => k + 1);
        }}
      />
    </>
  );
}
