import { useState, type FormEvent } from 'react';
import type { AlarmDetail, AlarmHistoryEntry, User } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { formatDateTime } from '../../lib/time';
import { Async, describeError } from '../../components/ui/state-views';
import { isOpen } from './alarm-format';

const ACTION_TEXT: Record<AlarmHistoryEntry['action'], string> = {
  raised: 'raised',
  acknowledged: 'acknowledged',
  cleared: 'cleared',
  assigned: 'assigned',
  commented: 'commented',
  escalated: 'escalated (still unacknowledged)',
};

function describeEntry(h: AlarmHistoryEntry, nameOf: (id: string | null) => string): string {
  const who = h.userId === null ? 'Tether' : nameOf(h.userId);
  if (h.action === 'assigned') {
    const to = (h.details as { assigneeId?: string | null } | null)?.assigneeId;
    return to ? `${who} assigned it to ${nameOf(to)}` : `${who} unassigned it`;
  }
  const reason = (h.details as { reason?: string } | null)?.reason;
  return `${who} ${ACTION_TEXT[h.action]}${reason ? ` (${reason})` : ''}`;
}

function History({ alarm, nameOf }: { alarm: AlarmDetail; nameOf: (id: string | null) => string }) {
  return (
    <ol className="alarm-history" aria-label="History" data-testid="alarm-history">
      {alarm.history.map((h, i) => (
        <li key={i} className={`alarm-history-item alarm-history-${h.action}`}>
          <time dateTime={h.at} className="muted small nowrap">
            {formatDateTime(h.at)}
          </time>{' '}
          <span className="strong">{describeEntry(h, nameOf)}</span>
          {h.comment && <q className="alarm-comment">{h.comment}</q>}
        </li>
      ))}
    </ol>
  );
}

/** An alarm's history, with a comment box and an assignee picker for operators. */
export function AlarmDetailView({
  alarmId,
  version,
  users,
  nameOf,
  onChanged,
}: {
  alarmId: string;
  /** Read again when this changes (a live event). */
  version: number;
  users: User[];
  nameOf: (id: string | null) => string;
  onChanged(): void;
}) {
  const { client, can } = useSession();
  const state = useAsync(() => client.alarms.get(alarmId), [client, alarmId, version]);
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const run = async (act: () => Promise<AlarmDetail>) => {
    setBusy(true);
    setError(null);
    try {
      state.setData(await act());
      onChanged();
      return true;
    } catch (err) {
      setError(describeError(err));
      return false;
    } finally {
      setBusy(false);
    }
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (await run(() => client.alarms.comment(alarmId, comment.trim()))) setComment('');
  };

  return (
    <div className="alarm-detail">
      <Async state={state} loadingLabel="Loading history…">
        {(a) => (
          <>
            <History alarm={a} nameOf={nameOf} />
            {a.value !== null && a.value !== undefined && (
              <p className="muted small">
                Value that raised it, or last repeated it: <code>{JSON.stringify(a.value)}</code>
              </p>
            )}
            {error && (
              <p className="notice notice-error" role="alert">
                {error}
              </p>
            )}
            {can.handleAlarms && (
              <div className="alarm-detail-forms">
                <form className="inline-form" onSubmit={submit}>
                  <label className="field field-grow">
                    <span>Comment</span>
                    <input value={comment} maxLength={2000} onChange={(e) => setComment(e.target.value)} placeholder="What was done, or what to look at" />
                  </label>
                  <button type="submit" className="btn btn-small" disabled={busy || !comment.trim()}>
                    Add comment
                  </button>
                </form>
                {isOpen(a.state) && (
                  <label className="field">
                    <span>Assignee</span>
                    <select value={a.assigneeId ?? ''} disabled={busy} onChange={(e) => void run(() => client.alarms.assign(alarmId, e.target.value || null))}>
                      <option value="">Nobody</option>
                      {users.map((u) => (
                        <option key={u.id} value={u.id}>
                          {u.name || u.email}
                        </option>
                      ))}
                    </select>
                  </label>
                )}
              </div>
            )}
          </>
        )}
      </Async>
    </div>
  );
}
