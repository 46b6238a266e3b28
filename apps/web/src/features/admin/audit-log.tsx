import { useState } from 'react';
import type { AuditEntry } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { formatDateTime } from '../../lib/time';
import { Section } from '../../components/ui/page';
import { Async, EmptyState } from '../../components/ui/state-views';

const LIMIT = 50;
/** Action families the server records; a value ending in a dot is a prefix. */
const ACTIONS = [
  'auth.',
  'user.',
  'api_key.',
  'org.',
  'project.',
  'device.',
  'config.',
  'command.',
  'template.',
  'rule.',
  'notification_target.',
  'deployment.',
];
const SINCE: Record<string, number | null> = { '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000, all: null };
const SINCE_LABEL: Record<string, string> = { '24h': 'Last 24 hours', '7d': 'Last 7 days', '30d': 'Last 30 days', all: 'Any time' };

function actorLabel(a: AuditEntry['actor']): string {
  if (a.kind === 'anonymous') return 'not signed in';
  if (a.kind === 'user') return a.name || a.email || 'a removed user';
  if (a.kind === 'api_key') return `API key ${a.name ?? '(removed)'}`;
  return `device ${a.id?.slice(0, 8) ?? ''}`;
}

/** `key: value` pairs of an entry's details, short values only. */
function detailsText(d: Record<string, unknown>): string {
  return Object.entries(d)
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
}

/**
 * Who did what, to what and from where in the org (admins): filtered by
 * action family, actor and time range, newest first, paged older and newer
 * with the server's cursor.
 */
export function AuditLog() {
  const { client } = useSession();
  const [action, setAction] = useState('');
  const [actor, setActor] = useState('');
  const [since, setSince] = useState('7d');
  // The cursors of the pages before this one: Newer pops, Older pushes.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [tick, setTick] = useState(0);
  const before = cursors[cursors.length - 1];
  const users = useAsync(() => client.users.list({ limit: 500 }), [client]);
  const state = useAsync(() => {
    const span = SINCE[since];
    return client.audit.list({
      limit: LIMIT,
      action: action || undefined,
      actor: actor || undefined,
      from: span ? new Date(Date.now() - span).toISOString() : undefined,
      before,
    });
  }, [client, action, actor, since, before, tick]);
  const refilter = (set: () => void) => {
    set();
    setCursors([undefined]);
  };

  return (
    <Section
      title="Audit log"
      id="audit"
      actions={
        <button type="button" className="btn btn-small" onClick={() => setTick((n) => n + 1)} disabled={state.loading}>
          Refresh<span className="visually-hidden"> the audit log</span>
        </button>
      }
    >
      <form className="filters" aria-label="Filter the audit log" onSubmit={(e) => e.preventDefault()}>
        <label className="field">
          <span>Action</span>
          <select value={action} onChange={(e) => refilter(() => setAction(e.target.value))}>
            <option value="">All actions</option>
            {ACTIONS.map((a) => (
              <option key={a} value={a}>
                {a}*
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Actor</span>
          <select value={actor} onChange={(e) => refilter(() => setActor(e.target.value))}>
            <option value="">Anyone</option>
            {(users.data?.items ?? []).map((u) => (
              <option key={u.id} value={u.id}>
                {u.name || u.email}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>When</span>
          <select value={since} onChange={(e) => refilter(() => setSince(e.target.value))}>
            {Object.keys(SINCE).map((k) => (
              <option key={k} value={k}>
                {SINCE_LABEL[k]}
              </option>
            ))}
          </select>
        </label>
      </form>
      <p className="muted small">Every write by a user or API key, and sign-ins (failed ones too). Secrets are never recorded.</p>
      <Async state={state} loadingLabel="Loading the audit log…">
        {(page) =>
          page.items.length === 0 ? (
            <EmptyState title="No entries">
              <p>Nothing recorded matches these filters.</p>
            </EmptyState>
          ) : (
            <>
              <div className="table-wrap">
                <table className="table table-stack" aria-label="Audit log" data-testid="audit-log">
                  <thead>
                    <tr>
                      <th scope="col">Time</th>
                      <th scope="col">Actor</th>
                      <th scope="col">Action</th>
                      <th scope="col">Target</th>
                      <th scope="col">IP</th>
                      <th scope="col">Details</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.items.map((e) => (
                      <tr key={e.id} data-action={e.action}>
                        <td data-label="Time" className="nowrap">
                          {formatDateTime(e.at)}
                        </td>
                        <td data-label="Actor">{actorLabel(e.actor)}</td>
                        <td data-label="Action">
                          <code>{e.action}</code>
                        </td>
                        <td data-label="Target">
                          <span>
                            {e.target.kind}
                            {e.target.id && <span className="muted small"> {e.target.id.slice(0, 8)}</span>}
                          </span>
                        </td>
                        <td data-label="IP">{e.ip ?? <span className="muted">—</span>}</td>
                        <td data-label="Details" className="payload">
                          {Object.keys(e.details).length ? <span className="small">{detailsText(e.details)}</span> : <span className="muted">—</span>}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <nav className="pagination" aria-label="Audit log pages">
                <button type="button" className="btn btn-small" disabled={cursors.length === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
                  Newer
                </button>
                <button
                  type="button"
                  className="btn btn-small"
                  disabled={!page.nextBefore}
                  onClick={() => setCursors((c) => [...c, page.nextBefore ?? undefined])}
                >
                  Older
                </button>
              </nav>
            </>
          )
        }
      </Async>
    </Section>
  );
}
