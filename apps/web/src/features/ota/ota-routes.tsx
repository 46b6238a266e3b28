/** The OTA pages' routes; loaded on demand with Admin (app/on-demand-pages.ts). */
import type { ReactNode } from 'react';
import { matchPath } from '../../lib/router';
import { FirmwarePage } from './firmware-page';
import { FleetsPage } from './fleets-page';
import { FleetPage } from './fleet-page';
import { DeploymentsPage } from './deployments-page';
import { DeploymentNewPage } from './deployment-new-page';
import { DeploymentPage } from './deployment-page';

/** /firmware, /fleets[/new|/:id], /deployments[/new|/:id]; `notFound` for any other path. */
export function OtaRoutes({ pathname, notFound }: { pathname: string; notFound: ReactNode }) {
  let m: Record<string, string> | null;
  if (pathname === '/firmware') return <FirmwarePage />;
  if (pathname === '/fleets') return <FleetsPage />;
  if (pathname === '/fleets/new') return <FleetPage key="new" id={null} />;
  if ((m = matchPath('/fleets/:id', pathname))) return <FleetPage key={m.id} id={m.id!} />;
  if (pathname === '/deployments') return <DeploymentsPage />;
  if (pathname === '/deployments/new') return <DeploymentNewPage />;
  if ((m = matchPath('/deployments/:id', pathname))) return <DeploymentPage key={m.id} id={m.id!} />;
  return notFound;
}
