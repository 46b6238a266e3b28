import { useMemo } from 'react';
import type { User } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';

/** The org's members (for "who did it" and the assignee picker) and a name lookup. */
export function useUserNames() {
  const { client } = useSession();
  const state = useAsync(() => client.users.list({ limit: 500 }), [client]);
  const users: User[] = useMemo(() => state.data?.items ?? [], [state.data]);
  const byId = useMemo(() => new Map(users.map((u) => [u.id, u.name || u.email])), [users]);
  const nameOf = (id: string | null, nobody = 'Tether') => (id === null ? nobody : (byId.get(id) ?? 'a former member'));
  return { users, nameOf };
}
