import { useEffect, useRef, useState } from 'react';
import type { Device, ResponseOf } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useLiveEvents, useLiveState } from '../../app/live';
import { useAsync } from '../../lib/use-async';
import { formatDateTime, formatDateTimeZone } from '../../lib/time';
import { Section } from '../../components/ui/page';
import { Async, EmptyState, describeError } from '../../components/ui/state-views';

const LIMIT = 50;
const CHANNELS = ['telemetry', 'alerts', 'heartbeat', 'location', 'attributes'] as const;
type Channel = (typeof CHANNELS)[number];

type Messages = ResponseOf<'/api/v1/devices/{id}/messages', 'get'>;
type Message = Messages['items'][number];

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
  const [channel, setChannel] = useState<Channel | ''>('');
  const [older, setOlder] = useState<Message[]>([]);
  /** The cursor of the oldest page loaded so far; null once there is nothing older. */
  const [olderState, setOlderState] = useState<{ busy: boolean; error: string | null; cursor: string | null | undefined }>({
    busy: false,
    error: null,
    cursor: undefined,
  });
  const state = useAsync(() => client.devices.messages(device.id, { limit: LIMIT, channel: channel || undefined }), [client, device.id, channel, resumes]);
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
    setOlderState({ busy: false, error: null, cursor: undefined });
    setHasNew(false);
  };
  useEffect(resetOlder, [channel, device.id]);

  // The server's cursor, not the oldest time shown: a burst holds many messages per millisecond.
  const loadOlder = async (before: string) => {
    setOlderState((s) => ({ ...s, busy: true, error: null }));
    try {
      const r = await client.devices.messages(device.id, { limit: LIMIT, channel: channel || undefined, before });
      setOlder((o) => [...o, ...r.items]);
      setOlderState({ busy: false, error: null, cursor: r.truncated?.before ?? null });
    } catch (err) {
      setOlderState((s) => ({ ...s, busy: false, error: describeError(err) }));
    }
  };

  return (
    <Section
      title="Message history"
      id="messages"
      actions={
        <label className="field field-inline">
          <span>Channel</span>
          <select value={channel} onChange={(e) => setChannel(e.target.value as Channel | '')}>
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
          const rows = [...latest.items, ...older];
          const next = olderState.cursor === undefined ? (latest.truncated?.before ?? null) : olderState.cursor;
          if (!rows.length)
            return (
              <EmptyState title="No messages">
                <p>Every message the device sends is kept here as received, for {channel ? `the ${channel} channel` : 'all channels'}.</p>
              </EmptyState>
            );
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
              {next && (
                <button type="button" className="btn" disabled={olderState.busy} onClick={() => loadOlder(next)}>
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
