/** The stream alias pages' routes; loaded on demand (app/on-demand-pages.ts). */
import type { ReactNode } from 'react';
import { matchPath } from '../../lib/router';
import { AliasesPage } from './aliases-page';
import { AliasPage } from './alias-page';

/** /aliases, /aliases/new, /aliases/:id; `notFound` for any other path. */
export function AliasRoutes({ pathname, notFound }: { pathname: string; notFound: ReactNode }) {
  let m: Record<string, string> | null;
  if (pathname === '/aliases') return <AliasesPage />;
  if (pathname === '/aliases/new') return <AliasPage key="new" id={null} />;
  if ((m = matchPath('/aliases/:id', pathname))) return <AliasPage key={m.id} id={m.id!} />;
  return notFound;
}
