import { lazy, Suspense } from 'react';
import { matchPath, useLocation, Link } from '../lib/router';
import { SessionProvider } from './session';
import { LiveProvider } from './live';
import { Layout } from './layout';
import { AlertFeedProvider } from '../features/alerts/alert-feed';
import { FleetOverviewPage } from '../features/fleet/fleet-overview-page';
import { DevicesPage } from '../features/devices/devices-page';
import { DevicePage } from '../features/devices/device-page';
import { AlertsPage } from '../features/alerts/alerts-page';
import { AlarmsPage } from '../features/alarms/alarms-page';
import { AlarmLiveProvider } from '../features/alarms/alarm-live';
import { ProjectsPage } from '../features/projects/projects-page';
import { ProjectPage } from '../features/projects/project-page';
import { Loading } from '../components/ui/state-views';
import { PageHeader, usePageTitle } from '../components/ui/page';
import { InvitationPage } from '../features/auth/invitation-page';
import { ResetPasswordPage } from '../features/auth/reset-password-page';

// Admin, OTA, the fleet map, fleet health, aliases, an alert's page and files are for few users or rarely visited: they load on demand (see on-demand-pages.ts).
const AdminPage = lazy(() => import('./on-demand-pages').then((m) => ({ default: m.AdminPage })));
const OtaRoutes = lazy(() => import('./on-demand-pages').then((m) => ({ default: m.OtaRoutes })));
const FleetMapPage = lazy(() => import('./on-demand-pages').then((m) => ({ default: m.FleetMapPage })));
const HealthPage = lazy(() => import('./on-demand-pages').then((m) => ({ default: m.HealthPage })));
const AliasRoutes = lazy(() => import('./on-demand-pages').then((m) => ({ default: m.AliasRoutes })));
const AlertPage = lazy(() => import('./on-demand-pages').then((m) => ({ default: m.AlertPage })));
const FilesPage = lazy(() => import('./on-demand-pages').then((m) => ({ default: m.FilesPage })));

function NotFound() {
  usePageTitle('Not found');
  return (
    <>
      <PageHeader title="Page not found" />
      <p>
        There is nothing at this address. <Link to="/">Go to the overview</Link>.
      </p>
    </>
  );
}

function Routes() {
  const { pathname } = useLocation();
  let m: Record<string, string> | null;
  if (pathname === '/') return <FleetOverviewPage />;
  if (pathname === '/devices') return <DevicesPage />;
  if ((m = matchPath('/devices/:id', pathname))) return <DevicePage key={m.id} id={m.id!} />;
  if (pathname === '/alerts') return <AlertsPage />;
  if ((m = matchPath('/alerts/:id', pathname))) return <AlertPage key={m.id} id={m.id!} />;
  if (pathname === '/files') return <FilesPage />;
  if (pathname === '/alarms') return <AlarmsPage />;
  if (pathname === '/projects') return <ProjectsPage />;
  if ((m = matchPath('/projects/:id', pathname))) return <ProjectPage key={m.id} id={m.id!} />;
  if (/^\/(firmware|fleets|deployments)(\/|$)/.test(pathname)) return <OtaRoutes pathname={pathname} notFound={<NotFound />} />;
  if (pathname === '/map') return <FleetMapPage />;
  if (pathname === '/health') return <HealthPage />;
  if (/^\/aliases(\/|$)/.test(pathname)) return <AliasRoutes pathname={pathname} notFound={<NotFound />} />;
  if (pathname === '/admin') return <AdminPage />;
  return <NotFound />;
}

export function App() {
  const { pathname } = useLocation();
  // The links in invitation and password-reset e-mails: they work signed out, or signed in as someone else.
  if (pathname === '/invite') return <InvitationPage />;
  if (pathname === '/reset-password') return <ResetPasswordPage />;
  return (
    <SessionProvider>
      <LiveProvider>
        <AlertFeedProvider>
          <AlarmLiveProvider>
            <Layout>
              <Suspense fallback={<Loading />}>
                <Routes />
              </Suspense>
            </Layout>
          </AlarmLiveProvider>
        </AlertFeedProvider>
      </LiveProvider>
    </SessionProvider>
  );
}
