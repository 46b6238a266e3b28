import { lazy, Suspense, useEffect, useMemo, useRef, useState } from 'react';
import type { ResponseOf, TetherClient } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useLiveEvents, useLiveState } from '../../app/live';
import { useAsync } from '../../lib/use-async';
import { Link, useSearchParams } from '../../lib/router';
import { PageHeader, Section, usePageTitle } from '../../components/ui/page';
import { Async, EmptyState, Loading } from '../../components/ui/state-views';
import { OnlineBadge } from '../../components/ui/badges';
import { RelativeTime } from '../../components/ui/relative-time';
import { useProjects } from '../devices/use-projects';
import type { FleetPosition } from './fleet-map';

const FleetMap = lazy(() => import('./maps').then((m) => ({ default: m.FleetMap })));

type Positions = ResponseOf<'/api/v1/locations/latest', 'get'>;
/** Pages of 5,000 up to this many devices; a bigger fleet is shown in part, and says so. */
const MAX_DEVICES = 50_000;
/** The list under the map shows the most recently moved; the map shows all. */
const LIST_ROWS = 50;

async function loadPositions(client: TetherClient, projectId: string | null): Promise<{ items: FleetPosition[]; capped: boolean }> {
  const items: FleetPosition[] = [];
  let after: string | null = null;
  do {
    const page: Positions = await client.request<Positions>('GET', '/api/v1/locations/latest', undefined, {
      limit: 5000,
      ...(projectId ? { projectId } : {}),
      ...(after ? { after } : {}),
    });
    items.push(...page.items);
    after = page.next;
  } while (after && items.length < MAX_DEVICES);
  return { items, capped: after !== null };
}

/** The fleet map: where every device was last, clustered, following new positions and status live. */
export function FleetMapPage() {
  usePageTitle('Map');
  const { client } = useSession();
  const { resumes } = useLiveState();
  const { projects } = useProjects();
  const [params, setParams] = useSearchParams();
  const projectId = params.get('project') || null;
  const state = useAsync(() => loadPositions(client, projectId), [client, projectId, resumes]);

  // Positions by device, changed in place by live events; `version` tells the map and list.
  const positions = useRef(new Map<string, FleetPosition>());
  const [version, setVersion] = useState(0);
  useEffect(() => {
    if (!state.data) return;
    positions.current = new Map(state.data.items.map((p) => [p.id, p]));
    setVersion((v) => v + 1);
  }, [state.data]);

  const frame = useRef<number | null>(null);
  useEffect(() => () => void (frame.current && cancelAnimationFrame(frame.current)), []);
  const changed = () => {
    // A burst of events makes one redraw.
    frame.current ??= requestAnimationFrame(() => {
      frame.current = null;
      setVersion((v) => v + 1);
    });
  };
  const { reload } = state;
  const pendingReload = useRef(false);
  useLiveEvents(projectId ? { project: projectId, channels: ['locations', 'status'] } : { channels: ['locations', 'status'] }, (e) => {
    const map = positions.current;
    if (e.type === 'location') {
      const p = map.get(e.deviceId);
      if (!p) {
        // A device's first position: its name and status come with the next read.
        if (!pendingReload.current) {
          pendingReload.current = true;
          setTimeout(() => {
            pendingReload.current = false;
            reload();
          }, 1000);
        }
        return;
      }
      if (Date.parse(e.location.ts) < Date.parse(p.at)) return;
      map.set(e.deviceId, { ...p, lat: e.location.lat, lon: e.location.lon, at: e.location.ts });
      changed();
    } else if (e.type === 'status') {
      const p = map.get(e.deviceId);
      if (!p) return;
      map.set(e.deviceId, { ...p, online: e.online, lastSeenAt: e.lastSeenAt });
      changed();
    }
  });

  const recent = useMemo(() => [...positions.current.values()].sort((a, b) => b.at.localeCompare(a.at)).slice(0, LIST_ROWS), [version]);
  const total = positions.current.size;
  const online = useMemo(() => [...positions.current.values()].filter((p) => p.online).length, [version]);

  return (
    <>
      <PageHeader
        title="Map"
        subtitle="Where every device was last, updated live. Zoom in to split a cluster; click a device for its status and page."
        actions={
          <label className="field field-inline">
            <span>Project</span>
            <select value={projectId ?? ''} onChange={(e) => setParams({ project: e.target.value || null })}>
              <option value="">All projects</option>
              {projects.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          </label>
        }
      />
      <Async state={state} loadingLabel="Loading positions…">
        {(data) =>
          data.items.length === 0 && total === 0 ? (
            <EmptyState title="No device has reported a position">
              <p>
                Devices that publish to <code>devices/{'{id}'}/location</code> (or POST <code>/api/v1/device/location</code>) appear on this map.
              </p>
            </EmptyState>
          ) : (
            <>
              <p className="muted" data-testid="map-summary" aria-live="polite">
                <strong>{total.toLocaleString()}</strong> {total === 1 ? 'device' : 'devices'} on the map · {online.toLocaleString()} online
                {data.capped && ` · the first ${MAX_DEVICES.toLocaleString()} only`}
              </p>
              <Suspense fallback={<Loading label="Loading map…" />}>
                <FleetMap positions={positions.current} version={version} label={`Map of ${total} devices`} />
              </Suspense>
              <Section title="Latest positions" id="map-devices">
                <div className="table-wrap">
                  <table className="table table-stack" aria-label="Latest positions">
                    <thead>
                      <tr>
                        <th scope="col">Device</th>
                        <th scope="col">Status</th>
                        <th scope="col">Position</th>
                        <th scope="col">At</th>
                      </tr>
                    </thead>
                    <tbody>
                      {recent.map((p) => (
                        <tr key={p.id} data-device-id={p.id}>
                          <td data-label="Device">
                            <Link to={`/devices/${p.id}`}>{p.name}</Link>
                          </td>
                          <td data-label="Status">
                            <OnlineBadge online={p.online} />
                          </td>
                          <td data-label="Position" className="mono" data-testid="position">
                            {p.lat.toFixed(5)}, {p.lon.toFixed(5)}
                          </td>
                          <td data-label="At">
                            <RelativeTime value={p.at} />
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
                {total > recent.length && (
                  <p className="muted small">
                    The {recent.length} that moved last of {total.toLocaleString()}.
                  </p>
                )}
              </Section>
            </>
          )
        }
      </Async>
    </>
  );
}
