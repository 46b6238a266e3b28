import { useMemo } from 'react';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';

/** Every project of the org (for filters and pickers) and a name lookup. */
export function useProjects() {
  const { client } = useSession();
  const state = useAsync(() => client.projects.list({ limit: 500 }), [client]);
  const projects = useMemo(() => state.data?.items ?? [], [state.data]);
  const names = useMemo(() => new Map(projects.map((p) => [p.id, p.name])), [projects]);
  return { projects, names, state };
}
