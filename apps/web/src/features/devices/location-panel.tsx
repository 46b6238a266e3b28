import { lazy, Suspense, useMemo } from 'react';
import type { Device } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useLiveEvents, useLiveState } from '../../app/live';
import { useAsync } from '../../lib/use-async';
import { Section } from '../../components/ui/page';
import { Async, EmptyState, Loading } from '../../components/ui/state-views';
import { RelativeTime } from '../../components/ui/relative-time';
import type { MapPoint } from './device-map';

const DeviceMap = lazy(() => import('./device-map'));
const MAX_TRACK = 2000;

/** The device's position and its track over the last 24 h, when it reports locations. */
export function LocationPanel({ device }: { device: Device }) {
  const { client } = useSession();
  const { resumes } = useLiveState();
  const state = useAsync(async () => {
    const r = await client.devices.locations(device.id, { limit: MAX_TRACK });
    return { points: r.items.map((i): MapPoint => ({ lat: i.lat, lon: i.lon, ts: i.ts })), capped: r.truncated !== null };
  }, [client, device.id, resumes]);
  const { setData } = state;

  useLiveEvents(null, (e) => {
    if (e.type !== 'location' || e.deviceId !== device.id) return;
    const p: MapPoint = { lat: e.location.lat, lon: e.location.lon, ts: e.location.ts };
    setData((prev) => {
      const points = [...(prev?.points ?? []), p];
      return { points: points.slice(-MAX_TRACK), capped: (prev?.capped ?? false) || points.length > MAX_TRACK };
    });
  });

  // Without a track in the window, the last known position still deserves a pin.
  const track = useMemo(() => {
    const items = state.data?.points ?? [];
    if (items.length || !device.location) return items;
    return [{ lat: device.location.lat, lon: device.location.lon, ts: device.location.at }];
  }, [state.data, device.location]);
  const last = track[track.length - 1];

  return (
    <Section title="Location" id="location">
      <Async state={state} loadingLabel="Loading locations…">
        {() =>
          !last ? (
            <EmptyState title="No location reported">
              <p>
                Devices that publish to <code>devices/{'{id}'}/location</code> are shown on a map here.
              </p>
            </EmptyState>
          ) : (
            <>
              <p data-testid="location-text">
                {last.lat.toFixed(5)}, {last.lon.toFixed(5)} · <RelativeTime value={last.ts} />{' '}
                {track.length > 1 && (
                  <span className="muted">
                    · {state.data?.capped ? `the last ${track.length} points of the last 24 h` : `${track.length} points in the last 24 h`}
                  </span>
                )}
              </p>
              <Suspense fallback={<Loading label="Loading map…" />}>
                <DeviceMap track={track} label={`${device.name} at ${last.lat.toFixed(5)}, ${last.lon.toFixed(5)}`} />
              </Suspense>
            </>
          )
        }
      </Async>
    </Section>
  );
}
