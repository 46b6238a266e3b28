import { useSession } from '../../app/session';
import { Link } from '../../lib/router';
import { PageHeader, Section, usePageTitle } from '../../components/ui/page';
import { Async, EmptyState } from '../../components/ui/state-views';
import { useFleetOverview, FleetStats, MessageRate, RecentlySilent } from './fleet-stats';
import { useAlertFeed } from '../alerts/alert-feed';
import { AlertList } from '../alerts/alert-list';

export function FleetOverviewPage() {
  usePageTitle('Overview');
  const { org, can } = useSession();
  const overview = useFleetOverview();
  const { items } = useAlertFeed();

  return (
    <>
      <PageHeader title="Fleet overview" subtitle={org.name} />
      <Async state={overview} loadingLabel="Loading the fleet overview…">
        {(data) =>
          data.devices.total === 0 ? (
            <EmptyState title="No devices yet">
              {can.createDevices ? (
                <p>
                  <Link to="/devices?create=1" className="btn btn-primary">
                    Create your first device
                  </Link>
                </p>
              ) : (
                <p>An admin of this org can create devices.</p>
              )}
            </EmptyState>
          ) : (
            <>
              <FleetStats data={data} />
              <div className="grid-2">
                <MessageRate data={data} />
                <RecentlySilent data={data} />
              </div>
            </>
          )
        }
      </Async>
      <Section title="Live alerts" id="live-alerts" actions={<Link to="/alerts">All alerts</Link>}>
        {items.length === 0 ? (
          <EmptyState title="No new alerts">Alerts raised by devices appear here as they happen.</EmptyState>
        ) : (
          <AlertList alerts={items.slice(0, 5)} compact />
        )}
      </Section>
    </>
  );
}
