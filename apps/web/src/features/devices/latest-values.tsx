import type { Device } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useLiveEvents, useLiveState } from '../../app/live';
import { useAsync } from '../../lib/use-async';
import { displayRangeFor, formatValue, outOfRangeNote, unitFor, type TelemetryKeySpec } from '../../lib/units';
import { Section } from '../../components/ui/page';
import { Async, EmptyState } from '../../components/ui/state-views';
import { RelativeTime } from '../../components/ui/relative-time';

type Latest = Record<string, { ts: string; value: unknown }>;

export function LatestValues({ device, specs }: { device: Device; specs?: readonly TelemetryKeySpec[] }) {
  const { client } = useSession();
  const { resumes } = useLiveState();
  const state = useAsync(async () => (await client.devices.latest(device.id)).values, [client, device.id, resumes]);
  const { setData } = state;

  useLiveEvents(null, (e) => {
    if (e.type !== 'telemetry' || e.deviceId !== device.id) return;
    setData((prev) => {
      const next: Latest = { ...prev };
      for (const p of e.points) {
        const cur = next[p.key];
        if (!cur || p.ts >= cur.ts) next[p.key] = { ts: p.ts, value: p.value };
      }
      return next;
    });
  });

  return (
    <Section title="Latest values" id="latest">
      <Async state={state} loadingLabel="Loading latest values…">
        {(values) => {
          const keys = Object.keys(values).sort();
          if (!keys.length)
            return (
              <EmptyState title="No readings yet">
                <p>Values appear here the moment the device publishes telemetry.</p>
              </EmptyState>
            );
          return (
            <dl className="latest">
              {keys.map((k) => {
                const v = values[k]!;
                const unit = unitFor(k, device.metadata, specs);
                const outside = outOfRangeNote(v.value, displayRangeFor(k, specs), unit);
                return (
                  <div key={k} className={outside ? 'latest-item latest-out-of-range' : 'latest-item'} data-testid={`latest-${k}`}>
                    <dt>{k}</dt>
                    <dd className="latest-value">{formatValue(v.value, unit)}</dd>
                    {outside && <dd className="latest-range-note small">{outside}</dd>}
                    <dd className="muted small">
                      <RelativeTime value={v.ts} />
                    </dd>
                  </div>
                );
              })}
            </dl>
          );
        }}
      </Async>
    </Section>
  );
}
