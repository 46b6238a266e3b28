/** The Files section of a device page; loaded on demand (app/on-demand-pages.ts). */
import { useState } from 'react';
import type { Device } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { usePolling } from '../../lib/use-polling';
import { Link } from '../../lib/router';
import { Section } from '../../components/ui/page';
import { Async, EmptyState } from '../../components/ui/state-views';
import { Pagination } from '../../components/ui/pagination';
import { FileGrid } from './file-grid';

const LIMIT = 12;

export function DeviceFiles({ device }: { device: Device }) {
  const { client } = useSession();
  const [offset, setOffset] = useState(0);
  const state = useAsync(() => client.files.list({ deviceId: device.id, limit: LIMIT, offset }), [client, device.id, offset]);
  // There is no live event for a finished upload: while one is under way, read again.
  usePolling(state.reload, state.data?.items.some((f) => f.state === 'uploading') ?? false, 4000);

  return (
    <Section
      title="Files"
      id="files"
      actions={
        <>
          <button type="button" className="btn btn-small" onClick={state.reload} disabled={state.loading}>
            Refresh<span className="visually-hidden"> files</span>
          </button>
          <Link to={`/files?deviceId=${device.id}`}>In all files</Link>
        </>
      }
    >
      <Async state={state} loadingLabel="Loading files…">
        {(page) =>
          page.items.length === 0 && page.offset === 0 ? (
            <EmptyState title="No files">
              <p>
                Files the device uploads (tus, <code>/api/v1/device/files/uploads</code>) appear here: videos play, images open large, anything else downloads.
              </p>
            </EmptyState>
          ) : (
            <>
              <p className="muted small" data-testid="device-files-count">
                {page.total} {page.total === 1 ? 'file' : 'files'}, newest first
              </p>
              <FileGrid files={page.items} onDeleted={state.reload} label={`Files of ${device.name}`} />
              <Pagination total={page.total} limit={page.limit} offset={page.offset} onChange={setOffset} label="File pages" />
            </>
          )
        }
      </Async>
    </Section>
  );
}
