import { useMemo, useState } from 'react';
import type { Device } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useLiveState } from '../../app/live';
import { useAsync } from '../../lib/use-async';
import { Section } from '../../components/ui/page';
import { Async, EmptyState } from '../../components/ui/state-views';
import { Pagination } from '../../components/ui/pagination';
import { Link } from '../../lib/router';
import { useAlertFeed } from '../alerts/alert-feed';
import { AlertList, type AlertRow } from '../alerts/alert-list';

const LIMIT = 20;

/** The device's alert history; alerts raised while the page is open are added on top. */
export function DeviceAlerts({ device }: { device: Device }) {
  const { client } = useSession();
  const { resumes } = useLiveState();
  const [offset, setOffset] = useState(0);
  const [openedAt] = useState(Date.now);
  const state = useAsync(() => client.alerts.list({ deviceId: device.id, limit: LIMIT, offset }), [client, device.id, offset, resumes]);
  const { items } = useAlertFeed();

  const fresh = useMemo(() => items.filter((a) => a.deviceId === device.id && a.arrivedAt >= openedAt), [items, device.id, openedAt]);
  const freshIds = useMemo(() => new Set(fresh.map((a) => a.id)), [fresh]);

  return (
    <Section title="Alerts" id="alerts" actions={<Link to={`/alerts?deviceId=${device.id}`}>Filter in alerts</Link>}>
      <Async state={state} loadingLabel="Loading alerts…">
        {(page) => {
          const history: AlertRow[] = page.items.filter((a) => !freshIds.has(a.id));
          const rows: AlertRow[] = offset === 0 ? [...fresh.map((a) => ({ ...a, deviceName: device.name })), ...history] : history;
          if (!rows.length)
            return (
              <EmptyState title="No alerts">
                <p>
                  Alerts the device publishes on <code>devices/{'{id}'}/alerts</code> appear here live.
                </p>
              </EmptyState>
            );
          return (
            <>
              <div aria-live="polite" data-testid="device-alerts">
                <AlertList alerts={rows} highlight={freshIds} showDevice={false} />
              </div>
              <Pagination total={page.total} limit={page.limit} offset={page.offset} onChange={setOffset} label="Alert pages" />
            </>
          );
        }}
      </Async>
    </Section>
  );
}
