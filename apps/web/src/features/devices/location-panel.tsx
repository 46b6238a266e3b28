import { lazy, Suspense, useMemo, useState } from 'react';
import type { Device } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useLiveEvents, useLiveState } from '../../app/live';
import { useAsync } from '../../lib/use-async';
import { Section } from '../../components/ui/page';
import { Async, EmptyState, Loading } from '../../components/ui/state-views';
import { RelativeTime } from '../../components/ui/relative-time';
import { intervalParam, resolveRange, type RangeSelection } from '../../lib/telemetry-range';
import type { MapPoint } from './device-map';
import { RangePicker } from './range-picker';
import { MAX_TRACK, trackQuery } from './track-range';

const DeviceMap = lazy(() => import('../locations/maps').then((m) => ({ default: m.DeviceMap })));

/** The device's position and its track over a chosen range (the last 24 h at first), when it reports locations. */
export function LocationPanel({ device }: { device: Device }) {
  const { client } = useSession();
  const { resumes } = useLiveState();
  const [selection, setSelection] = useState<RangeSelection>({ kind: 'preset', preset: '24h' });
  const range = useMemo(() => resolveRange(selection), [selection]);
  const state = useAsync(async () => {
    const r = await client.devices.locations(device.id, trackQuery(resolveRange(selection)));
    return {
      points: r.items.map((i): MapPoint => ({ lat: i.lat, lon: i.lon, ts: i.ts })),
      capped: r.truncated !== null,
      interval: r.interval,
      // The range these points are of: while another range loads, the last one's points stay on show, described as what they are.
      selection,
    };
  }, [client, device.id, selection, resumes]);
  const { setData } = state;

  useLiveEvents(null, (e) => {
    // A live range follows the device; a past one stays as it was.
    if (e.type !== 'location' || e.deviceId !== device.id || !range.live) return;
    const p: MapPoint = { lat: e.location.lat, lon: e.location.lon, ts: e.location.ts };
    setData((prev) => {
      const points = [...(prev?.points ?? []), p];
      return {
        points: points.slice(-MAX_TRACK),
        capped: (prev?.capped ?? false) || points.length > MAX_TRACK,
        interval: prev?.interval ?? null,
        selection: prev?.selection ?? selection,
      };
    });
  });

  // Without a track in a live window, the last known position still deserves a pin.
  const track = useMemo(() => {
    const items = state.data?.points ?? [];
    if (items.length || !device.location || !range.live) return items;
    return [{ lat: device.location.lat, lon: device.location.lon, ts: device.location.at }];
  }, [state.data, device.location, range.live]);
  const last = track[track.length - 1];

  const span = describeSpan(state.data?.selection ?? selection);
  const detail = state.data?.interval
    ? `${track.length} points, the last of each ${intervalParam(state.data.interval)}, ${span}`
    : state.data?.capped
      ? `the last ${track.length} points ${span}`
      : `${track.length} points ${span}`;

  return (
    <Section title="Location" id="location">
      <RangePicker value={selection} onChange={setSelection} />
      <Async state={state} loadingLabel="Loading locations…">
        {() =>
          !last ? (
            <EmptyState title={range.live ? 'No location reported' : 'No location in this range'}>
              <p>
                Devices that publish to <code>devices/{'{id}'}/location</code> are shown on a map here.
              </p>
            </EmptyState>
          ) : (
            <>
              <p data-testid="location-text">
                {last.lat.toFixed(5)}, {last.lon.toFixed(5)} · <RelativeTime value={last.ts} />{' '}
                {track.length > 1 && (
                  <span className="muted" data-testid="track-detail">
                    · {detail}
                  </span>
                )}
              </p>
              <Suspense fallback={<Loading label="Loading map…" />}>
                <DeviceMap view={JSON.stringify(selection)} track={track} label={`${device.name} at ${last.lat.toFixed(5)}, ${last.lon.toFixed(5)}`} />
              </Suspense>
            </>
          )
        }
      </Async>
    </Section>
  );
}

function describeSpan(s: RangeSelection): string {
  if (s.kind === 'custom') return 'in the chosen window';
  return { '15m': 'in the last 15 min', '1h': 'in the last hour', '24h': 'in the last 24 h', '7d': 'in the last 7 days' }[s.preset];
}
