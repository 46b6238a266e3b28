import { useId, useState, type FormEvent } from 'react';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { formatDateTime, formatDateTimeZone } from '../../lib/time';
import { Section } from '../../components/ui/page';
import { Async, EmptyState, describeError } from '../../components/ui/state-views';
import { addNote, deleteNote, listNotes, NOTE_MAX, type EntityRef, type Note } from './metadata';

/**
 * Timestamped notes with their author: a log of what was done and why. On a
 * device a note may be about one stream (a telemetry key), e.g. "sensor moved".
 */
export function NotesPanel({ entity, streams = [] }: { entity: EntityRef; streams?: string[] }) {
  const { client, can, user, role } = useSession();
  const id = useId();
  const state = useAsync(() => listNotes(client, entity), [client, entity.kind, entity.id]);
  const [body, setBody] = useState('');
  const [stream, setStream] = useState('');
  const [filter, setFilter] = useState('');
  const [status, setStatus] = useState<{ kind: 'idle' | 'saving' } | { kind: 'done' | 'error'; message: string }>({ kind: 'idle' });

  const add = async (e: FormEvent) => {
    e.preventDefault();
    if (!body.trim()) return;
    setStatus({ kind: 'saving' });
    try {
      const note = await addNote(client, entity, { body: body.trim(), ...(stream ? { streamKey: stream } : {}) });
      state.setData((prev) => ({ items: [note, ...(prev?.items ?? [])] }));
      setBody('');
      setStatus({ kind: 'done', message: 'Note added.' });
    } catch (err) {
      setStatus({ kind: 'error', message: describeError(err) });
    }
  };
  const remove = async (n: Note) => {
    setStatus({ kind: 'saving' });
    try {
      await deleteNote(client, n.id);
      state.setData((prev) => prev && { items: prev.items.filter((x) => x.id !== n.id) });
      setStatus({ kind: 'done', message: 'Note deleted.' });
    } catch (err) {
      setStatus({ kind: 'error', message: describeError(err) });
    }
  };

  const streamKeys = [...new Set([...streams, ...(state.data?.items.map((n) => n.streamKey).filter((k): k is string => Boolean(k)) ?? [])])].sort();

  return (
    <Section
      title="Notes"
      id="notes"
      actions={
        entity.kind === 'device' &&
        streamKeys.length > 0 && (
          <div className="field field-inline">
            <label htmlFor={`${id}-filter`}>Show</label>
            <select id={`${id}-filter`} value={filter} onChange={(e) => setFilter(e.target.value)}>
              <option value="">All notes</option>
              <option value="-">About the device</option>
              {streamKeys.map((k) => (
                <option key={k} value={k}>
                  About {k}
                </option>
              ))}
            </select>
          </div>
        )
      }
    >
      {can.editMetadata ? (
        <form className="form note-form" onSubmit={add} aria-label="Add a note">
          <label className="field">
            <span>New note</span>
            <textarea
              name="note"
              rows={2}
              maxLength={NOTE_MAX}
              value={body}
              onChange={(e) => setBody(e.target.value)}
              placeholder="Replaced the sensor; readings before 14:00 are off by 2 °C."
              className="note-input"
            />
          </label>
          <div className="form-actions">
            {entity.kind === 'device' && (
              <div className="field field-inline note-about">
                <label htmlFor={`${id}-stream`}>About</label>
                <select id={`${id}-stream`} name="stream" value={stream} onChange={(e) => setStream(e.target.value)} aria-describedby={`${id}-about`}>
                  <option value="">the whole device</option>
                  {streamKeys.map((k) => (
                    <option key={k} value={k}>
                      stream: {k}
                    </option>
                  ))}
                </select>
                <small id={`${id}-about`} className="visually-hidden">
                  A stream is one telemetry key of the device.
                </small>
              </div>
            )}
            <span aria-live="polite" className={status.kind === 'error' ? 'field-error' : 'muted small'}>
              {status.kind === 'done' || status.kind === 'error' ? status.message : ''}
            </span>
            <button type="submit" className="btn btn-primary" disabled={status.kind === 'saving' || !body.trim()}>
              Add note
            </button>
          </div>
        </form>
      ) : (
        <p className="muted small">You have the {role} role: operators and above can add notes.</p>
      )}
      <Async state={state} loadingLabel="Loading notes…">
        {({ items }) => {
          const shown = filter === '' ? items : items.filter((n) => (filter === '-' ? !n.streamKey : n.streamKey === filter));
          if (!shown.length)
            return (
              <EmptyState title={items.length ? 'No notes about this' : 'No notes yet'}>
                <p>Notes keep a log of what was done, by whom, and when.</p>
              </EmptyState>
            );
          return (
            <ol className="notes" aria-label="Notes, newest first">
              {shown.map((n) => (
                <li key={n.id} className="note" data-testid="note">
                  <div className="note-meta small">
                    <strong>{n.author.name}</strong>{' '}
                    <time className="muted" dateTime={n.createdAt} title={formatDateTimeZone(n.createdAt)}>
                      {formatDateTime(n.createdAt)}
                    </time>
                    {n.streamKey && <span className="badge note-stream">on {n.streamKey}</span>}
                    {(n.author.id === user.id || can.deleteAnyNote) && (
                      <button type="button" className="btn btn-small btn-ghost note-delete" onClick={() => remove(n)} disabled={status.kind === 'saving'}>
                        Delete
                        <span className="visually-hidden">
                          {' '}
                          the note by {n.author.name} from {formatDateTime(n.createdAt)}
                        </span>
                      </button>
                    )}
                  </div>
                  <p className="note-body">{n.body}</p>
                </li>
              ))}
            </ol>
          );
        }}
      </Async>
    </Section>
  );
}
