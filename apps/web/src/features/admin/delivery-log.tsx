import { useEffect, useMemo, useState } from 'react';
import type { NotificationDelivery } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { formatDateTime } from '../../lib/time';
import { Section } from '../../components/ui/page';
import { Async, EmptyState, describeError } from '../../components/ui/state-views';
import { Pagination } from '../../components/ui/pagination';

const LIMIT = 25;
const STATUS_CLASS: Record<NotificationDelivery['status'], string> = {
  pending: 'badge',
  delivered: 'badge badge-online',
  failed: 'badge sev-critical',
  summarised: 'badge',
};

/**
 * Every notification sent (or being retried), newest first, with a Replay on
 * failed ones. Deliveries run in the background: the log is read again when
 * `version` changes (a test or replay was queued), once more a moment later,
 * and on Refresh.
 */
export function DeliveryLog({ version, onQueued }: { version: number; onQueued(): void }) {
  const { client, can } = useSession();
  const [status, setStatus] = useState('');
  const [offset, setOffset] = useState(0);
  const [tick, setTick] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const targets = useAsync(() => client.notificationTargets.list(), [client, version]);
  const names = useMemo(() => new Map((targets.data?.items ?? []).map((t) => [t.id, t.name])), [targets.data]);
  const state = useAsync(
    () => client.notificationDeliveries.list({ status: status || undefined, limit: LIMIT, offset }),
    [client, status, offset, version, tick],
  );

  // A delivery just queued is usually done within a second or two: look once more then.
  useEffect(() => {
    if (version === 0) return;
    const t = setTimeout(() => setTick((n) => n + 1), 2000);
    return () => clearTimeout(t);
  }, [version]);

  const replay = async (d: NotificationDelivery) => {
    setError(null);
    try {
      await client.notificationDeliveries.replay(d.id);
      onQueued();
    } catch (err) {
      setError(describeError(err));
    }
  };

  return (
    <Section
      title="Delivery log"
      id="deliveries"
      actions={
        <>
          <label className="field field-inline">
            <span>Status</span>
            <select
              value={status}
              onChange={(e) => {
                setStatus(e.target.value);
                setOffset(0);
              }}
            >
              <option value="">All</option>
              <option value="pending">pending</option>
              <option value="delivered">delivered</option>
              <option value="failed">failed</option>
            </select>
          </label>
          <button type="button" className="btn btn-small" onClick={() => setTick((n) => n + 1)} disabled={state.loading}>
            Refresh<span className="visually-hidden"> the delivery log</span>
          </button>
        </>
      }
    >
      <p className="muted small">
        A failed delivery is retried with backoff (10 retries over about 30 minutes); Replay sends it again now, with fresh retries.
      </p>
      {error && (
        <p className="notice notice-error" role="alert">
          {error}
        </p>
      )}
      <Async state={state} loadingLabel="Loading deliveries…">
        {(page) =>
          page.items.length === 0 ? (
            <EmptyState title="No deliveries">
              <p>Raises and clears of rules with targets, and tests, are logged here.</p>
            </EmptyState>
          ) : (
            <>
              <div className="table-wrap">
                <table className="table table-stack" aria-label="Notification deliveries" data-testid="delivery-log">
                  <thead>
                    <tr>
                      <th scope="col">Time</th>
                      <th scope="col">Target</th>
                      <th scope="col">Event</th>
                      <th scope="col">Status</th>
                      <th scope="col" className="num">
                        Attempts
                      </th>
                      <th scope="col">Last answer</th>
                      <th scope="col">
                        <span className="visually-hidden">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.items.map((d) => (
                      <tr key={d.id} data-status={d.status}>
                        <td data-label="Time" className="nowrap">
                          {formatDateTime(d.createdAt)}
                        </td>
                        <td data-label="Target">{d.targetId ? (names.get(d.targetId) ?? '…') : <span className="muted">deleted</span>}</td>
                        <td data-label="Event">
                          <code>{d.event}</code>
                        </td>
                        <td data-label="Status">
                          <span className={STATUS_CLASS[d.status]}>{d.status}</span>
                          {d.deliveredAt && <span className="muted small"> {formatDateTime(d.deliveredAt)}</span>}
                        </td>
                        <td data-label="Attempts" className="num">
                          {d.attempts}
                        </td>
                        <td data-label="Last answer" className="payload">
                          {d.lastStatusCode !== null && <code>{d.lastStatusCode}</code>} {d.lastError && <span className="muted small">{d.lastError}</span>}
                          {d.lastStatusCode === null && !d.lastError && <span className="muted">—</span>}
                        </td>
                        <td data-label="Actions">
                          {d.status === 'failed' && can.manageNotificationTargets && (
                            <button type="button" className="btn btn-small" onClick={() => void replay(d)}>
                              Replay<span className="visually-hidden"> delivery of {d.event}</span>
                            </button>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <Pagination total={page.total} limit={page.limit} offset={page.offset} onChange={setOffset} label="Delivery pages" />
            </>
          )
        }
      </Async>
    </Section>
  );
}
