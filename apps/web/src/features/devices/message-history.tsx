import { useEffect, useRef, useState } from 'react';
import type { Device } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useLiveEvents, useLiveState } from '../../app/live';
import { useAsync } from '../../lib/use-async';
import { formatDateTime, formatDateTimeZone } from '../../lib/time';
import { Section } from '../../components/ui/page';
import { Async, EmptyState, describeError } from '../../components/ui/state-views';

const LIMIT = 50;
const CHANNELS = ['telemetry', 'alerts', 'heartbeat', 'location', 'attributes'];

type Message = { receivedAt: string; channel: string; transport: string; payload: unknown };

function Payload({ payload }: { payload: unknown }) {
  const text = JSON.stringify(payload);
  if (text.length <= 160) return <code className="payload">{text}</code>;
  return (
    <details>
      <summary>
        <code className="payload">{text.slice(0, 120)}…</code>
      </summary>
      <pre className="code">{JSON.stringify(payload, null, 2)}</pre>
    </details>
  );
}

/** The raw messages as received (seed 002), newest first, refreshed as new ones arrive. */
export function MessageHistory({ device }: { device: Device }) {
  const { client } = useSession();
  const { resumes } = useLiveState();
  const [channel, setChannel] = useState('');
  const [older, setOlder] = useState<Message[]>([]);
  const [olderState, setOlderState] = useState<{ busy: boolean; error: string | null; done: boolean }>({ busy: false, error: null, done: false });
  const state = useAsync(async () => {
    const r = await client.devices.messages(device.id, { limit: LIMIT, channel: channel || undefined });
    return r.items;
  }, [client, device.id, channel, resumes]);
  const { reload } = state;

  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => void (timer.current && clearTimeout(timer.current)), []);
  const [hasNew, setHasNew] = useState(false);
  useLiveEvents(null, (e) => {
    // Only what the device sends is a message; status and command events are not.
    if (e.deviceId !== device.id || e.type === 'status' || e.type === 'command' || timer.current) return;
    // While older pages are open, a refresh would leave a gap: offer it instead.
    if (older.length) return setHasNew(true);
    timer.current = setTimeout(() => {
      timer.current = null;
      reload();
    }, 1000);
  });

  const resetOlder = () => {
    setOlder([]);
    setOlderState({ busy: false, error: null, done: false });
    setHasNew(false);
  };
  useEffect(resetOlder, [channel, device.id]);

  const loadOlder = async (oldest: string) => {
    setOlderState((s) => ({ ...s, busy: true, error: null }));
    try {
      const r = await client.devices.messages(device.id, { limit: LIMIT, channel: channel || undefined, to: new Date(Date.parse(oldest) - 1).toISOString() });
      setOlder((o) => [...o, ...r.items]);
      setOlderState({ busy: false, error: null, done: r.items.length < LIMIT });
    } catch (err) {
      setOlderState({ busy: false, error: describeError(err), done: false });
    }
  };

  return (
    <Section
      title="Message history"
      id="messages"
      actions={
        <label className="field field-inline">
          <span>Channel</span>
          <select value={channel} onChange={(e) => setChannel(e.target.value)}>
            <option value="">All</option>
            {CHANNELS.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
      }
    >
      {hasNew && (
        <p className="notice">
          New messages arrived.{' '}
          <button
            type="button"
            className="btn btn-small"
            onClick={() => {
              resetOlder();
              reload();
            }}
          >
            Show newest
          </button>
        </p>
      )}
      <Async state={state} loadingLabel="Loading messages…">
        {(latest) => {
          const rows = [...latest, ...older];
          if (!rows.length)
            return (
              <EmptyState title="No messages">
                <p>Every message the device sends is kept here as received, for {channel ? `the ${channel} channel` : 'all channels'}.</p>
              </EmptyState>
            );
          const oldest = rows[rows.length - 1]!.receivedAt;
          return (
            <>
              <div className="table-wrap">
                <table className="table table-stack" aria-label="Raw messages">
                  <thead>
                    <tr>
                      <th scope="col">Received</th>
                      <th scope="col">Channel</th>
                      <th scope="col">Transport</th>
                      <th scope="col">Payload</th>
                    </tr>
                  </thead>
                  <tbody>
                    {rows.map((m, i) => (
                      <tr key={`${m.receivedAt}-${i}`}>
                        <td data-label="Received" className="nowrap">
                          <time dateTime={m.receivedAt} title={formatDateTimeZone(m.receivedAt)}>
                            {formatDateTime(m.receivedAt)}
                          </time>
                        </td>
                        <td data-label="Channel">{m.channel}</td>
                        <td data-label="Transport">{m.transport}</td>
                        <td data-label="Payload" className="payload-cell">
                          <Payload payload={m.payload} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {olderState.error && (
                <p className="notice notice-error" role="alert">
                  {olderState.error}
                </p>
              )}
              {latest.length >= LIMIT && !olderState.done && (
                <button type="button" className="btn" disabled={olderState.busy} onClick={() => loadOlder(oldest)}>
                  {olderState.busy ? 'Loading…' : 'Load older messages'}
                </button>
              )}
            </>
          );
        }}
      </Async>
    </Section>
  );
}
