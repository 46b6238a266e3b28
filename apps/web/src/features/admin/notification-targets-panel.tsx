import { useState, type FormEvent } from 'react';
import type { CreatedNotificationTarget, NotificationTarget, NotificationTargetInput } from '@tether/api-client';
import { ApiError } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { Section } from '../../components/ui/page';
import { Async, EmptyState, describeError } from '../../components/ui/state-views';
import { ConfirmDialog, Dialog } from '../../components/ui/dialog';
import { CopyBlock } from '../../components/ui/copy-block';

type Kind = NotificationTargetInput['kind'];

export function destinationOf(t: Pick<NotificationTarget, 'config'>): string {
  if ('url' in t.config) return t.config.url;
  const { to = [], users = [], roles = [] } = t.config;
  return [...to, ...(users.length ? [`${users.length} member${users.length === 1 ? '' : 's'}`] : []), ...roles.map((r) => `every ${r}`)].join(', ');
}

function CreateTarget({ onCreated, onClose }: { onCreated(t: CreatedNotificationTarget): void; onClose(): void }) {
  const { client } = useSession();
  const [name, setName] = useState('');
  const [kind, setKind] = useState<Kind>('webhook');
  const [url, setUrl] = useState('');
  const [to, setTo] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const config = kind === 'webhook' ? { url: url.trim() } : { to: to.split(/[\s,;]+/).filter(Boolean) };
      onCreated(await client.notificationTargets.create({ name: name.trim(), kind, config }));
    } catch (err) {
      setError(err instanceof ApiError && err.status === 400 ? `${err.code}: ${err.message}` : describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="form" onSubmit={submit} aria-label="New notification target">
      <label className="field">
        <span>Name</span>
        <input required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} placeholder="on-call webhook" autoFocus />
      </label>
      <fieldset className="field">
        <legend>Kind</legend>
        <div className="checks">
          <label className="check">
            <input type="radio" name="target-kind" checked={kind === 'webhook'} onChange={() => setKind('webhook')} />
            Webhook
          </label>
          <label className="check">
            <input type="radio" name="target-kind" checked={kind === 'email'} onChange={() => setKind('email')} />
            E-mail
          </label>
        </div>
      </fieldset>
      {kind === 'webhook' ? (
        <label className="field">
          <span>URL</span>
          <input required type="url" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://example.com/hooks/tether" />
          <small className="muted">Receives a POST of a JSON body for each raise and clear, signed with HMAC-SHA256.</small>
        </label>
      ) : (
        <label className="field">
          <span>E-mail addresses</span>
          <input required value={to} onChange={(e) => setTo(e.target.value)} placeholder="ops@example.com, oncall@example.com" />
          <small className="muted">Separated by commas or spaces. Sent through the server's SMTP settings (TETHER_SMTP_URL).</small>
        </label>
      )}
      {error && (
        <p className="notice notice-error" role="alert">
          {error}
        </p>
      )}
      <div className="form-actions">
        <button type="button" className="btn" onClick={onClose}>
          Cancel
        </button>
        <button type="submit" className="btn btn-primary" disabled={busy || !name.trim()}>
          {busy ? 'Creating…' : 'Create target'}
        </button>
      </div>
    </form>
  );
}

/** Webhooks and e-mail recipients that rules notify; a webhook's secret is shown once, when it is made. */
export function NotificationTargetsPanel({ onDeliveryQueued }: { onDeliveryQueued(): void }) {
  const { client, can } = useSession();
  const state = useAsync(() => client.notificationTargets.list(), [client]);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedNotificationTarget | null>(null);
  const [deleting, setDeleting] = useState<NotificationTarget | null>(null);
  const [notice, setNotice] = useState<{ text: string; error: boolean } | null>(null);

  const closeCreate = () => {
    setCreating(false);
    setCreated(null);
  };
  const sendTest = async (t: NotificationTarget) => {
    setNotice(null);
    try {
      await client.notificationTargets.test(t.id);
      setNotice({ text: `Test sent to “${t.name}”: see the delivery log for how it went.`, error: false });
      onDeliveryQueued();
    } catch (err) {
      setNotice({ text: describeError(err), error: true });
    }
  };
  /** A failed delete closes the dialog too, and says why above the list. */
  const remove = async (t: NotificationTarget) => {
    try {
      await client.notificationTargets.delete(t.id);
      state.reload();
    } catch (err) {
      setNotice({ text: describeError(err), error: true });
    }
  };

  return (
    <Section
      title="Notification targets"
      id="notification-targets"
      actions={
        can.manageNotificationTargets && (
          <button type="button" className="btn btn-small btn-primary" onClick={() => setCreating(true)}>
            Add target
          </button>
        )
      }
    >
      <p className="muted small">Where alarm rules send raises and clears: webhooks (signed JSON) and e-mail. Choose them per rule on the Alarms page.</p>
      {notice && (
        <p className={`notice ${notice.error ? 'notice-error' : ''}`} role={notice.error ? 'alert' : 'status'}>
          {notice.text}
        </p>
      )}
      <Async state={state} loadingLabel="Loading notification targets…">
        {({ items }) =>
          items.length === 0 ? (
            <EmptyState title="No notification targets" />
          ) : (
            <div className="table-wrap">
              <table className="table table-stack" aria-label="Notification targets">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Destination</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((t) => (
                    <tr key={t.id}>
                      <td data-label="Name" className="strong">
                        {t.name}
                      </td>
                      <td data-label="Kind">{t.kind === 'webhook' ? 'Webhook' : 'E-mail'}</td>
                      <td data-label="Destination" className="payload">
                        <code>{destinationOf(t)}</code>
                      </td>
                      <td data-label="Actions">
                        {can.manageNotificationTargets && (
                          <span className="row-actions">
                            <button type="button" className="btn btn-small" onClick={() => void sendTest(t)}>
                              Send test<span className="visually-hidden"> to {t.name}</span>
                            </button>
                            <button type="button" className="btn btn-small btn-danger" onClick={() => setDeleting(t)}>
                              Delete<span className="visually-hidden"> {t.name}</span>
                            </button>
                          </span>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Async>
      <Dialog open={creating} title={created ? `Target “${created.name}”` : 'Add a notification target'} onClose={closeCreate} wide={created !== null}>
        {created ? (
          <>
            {created.secret ? (
              <>
                <p className="notice notice-warning" role="note">
                  <strong>Copy the signing secret now.</strong> It is shown only this once.
                </p>
                <CopyBlock label="Webhook signing secret" value={created.secret} testId="webhook-secret" />
                <p className="muted small secret-note">
                  Each request carries <code>X-Tether-Timestamp</code> and <code>X-Tether-Signature: sha256=&lt;hex&gt;</code>, the HMAC-SHA256 of{' '}
                  <code>&lt;timestamp&gt;.&lt;body&gt;</code> with this secret. Check it in the receiver to know a request came from this Tether.
                </p>
              </>
            ) : (
              <p>E-mails go to {destinationOf(created)}.</p>
            )}
            <div className="form-actions">
              <button type="button" className="btn btn-primary" onClick={closeCreate}>
                Done
              </button>
            </div>
          </>
        ) : (
          creating && (
            <CreateTarget
              onClose={closeCreate}
              onCreated={(t) => {
                setCreated(t);
                state.reload();
              }}
            />
          )
        )}
      </Dialog>
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete “${deleting?.name ?? ''}”?`}
        confirmLabel="Delete target"
        onConfirm={() => remove(deleting!)}
        onClose={() => setDeleting(null)}
      >
        <p>Rules stop notifying it. Its delivery log stays.</p>
      </ConfirmDialog>
    </Section>
  );
}
