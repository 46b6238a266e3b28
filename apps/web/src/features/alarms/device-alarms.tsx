import type { Device } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { Link } from '../../lib/router';
import { Section } from '../../components/ui/page';
import { Async } from '../../components/ui/state-views';
import { useDeviceAlarmVersion } from './alarm-live';
import { AlarmTable } from './alarm-table';

/** The device's open alarms, with Acknowledge and Clear; read again when one of them changes. */
export function DeviceAlarms({ device }: { device: Device }) {
  const { client } = useSession();
  const version = useDeviceAlarmVersion(device.id);
  const state = useAsync(() => client.alarms.list({ deviceId: device.id, state: 'open', limit: 50 }), [client, device.id, version]);
  return (
    <Section title="Alarms" id="alarms" actions={<Link to={`/alarms?deviceId=${device.id}&state=all`}>All alarms of this device</Link>}>
      <Async state={state} loadingLabel="Loading alarms…">
        {(page) =>
          page.items.length === 0 ? (
            <p className="muted small" data-testid="device-alarms-empty">
              No open alarms. Alarms that <Link to="/alarms?tab=rules">rules</Link> raise for this device appear here live.
            </p>
          ) : (
            <div aria-live="polite" data-testid="device-alarms">
              <AlarmTable alarms={page.items} version={version} onChanged={state.reload} showDevice={false} label="Open alarms of this device" />
            </div>
          )
        }
      </Async>
    </Section>
  );
}
