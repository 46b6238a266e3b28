/** Every device's files in the org (`/files`), filtered by device, type and state; loaded on demand. */
import type { Device } from '@tether/api-client';
import { useMemo } from 'react';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { usePolling } from '../../lib/use-polling';
import { useSearchParams } from '../../lib/router';
import { formatBytes } from '../../lib/units';
import { PageHeader, Section, usePageTitle } from '../../components/ui/page';
import { Async, EmptyState } from '../../components/ui/state-views';
import { Pagination } from '../../components/ui/pagination';
import { FileGrid } from './file-grid';
import { TYPE_FILTERS } from './files';

const LIMIT = 24;

function Usage() {
  const { client } = useSession();
  const usage = useAsync(() => client.files.usage(), [client]);
  if (!usage.data) return null;
  const u = usage.data;
  return (
    <span data-testid="files-usage">
      {formatBytes(u.usedBytes)} of {formatBytes(u.quotaBytes)} used · at most {formatBytes(u.maxFileBytes)} a file ·{' '}
      {u.retentionDays ? `kept ${u.retentionDays} days` : 'kept until deleted'}
    </span>
  );
}

export function FilesPage() {
  usePageTitle('Files');
  const { client } = useSession();
  const [params, setParams] = useSearchParams();
  const devices = useAsync(() => client.devices.list({ limit: 500 }), [client]);
  const deviceId = params.get('deviceId') ?? '';
  const type = params.get('type') ?? '';
  const fileState = params.get('state') ?? '';
  const offset = Number(params.get('offset') ?? 0) || 0;
  const query = useMemo(
    () => ({
      deviceId: deviceId || undefined,
      type: type || undefined,
      state: fileState === 'uploading' || fileState === 'stored' ? (fileState as 'uploading' | 'stored') : undefined,
      limit: LIMIT,
      offset,
    }),
    [deviceId, type, fileState, offset],
  );
  const state = useAsync(() => client.files.list(query), [client, query]);
  usePolling(state.reload, state.data?.items.some((f) => f.state === 'uploading') ?? false, 4000);
  const deviceList: Device[] = devices.data?.items ?? [];
  const filtered = Boolean(deviceId || type || fileState);

  return (
    <>
      <PageHeader title="Files" subtitle={<Usage />} />
      <Section
        title="Uploaded by devices"
        id="files"
        actions={
          <button type="button" className="btn btn-small" onClick={state.reload} disabled={state.loading}>
            Refresh<span className="visually-hidden"> files</span>
          </button>
        }
      >
        <form className="filters" aria-label="Filter files" onSubmit={(e) => e.preventDefault()}>
          <label className="field">
            <span>Device</span>
            <select value={deviceId} onChange={(e) => setParams({ deviceId: e.target.value || null, offset: null })}>
              <option value="">All devices</option>
              {deviceList
                .slice()
                .sort((a, b) => a.name.localeCompare(b.name))
                .map((d) => (
                  <option key={d.id} value={d.id}>
                    {d.name}
                  </option>
                ))}
              {deviceId && !deviceList.some((d) => d.id === deviceId) && <option value={deviceId}>This device</option>}
            </select>
          </label>
          <label className="field">
            <span>Type</span>
            <select value={type} onChange={(e) => setParams({ type: e.target.value || null, offset: null })}>
              {TYPE_FILTERS.map((t) => (
                <option key={t.value} value={t.value}>
                  {t.label}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>State</span>
            <select value={fileState} onChange={(e) => setParams({ state: e.target.value || null, offset: null })}>
              <option value="">Stored and uploading</option>
              <option value="stored">Stored</option>
              <option value="uploading">Uploading</option>
            </select>
          </label>
          {filtered && (
            <button type="button" className="btn btn-ghost filters-clear" onClick={() => setParams({ deviceId: null, type: null, state: null, offset: null })}>
              Clear filters
            </button>
          )}
        </form>
        <Async state={state} loadingLabel="Loading files…">
          {(page) =>
            page.items.length === 0 ? (
              <EmptyState title={filtered ? 'No files match' : 'No files yet'}>
                <p>
                  {filtered
                    ? 'Try fewer filters.'
                    : 'Devices upload files (dashcam video, photos, logs) with tus to /api/v1/device/files/uploads; they appear here and on the device’s page.'}
                </p>
              </EmptyState>
            ) : (
              <>
                <p className="muted small" data-testid="files-count">
                  {page.total} {page.total === 1 ? 'file' : 'files'}, newest first
                </p>
                <FileGrid files={page.items} showDevice onDeleted={state.reload} label="Files" />
                <Pagination total={page.total} limit={page.limit} offset={page.offset} onChange={(o) => setParams({ offset: o || null })} label="File pages" />
              </>
            )
          }
        </Async>
      </Section>
    </>
  );
}
