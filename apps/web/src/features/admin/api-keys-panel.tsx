import { useState, type FormEvent } from 'react';
import type { Role } from '@tether/api-client';
import { useSession } from '../../app/session';
import { useAsync } from '../../lib/use-async';
import { Section } from '../../components/ui/page';
import { Async, EmptyState, describeError } from '../../components/ui/state-views';
import { ConfirmDialog, Dialog } from '../../components/ui/dialog';
import { CopyBlock } from '../../components/ui/copy-block';
import { RoleBadge } from '../../components/ui/badges';

type KeyRole = Exclude<Role, 'owner'>;

export function ApiKeysPanel() {
  const { client, can } = useSession();
  const state = useAsync(() => client.apiKeys.list(), [client]);
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState('');
  const [role, setRole] = useState<KeyRole>('viewer');
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);
  const [revoking, setRevoking] = useState<{ id: string; name: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const closeCreate = () => {
    setCreating(false);
    setCreated(null);
    setName('');
    setError(null);
  };
  const create = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const k = await client.apiKeys.create({ name: name.trim(), role });
      setCreated({ name: k.name, key: k.key });
      state.reload();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section
      title="API keys"
      id="api-keys"
      actions={
        can.manageApiKeys && (
          <button type="button" className="btn btn-small btn-primary" onClick={() => setCreating(true)}>
            Create API key
          </button>
        )
      }
    >
      <p className="muted small">
        For scripts and integrations: send <code>Authorization: Bearer &lt;key&gt;</code>. A key acts with its role in this org.
      </p>
      <Async state={state} loadingLabel="Loading API keys…">
        {({ items }) =>
          items.length === 0 ? (
            <EmptyState title="No API keys" />
          ) : (
            <div className="table-wrap">
              <table className="table table-stack" aria-label="API keys">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Role</th>
                    <th scope="col">Key starts with</th>
                    <th scope="col">Status</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((k) => (
                    <tr key={k.id}>
                      <td data-label="Name" className="strong">
                        {k.name}
                      </td>
                      <td data-label="Role">
                        <RoleBadge role={k.role} />
                      </td>
                      <td data-label="Key starts with">
                        <code>{k.prefix}…</code>
                      </td>
                      <td data-label="Status">
                        {k.revokedAt ? <span className="badge badge-offline">revoked</span> : <span className="badge badge-online">active</span>}
                      </td>
                      <td data-label="Actions">
                        {!k.revokedAt && can.manageApiKeys && (
                          <button type="button" className="btn btn-small btn-danger" onClick={() => setRevoking({ id: k.id, name: k.name })}>
                            Revoke<span className="visually-hidden"> {k.name}</span>
                          </button>
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
      <Dialog open={creating} title={created ? `API key “${created.name}”` : 'Create an API key'} onClose={closeCreate} wide={created !== null}>
        {error && (
          <p className="notice notice-error" role="alert">
            {error}
          </p>
        )}
        {created ? (
          <>
            <p className="notice notice-warning" role="note">
              <strong>Copy the key now.</strong> It is shown only this once.
            </p>
            <CopyBlock label="API key" value={created.key} testId="api-key" />
            <div className="form-actions">
              <button type="button" className="btn btn-primary" onClick={closeCreate}>
                Done
              </button>
            </div>
          </>
        ) : (
          <form className="form" onSubmit={create}>
            <label className="field">
              <span>Name</span>
              <input required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} placeholder="grafana" autoFocus />
            </label>
            <label className="field">
              <span>Role</span>
              <select value={role} onChange={(e) => setRole(e.target.value as KeyRole)}>
                <option value="viewer">viewer</option>
                <option value="operator">operator</option>
                <option value="admin">admin</option>
              </select>
            </label>
            <div className="form-actions">
              <button type="button" className="btn" onClick={closeCreate}>
                Cancel
              </button>
              <button type="submit" className="btn btn-primary" disabled={busy || !name.trim()}>
                {busy ? 'Creating…' : 'Create key'}
              </button>
            </div>
          </form>
        )}
      </Dialog>
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke “${revoking?.name ?? ''}”?`}
        confirmLabel="Revoke key"
        onConfirm={async () => {
          await client.apiKeys.revoke(revoking!.id);
          state.reload();
        }}
        onClose={() => setRevoking(null)}
      >
        <p>Requests with this key are refused from now on. This cannot be undone.</p>
      </ConfirmDialog>
    </Section>
  );
}
