/**
 * The org the dashboard shows, in the top bar. A user in several orgs switches
 * here; anyone may start a new org (they become its owner).
 */
import { useState, type FormEvent } from 'react';
import { useSession } from '../../app/session';
import { Dialog } from '../../components/ui/dialog';
import { describeError } from '../../components/ui/state-views';

const NEW_ORG = '__new__';

function NewOrgForm({ onCancel }: { onCancel(): void }) {
  const { client, switchOrg } = useSession();
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const org = await client.orgs.create(name.trim());
      await switchOrg(org.id);
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };
  return (
    <form className="form" onSubmit={submit}>
      {error && (
        <p className="notice notice-error" role="alert">
          {error}
        </p>
      )}
      <p className="muted small">A new org starts empty, with you as its owner. Its devices, projects and members are its own.</p>
      <label className="field">
        <span>Name</span>
        <input required maxLength={200} autoFocus value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <div className="form-actions">
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create and switch'}
        </button>
      </div>
    </form>
  );
}

export function OrgSwitcher() {
  const { org, orgs, switchOrg } = useSession();
  const [creating, setCreating] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const onChange = async (id: string) => {
    if (id === NEW_ORG) return setCreating(true);
    if (id === org.id) return;
    setError(null);
    try {
      await switchOrg(id);
    } catch (err) {
      setError(describeError(err));
    }
  };
  const list = orgs.length > 0 ? orgs : [{ id: org.id, name: org.name, role: 'viewer' as const }];
  return (
    <>
      <select
        className="org-switcher"
        aria-label="Organization"
        value={org.id}
        onChange={(e) => void onChange(e.target.value)}
        title={error ?? `Signed in to ${org.name}`}
      >
        {list.map((o) => (
          <option key={o.id} value={o.id}>
            {o.name}
          </option>
        ))}
        <option value={NEW_ORG}>New organization…</option>
      </select>
      {error && (
        <span className="visually-hidden" role="alert">
          {error}
        </span>
      )}
      <Dialog open={creating} title="New organization" onClose={() => setCreating(false)}>
        <NewOrgForm onCancel={() => setCreating(false)} />
      </Dialog>
    </>
  );
}
