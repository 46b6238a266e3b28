import { useEffect, useRef, type ReactNode } from 'react';
import { useSession } from '../../app/session';
import { useLiveEvents, useLiveState } from '../../app/live';
import { useAsync } from '../../lib/use-async';
import { Link } from '../../lib/router';
import { OnlineBadge, Tags } from '../../components/ui/badges';
import { RelativeTime } from '../../components/ui/relative-time';
import { Async, EmptyState } from '../../components/ui/state-views';
import { Pagination } from '../../components/ui/pagination';
import { applyLive, patchFromEvent, type StatusPatch } from './live-status';

export interface DeviceFilter {
  projectId?: string;
  tag?: string;
  online?: boolean;
  q?: string;
}

const FLUSH_MS = 250;

export function DevicesTable({
  filter,
  offset,
  onOffsetChange,
  projectNames,
  limit = 25,
  reloadKey = 0,
  emptyHint,
}: {
  filter: DeviceFilter;
  offset: number;
  onOffsetChange(offset: number): void;
  projectNames?: Map<string, string>;
  limit?: number;
  reloadKey?: number;
  emptyHint?: ReactNode;
}) {
  const { client } = useSession();
  const { resumes } = useLiveState();
  const key = JSON.stringify(filter);
  const state = useAsync(() => client.devices.list({ ...(JSON.parse(key) as DeviceFilter), limit, offset }), [client, key, offset, limit, resumes, reloadKey]);
  const { setData } = state;

  // Live events are batched so a busy fleet re-renders the table a few times a second, not per message.
  const pending = useRef(new Map<string, StatusPatch>());
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => void (timer.current && clearTimeout(timer.current)), []);

  const ids = state.data?.items.map((d) => d.id) ?? [];
  useLiveEvents(ids.length ? { devices: ids, channels: ['status', 'telemetry'] } : null, (e) => {
    if (!ids.includes(e.deviceId)) return;
    const patch = patchFromEvent(e);
    if (!patch) return;
    pending.current.set(e.deviceId, { ...pending.current.get(e.deviceId), ...patch });
    timer.current ??= setTimeout(() => {
      timer.current = null;
      const patches = pending.current;
      pending.current = new Map();
      setData((page) => page && applyLive(page, patches));
    }, FLUSH_MS);
  });

  return (
    <Async state={state} loadingLabel="Loading devices…">
      {(page) =>
        page.items.length === 0 ? (
          <EmptyState title={page.total === 0 && offset === 0 ? 'No devices match' : 'Nothing on this page'}>{emptyHint}</EmptyState>
        ) : (
          <>
            <div className="table-wrap">
              <table className="table table-stack" aria-label="Devices" aria-busy={state.loading}>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Status</th>
                    <th scope="col">Last seen</th>
                    <th scope="col">Project</th>
                    <th scope="col">Tags</th>
                    <th scope="col">Firmware</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((d) => (
                    <tr key={d.id} data-device-id={d.id}>
                      <td data-label="Name">
                        <div>
                          <Link to={`/devices/${d.id}`} className="strong">
                            {d.name}
                          </Link>
                          {d.type && <div className="muted small">{d.type}</div>}
                        </div>
                      </td>
                      <td data-label="Status" data-testid="device-status">
                        <OnlineBadge online={d.status.online} active={d.status.active || d.status.lastSeenAt === null} />
                      </td>
                      <td data-label="Last seen">
                        <RelativeTime value={d.status.lastSeenAt} never="never seen" />
                      </td>
                      <td data-label="Project">
                        {d.projectId ? (
                          <Link to={`/projects/${d.projectId}`}>{projectNames?.get(d.projectId) ?? 'project'}</Link>
                        ) : (
                          <span className="muted">—</span>
                        )}
                      </td>
                      <td data-label="Tags">
                        <Tags tags={d.tags} />
                      </td>
                      <td data-label="Firmware">{d.firmwareVersion ?? <span className="muted">—</span>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pagination total={page.total} limit={page.limit} offset={page.offset} onChange={onOffsetChange} label="Device pages" />
          </>
        )
      }
    </Async>
  );
}
